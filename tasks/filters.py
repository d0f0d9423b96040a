"""Query-string filters of the task list and export, with django-filter.

Every parameter is validated by a form field, so a malformed value is a 400 `validation_error` naming the
parameter (django-filter's DRF backend raises it), never a 500.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import Any

import django_filters.rest_framework as df
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django_filters.fields import MultipleChoiceField
from drf_spectacular.drainage import set_override

from config.http.errors import ValidationFailed
from config.http.filters import (
    UUID_PATTERN,
    OrderingFilter,
    SearchFilter,
    StrictBooleanFilter,
    WhenFilter,
    split_commas,
)
from tasks.models import (
    MAX_ID,
    MAX_TAG_LENGTH,
    PRIORITY_NAME,
    PRIORITY_RANK,
    ROLES,
    STATUSES,
    Assignment,
    Project,
    Task,
    TaskQuerySet,
)
from tasks.selectors.tasks import NONE, overdue_q, project_q
from tasks.serializers.tasks import normalise_tag

ORDERING_FIELDS = ("created_at", "updated_at", "due_at", "priority", "title", "position")


class DueFilter(WhenFilter):
    """`due_before`/`due_after`, both inclusive; a bare date is a whole day (UTC), as the schema says."""

    def __init__(self, *args: Any, before: bool, **kwargs: Any) -> None:
        self.before = before
        super().__init__(
            *args,
            field_name="due_at",
            help_text="ISO 8601 datetime or date, inclusive. A bare date is a whole day (UTC): due_before=D keeps "
            "tasks due by the end of D, due_after=D those due from the start of D.",
            **kwargs,
        )

    def filter(self, qs: TaskQuerySet, value: tuple[datetime, bool] | None) -> TaskQuerySet:
        if value is None:
            return qs
        instant, is_date = value
        if not self.before:
            return qs.filter(due_at__gte=instant)
        if not is_date:
            return qs.filter(due_at__lte=instant)
        try:
            return qs.filter(due_at__lt=instant + timedelta(days=1))
        except OverflowError:  # the last day of year 9999: every due date is before its end
            return qs.filter(due_at__isnull=False)


class ChoicesFormField(MultipleChoiceField):
    """One or more choices: the parameter repeated, or comma-separated; empty values are ignored."""

    def to_python(self, value: Any) -> list[str]:
        return split_commas(super().to_python(value))


class ChoicesFilter(df.MultipleChoiceFilter):
    field_class = ChoicesFormField


# Filter functions rather than FilterSet methods: a callable needs no `parent`, which lets TaskFilter copy its
# filters shallowly (see TaskFilter.__init__).


def _filter_status(qs: TaskQuerySet, name: str, value: list[str]) -> TaskQuerySet:
    return qs.filter(status__in=value)


def _filter_priority(qs: TaskQuerySet, name: str, value: list[str]) -> TaskQuerySet:
    return qs.filter(priority__in=[PRIORITY_RANK[v] for v in value])


def _filter_tag(qs: TaskQuerySet, name: str, value: str) -> TaskQuerySet:
    return qs.filter(tags__has_tag=normalise_tag(value))


class TagFilter(df.CharFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any text: a tag no task carries finds nothing.
        set_override(
            self, "field", {"type": "string", "maxLength": MAX_TAG_LENGTH, "description": self.extra["help_text"]}
        )


# Up to 18 digits: every such number is a valid id (the largest, 2**63 - 1, has 19).
ID_OR_NONE_SCHEMA = {"type": "string", "pattern": f"^({NONE}|[1-9][0-9]{{0,17}})$"}


class IdOrNoneField(forms.Field):
    """A positive id (at most a bigint), or `none`."""

    def to_python(self, value: Any) -> int | str | None:
        text = str(value or "").strip().lower()
        if text in ("", NONE):
            return NONE if text else None
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
            raise forms.ValidationError("Give an id or none.")
        return int(text)


class IdOrNoneFilter(df.Filter):
    field_class = IdOrNoneField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_override(self, "field", {**ID_OR_NONE_SCHEMA, "description": self.extra["help_text"]})


def parse_id_or_none(params: Any, name: str) -> int | str | None:
    """The value of a `<id>|none` query parameter, validated as the list's filter does (400 naming it)."""
    try:
        return IdOrNoneField(required=False).clean(params.get(name, ""))
    except forms.ValidationError as exc:
        raise ValidationFailed.on(name, exc.messages[0]) from None


def _filter_project(qs: TaskQuerySet, name: str, value: int | str | None) -> TaskQuerySet:
    return qs.filter(project_q(value))


def _filter_parent(qs: TaskQuerySet, name: str, value: int | str | None) -> TaskQuerySet:
    if value is None:
        return qs
    return qs.filter(parent__isnull=True) if value == NONE else qs.filter(parent_id=int(value))


class AssigneeField(forms.Field):
    """A user id, or `me`."""

    def to_python(self, value: Any) -> uuid.UUID | str | None:
        text = str(value or "").strip()
        if not text:
            return None
        if text.lower() == "me":
            return "me"
        try:
            return uuid.UUID(text)
        except ValueError:
            raise forms.ValidationError("Give a user id or me.") from None


class AssigneeFilter(df.Filter):
    field_class = AssigneeField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pattern = f"^(me|{UUID_PATTERN})$"
        set_override(self, "field", {"type": "string", "pattern": pattern, "description": self.extra["help_text"]})

    def filter(self, qs: TaskQuerySet, value: uuid.UUID | str | None) -> TaskQuerySet:
        if value is None:
            return qs
        user_id = self.parent.request.user.pk if value == "me" else value
        # The Assignment rows' (user, task) index: the tasks assigned to that user, among those already visible.
        return qs.filter(pk__in=Assignment.objects.filter(user_id=user_id).values("task_id"))


def _filter_overdue(qs: TaskQuerySet, name: str, value: bool) -> TaskQuerySet:
    condition = overdue_q(timezone.now())
    return qs.filter(condition) if value else qs.exclude(condition)


class TaskFilterBackend(df.DjangoFilterBackend):
    """Skips the FilterSet entirely when the query string has none of its parameters: the plain list."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not filterset_class.is_filtered(request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


class TaskFilter(df.FilterSet):
    status = ChoicesFilter(
        choices=[(s, s) for s in STATUSES],
        method=_filter_status,
        help_text="One or more: repeat the parameter or separate with commas.",
    )
    priority = ChoicesFilter(
        choices=[(p, p) for p in PRIORITY_NAME.values()],
        method=_filter_priority,
        help_text="One or more: repeat the parameter or separate with commas.",
    )
    tag = TagFilter(method=_filter_tag, max_length=MAX_TAG_LENGTH, help_text="Tasks carrying this tag.")
    due_before = DueFilter(before=True)
    due_after = DueFilter(before=False)
    overdue = StrictBooleanFilter(
        method=_filter_overdue, help_text="true: due in the past and not completed; false: the others."
    )
    project = IdOrNoneFilter(method=_filter_project, help_text="A project's id, or none for personal tasks.")
    parent = IdOrNoneFilter(method=_filter_parent, help_text="A task's id (its subtasks), or none (top level).")
    # `field_name` names the model field the schema describes; the filter reads the Assignment rows.
    assignee = AssigneeFilter(field_name="assignees", help_text="A user id, or me: the tasks assigned to that user.")
    search = SearchFilter(
        fields=("title", "description"),
        help_text="Words that must each appear in the title or description (case-insensitive).",
    )
    ordering = OrderingFilter(
        keys=ORDERING_FIELDS,
        tiebreak="id",
        nullable=("due_at",),
        help_text="Comma-separated keys among " + ", ".join(ORDERING_FIELDS) + ", each with an optional - for "
        "descending; priority ranks low < medium < high < urgent; tasks without due_at come last; position is "
        "the manual order among siblings (use it with parent). Default -created_at. Ties are broken by id.",
    )

    class Meta:
        model = Task
        fields: list[str] = []

    # django-filter deep-copies every filter and builds a new form class for each request: on the list, the
    # product's hot path, that was most of the view's own CPU. Filters keep no per-request state but `parent`
    # and `model`, so shallow copies do; and the form class depends only on the filters' (immutable) form
    # fields, so it is built once per FilterSet class (each form instance still deep-copies its fields).
    _form_class: type[forms.Form] | None = None

    def __init__(self, data: Any = None, queryset: Any = None, *, request: Any = None, prefix: Any = None) -> None:
        self.is_bound = data is not None
        self.data = data if data is not None else QueryDict()
        self.queryset = queryset if queryset is not None else Task.objects.all()
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: copy.copy(filter_) for name, filter_ in self.base_filters.items()}
        for filter_ in self.filters.values():
            filter_.model = self.queryset.model
            filter_.parent = self

    def get_form_class(self) -> type[forms.Form]:
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = super().get_form_class()
        return cls._form_class  # type: ignore[return-value]

    @classmethod
    def is_filtered(cls, params: Any) -> bool:
        """Whether the query string holds any of this FilterSet's parameters (else it would change nothing)."""
        return any(name in params for name in cls.base_filters)


# Projects ---------------------------------------------------------------------------------------------

PROJECT_ORDERING_FIELDS = ("name", "created_at")


def _filter_role(qs: QuerySet[Any], name: str, value: list[str]) -> QuerySet[Any]:
    return qs.filter(role__in=value) if value else qs


class ProjectFilter(df.FilterSet):
    archived = StrictBooleanFilter(help_text="true: archived projects only; false: the others.")
    role = ChoicesFilter(
        choices=[(r, r) for r in ROLES],
        method=_filter_role,
        help_text="Your role: one or more of owner, editor, viewer (repeat the parameter or separate with commas).",
    )
    ordering = OrderingFilter(
        keys=PROJECT_ORDERING_FIELDS,
        tiebreak="id",
        help_text="Comma-separated keys among name, created_at, each with an optional - for descending. "
        "Default name. Ties are broken by id.",
    )

    class Meta:
        model = Project
        fields: list[str] = []
