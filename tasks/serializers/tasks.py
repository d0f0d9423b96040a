"""Task shapes: input validation (DRF serializers) and the output representation (plain functions).

The output is built by hand from a row of columns rather than by a ModelSerializer: the list endpoint is
the product's hot path, and a dict built from a tuple costs a fraction of DRF's per-field machinery. The
`TaskSerializer` below documents that shape for OpenAPI and is held to it by a test.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.http.dates import MESSAGE as WHEN_MESSAGE
from config.http.dates import parse_when
from config.http.filters import fold
from config.http.formats import iso
from config.http.input import SharedFieldsMixin
from tasks import recurrence
from tasks.models import (
    MAX_ASSIGNEES,
    MAX_BEFORE_DUE_MINUTES,
    MAX_DEPTH,
    MAX_DESCRIPTION,
    MAX_ID,
    MAX_REMINDERS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TITLE,
    PRIORITY_NAME,
    PRIORITY_RANK,
    STATUSES,
    Task,
)
from tasks.recurrence import BASES, MAX_RULE_LENGTH

PRIORITIES: tuple[str, ...] = tuple(PRIORITY_NAME.values())
TAG_SEPARATOR = ";"  # joins tags in the CSV export, so it cannot appear inside a tag

# Columns read for the representation, in the order `task_row_to_dict` unpacks them.
TASK_COLUMNS: tuple[str, ...] = (
    "id",
    "owner_id",
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "tags",
    "completed_at",
    "created_at",
    "updated_at",
    "project_id",
    "parent_id",
    "assignee_ids",
    "position",
    "comments_count",
    # Recurrence and reminders (SPEC 4c)
    "recurrence",
    "recurrence_basis",
    "timezone",
    "reminders",
)
# The body's field names, in order.
TASK_FIELDS: tuple[str, ...] = (
    "id",
    "owner",
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "tags",
    "completed_at",
    "created_at",
    "updated_at",
    "project",
    "parent",
    "assignees",
    "position",
    "created_by",
    "comments_count",
    "recurrence",
    "recurrence_basis",
    "timezone",
    "reminders",
)
TRASH_COLUMNS = (*TASK_COLUMNS, "deleted_at")
TRASH_FIELDS = (*TASK_FIELDS, "deleted_at")
_TRASHED = len(TASK_COLUMNS)


def task_row_to_dict(row: Sequence[Any]) -> dict[str, Any]:
    (
        task_id,
        owner_id,
        title,
        description,
        status,
        priority,
        due_at,
        tags,
        completed_at,
        created_at,
        updated_at,
        project_id,
        parent_id,
        assignee_ids,
        position,
        comments_count,
        recurrence,
        recurrence_basis,
        tz,
        reminders,
    ) = row[:_TRASHED]
    creator = None if owner_id is None else str(owner_id)
    body = {
        "id": task_id,
        "owner": creator,
        "title": title,
        "description": description,
        "status": status,
        "priority": PRIORITY_NAME[priority],
        "due_at": iso(due_at),
        "tags": tags,
        "completed_at": iso(completed_at),
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
        "project": project_id,
        "parent": parent_id,
        "assignees": assignee_ids,
        "position": position,
        "created_by": creator,
        "comments_count": comments_count,
        # No rule is null; reminders are the task's own column (a copy of its Reminder rows' API shape).
        "recurrence": recurrence or None,
        "recurrence_basis": recurrence_basis,
        "timezone": tz,
        "reminders": reminders,
    }
    if len(row) > _TRASHED:
        body["deleted_at"] = iso(row[_TRASHED])
    return body


def task_to_dict(task: Task) -> dict[str, Any]:
    return task_row_to_dict([getattr(task, column) for column in TASK_COLUMNS])


# Output shapes, for the schema ----------------------------------------------------------------------------


class ReminderSerializer(serializers.Serializer[Any]):
    """A reminder: at an instant (`at`) or some minutes before the due time (`before_due`); one of the two."""

    id = serializers.IntegerField(read_only=True)
    at = serializers.DateTimeField(read_only=True, required=False)
    before_due = serializers.IntegerField(read_only=True, required=False)


class TaskSerializer(serializers.Serializer[Task]):
    """A task as the API shows it."""

    id = serializers.IntegerField(read_only=True)
    owner = serializers.UUIDField(
        read_only=True,
        allow_null=True,
        help_text="Who created the task (the same as created_by; kept for clients of the personal API).",
    )
    title = serializers.CharField(read_only=True, max_length=MAX_TITLE)
    description = serializers.CharField(read_only=True, max_length=MAX_DESCRIPTION)
    status = serializers.ChoiceField(choices=STATUSES, read_only=True)
    priority = serializers.ChoiceField(choices=PRIORITIES, read_only=True)
    due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=MAX_TAG_LENGTH), read_only=True)
    completed_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Set when completed, cleared when reopened."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    project = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The project's id; null for a personal task."
    )
    # A declared field: DRF takes it out of the class body, so it does not shadow Field.parent.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        read_only=True, allow_null=True, help_text="The parent task's id, if a subtask."
    )
    assignees = serializers.ListField(child=serializers.UUIDField(), read_only=True, help_text="User ids.")
    position = serializers.IntegerField(
        read_only=True, help_text="Manual order among siblings (same project and parent), ascending."
    )
    created_by = serializers.UUIDField(
        read_only=True, allow_null=True, help_text="Who created it; null once their account is deleted."
    )
    comments_count = serializers.IntegerField(read_only=True)
    recurrence = serializers.CharField(
        read_only=True, allow_null=True, help_text="RFC 5545 RRULE (canonical form), null when not recurring."
    )
    recurrence_basis = serializers.ChoiceField(choices=BASES, read_only=True)
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone the occurrences are computed in.")
    reminders = ReminderSerializer(many=True, read_only=True)

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return task_to_dict(instance)


class TrashedTaskSerializer(TaskSerializer):
    """A task in the trash: as the API shows it, plus when it was deleted (it is purged 30 days later)."""

    deleted_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Task) -> dict[str, Any]:
        return task_row_to_dict([getattr(instance, column) for column in TRASH_COLUMNS])


class StatsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Every status, with 0s.")
    by_priority = serializers.DictField(child=serializers.IntegerField(), help_text="Every priority, with 0s.")
    overdue = serializers.IntegerField(help_text="Due in the past and not completed.")
    completed_last_7_days = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer[Any]):
    updated = serializers.IntegerField(help_text="How many tasks the action applied to (every id given).")


# Input ------------------------------------------------------------------------------------------------


# A date-time, or a bare date meaning its midnight UTC.
WHEN_SCHEMA = {
    "oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
    "example": "2030-01-31T17:00:00Z",
}


@extend_schema_field(WHEN_SCHEMA)
class WhenField(serializers.Field):  # type: ignore[type-arg]
    """A timestamp given as an ISO 8601 datetime (naive means UTC) or a date (its midnight, UTC)."""

    default_error_messages = {"invalid": WHEN_MESSAGE}

    def to_internal_value(self, data: Any) -> datetime:
        try:
            return parse_when(data)[0]
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: datetime) -> str | None:
        return iso(value)


def normalise_tag(tag: str) -> str:
    """Trimmed, with inner runs of whitespace collapsed to one space (tags and the tag filter alike)."""
    return " ".join(tag.split())


# A tag: not blank, no ";" (it joins tags in the CSV export) and no control character.
_TAG_CHAR = "[^;\\x00-\\x1f\\x7f-\\x9f]"
TAG_SCHEMA = {
    "type": "string",
    "maxLength": MAX_TAG_LENGTH,
    "pattern": f"^{_TAG_CHAR}*[^;\\s\\x00-\\x1f\\x7f-\\x9f]{_TAG_CHAR}*$",
}


@extend_schema_field(TAG_SCHEMA)
class TagField(serializers.CharField):
    pass


class TagsField(serializers.ListField):
    """Up to 20 short labels; whitespace is trimmed and collapsed, duplicates in any case dropped (the first
    spelling kept: "Home" and "home" are one label)."""

    child = TagField(max_length=MAX_TAG_LENGTH, allow_blank=False)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_TAGS)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        tags: list[str] = []
        seen: set[str] = set()
        for tag in super().to_internal_value(data):
            tag = normalise_tag(tag)
            if TAG_SEPARATOR in tag or any(unicodedata.category(ch) == "Cc" for ch in tag):
                raise serializers.ValidationError(f'A tag cannot contain "{TAG_SEPARATOR}" or control characters.')
            if fold(tag) not in seen:
                seen.add(fold(tag))
                tags.append(tag)
        return tags

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # null means "no tags"
        if data is None:
            return True, []
        return super().validate_empty_values(data)


class _PriorityField(serializers.ChoiceField):
    """Accepts a priority name; validated data holds the stored rank."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=PRIORITIES, **kwargs)

    def to_internal_value(self, data: Any) -> int:  # type: ignore[override]
        name = super().to_internal_value(data)
        return PRIORITY_RANK[name]

    def to_representation(self, value: Any) -> str:
        return PRIORITY_NAME.get(value, value)


class _DescriptionField(serializers.CharField):
    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # null means empty
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class RecurrenceField(serializers.CharField):
    """An RRULE of the supported subset (tasks/recurrence.py), stored in canonical form; null or "" clears."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not text:
            return ""
        try:
            return recurrence.parse(text).text
        except recurrence.RuleError as exc:
            raise serializers.ValidationError(str(exc)) from None


@extend_schema_field({"type": "string", "enum": sorted(recurrence.zone_names())})
class TimeZoneField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        name = super().to_internal_value(data)
        if not recurrence.is_zone(name):
            raise serializers.ValidationError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris.")
        return name


class ReminderInputSerializer(serializers.Serializer[Any]):
    """`{"at": <instant>}` or `{"before_due": <minutes>}`, with the `id` of an existing reminder to keep it."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    at = WhenField(required=False, help_text="An instant in the future.")
    before_due = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_BEFORE_DUE_MINUTES, help_text="Minutes before due_at (0 to 40,320)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("at" in attrs) == ("before_due" in attrs):
            raise serializers.ValidationError("Give either at or before_due.")
        return attrs


class ReminderInputSchema(OpenApiSerializerExtension):
    """The schema says what `validate` does: exactly one of `at` and `before_due`."""

    target_class = ReminderInputSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["oneOf"] = [{"required": ["at"]}, {"required": ["before_due"]}]
        return schema


class TaskWriteSerializer(SharedFieldsMixin, serializers.Serializer[Any]):
    """The writable fields of a task. Anything else in the body (id, owner, timestamps, completed_at) is
    ignored: read-only fields cannot be written."""

    title = serializers.CharField(max_length=MAX_TITLE, help_text="1 to 200 characters.")
    description = _DescriptionField(
        max_length=MAX_DESCRIPTION, allow_blank=True, required=False, trim_whitespace=False, allow_null=True
    )
    status = serializers.ChoiceField(choices=STATUSES, required=False, help_text="Default pending.")
    priority = _PriorityField(required=False, help_text="Default medium.")
    due_at = WhenField(
        required=False, allow_null=True, help_text="ISO 8601 datetime or date; may be in the past (then overdue)."
    )
    tags = TagsField(required=False, help_text="Up to 20 labels of at most 50 characters; no ';'.")
    project = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A project you edit (null: personal). Fixed after creation: move the task to change it.",
    )
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=f"A task of the same project (on create, `project` may be left out: the parent's); subtasks "
        f"nest at most {MAX_DEPTH} levels.",
    )
    assignees = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=MAX_ASSIGNEES,
        help_text="User ids: members of the task's project (on a personal task, only yourself).",
    )
    # Recurrence and reminders (SPEC 4c) -----------------------------------------------------------------
    recurrence = RecurrenceField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=MAX_RULE_LENGTH,
        help_text="RFC 5545 RRULE: FREQ DAILY|WEEKLY|MONTHLY|YEARLY, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, "
        "UNTIL (e.g. FREQ=WEEKLY;BYDAY=MO,TH). Needs due_at. null or empty: not recurring.",
    )
    recurrence_basis = serializers.ChoiceField(
        choices=BASES,
        required=False,
        help_text="due (default): the next occurrence after the due date; completion: counted from completion.",
    )
    timezone = TimeZoneField(
        required=False, help_text="IANA name; default your profile's time zone, else UTC. PUT keeps the current one."
    )
    reminders = serializers.ListField(
        child=ReminderInputSerializer(),
        required=False,
        allow_null=True,
        max_length=MAX_REMINDERS,
        help_text="Up to 5; replaces the task's reminders. Send an item's id to keep that reminder, leave it out "
        "for a new one. `at` must be in the future.",
    )


class TaskPatchSerializer(TaskWriteSerializer):
    """Any subset of the writable fields."""

    title = serializers.CharField(max_length=MAX_TITLE, required=False, help_text="1 to 200 characters.")


BULK_ACTIONS = ("complete", "reopen", "delete", "restore", "update")
BULK_FIELDS = ("status", "priority", "due_at", "tags")
MAX_BULK_IDS = 500


class BulkFieldsSerializer(serializers.Serializer[Any]):
    """What `update` may change in bulk: status, priority, due_at and tags only."""

    status = serializers.ChoiceField(choices=STATUSES, required=False)
    priority = _PriorityField(required=False)
    due_at = WhenField(required=False, allow_null=True)
    tags = TagsField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in BULK_FIELDS)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Only status, priority, due_at and tags can be changed in bulk."] for key in unknown}
                )
        return super().to_internal_value(data)


class BulkFieldsSchema(OpenApiSerializerExtension):
    """The schema says what BulkFieldsSerializer does: a key besides the four is refused, not ignored."""

    target_class = BulkFieldsSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema


class BulkSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_BULK_IDS,
        help_text="Your task ids (at most 500; duplicates count once). restore wants ids in your trash.",
    )
    # A declared field: DRF takes it out of the class body, so it does not shadow Serializer.fields.
    fields = BulkFieldsSerializer(required=False, help_text="For action update only.")  # type: ignore[assignment]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] == "update" and not attrs.get("fields"):
            raise serializers.ValidationError({"fields": ["update needs at least one of: " + ", ".join(BULK_FIELDS)]})
        attrs["ids"] = list(dict.fromkeys(attrs["ids"]))
        return attrs


class MoveSerializer(serializers.Serializer[Any]):
    project = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The destination project (you must edit there too); null: your personal tasks; left out: "
        "where the task is.",
    )
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The new parent, a task of the destination; null: top level; left out: unchanged within the "
        "project, top level when the project changes.",
    )
    after = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The sibling to place the task right after; null or left out: first.",
    )
