"""Task writes. Each runs in one transaction with its audit event, so both commit or neither does.

Lost updates: a write locks the task's row (SELECT ... FOR UPDATE; on SQLite the IMMEDIATE transaction
holds the database's write lock) before comparing `If-Match` with the current ETag and writing, so of two
clients holding the same ETag exactly one succeeds and the other gets 412.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_event, audit_record, insert_recorded
from config.http.errors import Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed
from config.http.formats import iso
from config.http.input import assign_changed
from tasks import recurrence
from tasks.models import LIVE, MAX_ID, IdempotencyKey, Priority, RecurrenceBasis, Role, Status, Task
from tasks.selectors.tasks import role_of, task_get_for, task_not_found, with_role
from tasks.services import tree
from tasks.services.assignments import assignees_set
from tasks.services.assignments import check_assignees as assignees_check
from tasks.services.reminders import reminders_arm, reminders_disarm, reminders_replace

# The values a replaced (PUT) or new task takes for the fields its body leaves out.
_DEFAULTS: dict[str, Any] = {
    "description": "",
    "status": Status.PENDING,
    "priority": Priority.MEDIUM,
    "due_at": None,
    "recurrence": "",
    "recurrence_basis": RecurrenceBasis.DUE,
}


def task_defaults() -> dict[str, Any]:
    return {**_DEFAULTS, "tags": [], "reminders": []}


def etag_matches(*, if_match: str | None, etag: str) -> bool:
    """RFC 9110 If-Match: `*` or a list of entity tags, compared strongly (a weak tag never matches)."""
    if if_match is None:
        return True
    return any(candidate.strip() in ("*", etag) for candidate in if_match.split(","))


def read_only() -> PermissionDenied:
    return PermissionDenied("Your role in this project lets you read its tasks, not change them.")


def lock_task(*, user: Any, task_id: int, trashed: bool = False, write: bool = True) -> Task:
    """Locks a task the caller can see (annotated with their `role`, see `role_of`) and, unless `write` is
    False, may change: 404 if they cannot see it, 403 if they only read."""
    if not 0 < task_id <= MAX_ID:
        raise task_not_found()
    scope = Task.objects.visible_to(user)
    scope = scope.trashed() if trashed else scope.live()
    task = with_role(scope, user=user).select_for_update(of=("self",)).filter(pk=task_id).first()
    if task is None:
        raise task_not_found()
    if write and not tree.can_write(role_of(task)):
        raise read_only()
    return task


def _check_precondition(task: Task, if_match: str | None) -> None:
    if not etag_matches(if_match=if_match, etag=task.etag):
        raise PreconditionFailed(headers={"ETag": task.etag})


def _apply(task: Task, changes: dict[str, Any], now: datetime) -> list[str]:
    """Sets the fields that differ; completing stamps completed_at, any other status clears it."""
    changed = assign_changed(task, changes, [field for field in changes if field != "reminders"])
    if "status" in changed:
        task.completed_at = now if task.status == Status.COMPLETED else None
        changed.append("completed_at")
    return changed


# Recurrence and reminders (SPEC 4c; tasks/recurrence.py, tasks/services/reminders.py) -----------------------


def _recur_and_remind(
    task: Task, changes: dict[str, Any], changed: list[str], now: datetime, *, if_match: str | None = None
) -> recurrence.Advance | None:
    """After `_apply`: checks the recurrence and advances a completed occurrence, replaces the reminders if
    given and re-arms them; adds what it changed to `changed` and answers the advance, if any."""
    deliberate = if_match is not None and if_match.strip() != "*"
    advance = recurrence.on_change(task, changed, now, deliberate=deliberate)
    if "reminders" in changes and reminders_replace(task=task, specs=changes["reminders"] or [], now=now):
        changed.append("reminders")
    if {"due_at", "status", "reminders"} & set(changed):
        reminders_arm(task=task, now=now)
    return advance


def _audit_completed(task: Task, advance: recurrence.Advance | None, *, user: Any, meta: RequestContext) -> None:
    if advance is not None:
        audit_task(
            EventType.TASK_COMPLETED,
            user=user,
            meta=meta,
            task_id=task.pk,
            project_id=task.project_id,
            occurrence=iso(advance.occurrence),
            next_due_at=iso(advance.next_due),
        )


def audit_task(event: EventType, *, user: Any, meta: RequestContext, **details: Any) -> None:
    # Ids and field names only: task contents never reach the audit log.
    audit_record(event=event, user=user, meta=meta, details=details)


def lock_rows(ids: list[int]) -> None:
    """Row locks on other tasks than the one being changed, always in id order (as every multi-row change
    takes them), so two such changes queue instead of deadlocking."""
    if ids:
        list(Task.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk"))


def _complete_subtasks(ids: list[int], now: datetime) -> list[int]:
    """Completing a task completes its open subtasks (all levels). Answers their ids."""
    open_ids = tree.flatten(tree.descendants_of(ids, condition=LIVE & ~Q(status=Status.COMPLETED)))
    lock_rows(open_ids)
    if open_ids:
        Task.objects.filter(pk__in=open_ids).update(
            status=Status.COMPLETED, completed_at=now, updated_at=now, version=F("version") + 1
        )
    return open_ids


def writable_project(*, user: Any, project_id: int) -> None:
    """A project the caller may add tasks to: one they cannot see is 400 on `project`, a viewer's is 403."""
    role = tree.role_in(user=user, project_id=project_id)
    if role is None:
        raise ValidationFailed.on("project", "No such project among yours.")
    if not tree.can_write(role):
        raise read_only()


def task_create(*, user: Any, data: dict[str, Any], meta: RequestContext, now: datetime | None = None) -> Task:
    """Creates a personal task, or one in a project the caller edits (`project`), under a `parent` of the same
    project (`project` may be left out then: it is the parent's), assigned to `assignees`."""
    now = now or timezone.now()
    fields = dict(data)
    project_id = fields.pop("project", None)
    parent_id = fields.pop("parent", None)
    assignees = fields.pop("assignees", None)
    values = {**task_defaults(), **fields}
    reminder_specs = values.pop("reminders") or []
    values.setdefault("timezone", user.timezone or "UTC")
    task = Task(owner=user, created_at=now, updated_at=now, position=tree.new_position(now), **values)
    if task.status == Status.COMPLETED:
        task.completed_at = now
    # A new recurring task is checked and anchored; created completed, it is simply completed.
    recurrence.on_change(task, [field for field in data if field != "status"], now)
    if project_id is None and parent_id is None and not assignees and not reminder_specs:
        # A personal task with nothing beside it: the row and its audit event in one statement.
        created = audit_event(event=EventType.TASK_CREATED, user=user, meta=meta, details={"project_id": None})
        insert_recorded(task, event=created, id_detail="task_id")
        return task
    with transaction.atomic():
        if parent_id is not None and "project" not in data:
            parent = Task.objects.visible_to(user).live().filter(pk=parent_id).values_list("project_id", flat=True)
            project_id = parent.first()
        if project_id is not None:
            writable_project(user=user, project_id=project_id)
        task.project_id = project_id
        if parent_id is not None:
            tree.lock_tree(project_id=project_id, owner_id=user.pk)
            task.parent = tree.check_parent(user=user, parent_id=parent_id, project_id=project_id)
        if assignees and project_id is not None:
            # Members are removed under the project's lock: held, none can go between the check and the insert.
            tree.lock_tree(project_id=project_id, owner_id=user.pk)
        wanted = assignees_check(user=user, project_id=project_id, assignees=assignees) if assignees else None
        task.save(force_insert=True)
        audit_task(EventType.TASK_CREATED, user=user, meta=meta, task_id=task.pk, project_id=project_id)
        if wanted:
            assignees_set(user=user, task=task, assignees=wanted, meta=meta)
            task.save(update_fields=["assignee_ids"])
        if reminder_specs:
            reminders_replace(task=task, specs=reminder_specs, now=now)
            task.save(update_fields=["reminders"])
            reminders_arm(task=task, now=now)
    return task


def task_update(
    *,
    user: Any,
    task_id: int,
    data: dict[str, Any],
    meta: RequestContext,
    replace: bool = False,
    if_match: str | None = None,
) -> Task:
    """PATCH (the fields given) or PUT (`replace`: the fields of section 4 left out take their defaults;
    `parent` and `assignees` change only when given). `project` cannot change here (400: use move).

    A write that changes nothing records nothing and keeps the ETag.
    """
    fields = dict(data)
    project_given, project_id = "project" in fields, fields.pop("project", None)
    parent_given, parent_id = "parent" in fields, fields.pop("parent", None)
    assignees = fields.pop("assignees", None)
    with transaction.atomic():
        current = None
        if parent_given or assignees is not None:
            # A change of shape, or of assignees (members are removed under the project's lock, so none can go
            # between the check and the write): the tree lock first, then the task's row (the order every
            # shape change and member removal takes).
            current = task_get_for(user=user, task_id=task_id)
            tree.lock_tree(project_id=current.project_id, owner_id=user.pk)
        task = lock_task(user=user, task_id=task_id)
        if current is not None and task.project_id != current.project_id:
            raise Conflict("The task was moved meanwhile: read it again and retry.", code="conflict")
        _check_precondition(task, if_match)
        if project_given and project_id != task.project_id:
            raise ValidationFailed.on("project", "A task changes project by POST /api/v1/tasks/{id}/move.")
        now = timezone.now()
        changes = {**task_defaults(), **fields} if replace else fields
        changed = _apply(task, changes, now)
        advance = _recur_and_remind(task, changes, changed, now, if_match=if_match)
        if parent_given and parent_id != task.parent_id:
            if parent_id is not None:
                tree.check_parent(
                    user=user,
                    parent_id=parent_id,
                    project_id=task.project_id,
                    task_id=task.pk,
                    height=tree.height_of(task.pk),
                )
            task.parent_id = parent_id
            task.position = tree.new_position(now)
            changed += ["parent", "position"]
        if assignees is not None:
            wanted = assignees_check(user=user, project_id=task.project_id, assignees=assignees)
            if assignees_set(user=user, task=task, assignees=wanted, meta=meta):
                changed.append("assignee_ids")
        subtasks: list[int] = []
        if "status" in changed and task.status == Status.COMPLETED:
            subtasks = _complete_subtasks([task.pk], now)
        if changed:
            task.version += 1
            task.updated_at = now
            task.save(update_fields=[*dict.fromkeys(changed), "version", "updated_at"])
            details: dict[str, Any] = {"task_id": task.pk, "project_id": task.project_id}
            details["fields"] = sorted({"assignees" if f == "assignee_ids" else f for f in changed})
            if subtasks:
                details["subtasks_completed"] = subtasks
            audit_task(EventType.TASK_UPDATED, user=user, meta=meta, **details)
            _audit_completed(task, advance, user=user, meta=meta)
    return task


def task_complete(*, user: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> Task:
    return task_update(user=user, task_id=task_id, data={"status": Status.COMPLETED}, meta=meta, if_match=if_match)


def task_reopen(*, user: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> Task:
    return task_update(user=user, task_id=task_id, data={"status": Status.PENDING}, meta=meta, if_match=if_match)


def task_delete(*, user: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> None:
    """Moves the task to the trash, with its subtasks (all marked with the same moment, which is how a restore
    knows which to bring back)."""
    with transaction.atomic():
        task = lock_task(user=user, task_id=task_id)
        _check_precondition(task, if_match)
        now = timezone.now()
        subtasks = tree.flatten(tree.descendants_of([task.pk], condition=LIVE))
        lock_rows(subtasks)
        task.deleted_at = now
        task.version += 1
        task.save(update_fields=["deleted_at", "version"])
        if subtasks:
            Task.objects.filter(pk__in=subtasks).update(deleted_at=now, version=F("version") + 1)
        if task.reminders or subtasks:  # what was pending for them is cancelled
            reminders_disarm(task_ids=[task.pk, *subtasks])
        details: dict[str, Any] = {"task_id": task.pk, "project_id": task.project_id}
        if subtasks:
            details["subtasks"] = subtasks
        audit_task(EventType.TASK_DELETED, user=user, meta=meta, **details)


def task_restore(*, user: Any, task_id: int, meta: RequestContext) -> Task:
    """Takes a task out of the trash with the subtasks that went there with it; a task that is not in a trash
    the caller can see is a 404. A subtask whose parent is still in the trash comes back at the top level."""
    with transaction.atomic():
        task = lock_task(user=user, task_id=task_id, trashed=True)
        deleted_at = task.deleted_at
        subtasks = tree.flatten(tree.descendants_of([task.pk], condition=Q(deleted_at=deleted_at)))
        lock_rows(subtasks)
        fields = ["deleted_at", "version"]
        if task.parent_id is not None and not Task.objects.live().filter(pk=task.parent_id).exists():
            task.parent_id = None
            task.position = tree.new_position()
            fields += ["parent", "position"]
        task.deleted_at = None
        task.version += 1
        task.save(update_fields=fields)
        if subtasks:
            Task.objects.filter(pk__in=subtasks).update(deleted_at=None, version=F("version") + 1)
        now = timezone.now()
        for restored in [task, *Task.objects.filter(pk__in=subtasks).exclude(reminders=[])]:
            reminders_arm(task=restored, now=now)
        details: dict[str, Any] = {"task_id": task.pk, "project_id": task.project_id}
        if subtasks:
            details["subtasks"] = subtasks
        audit_task(EventType.TASK_RESTORED, user=user, meta=meta, **details)
    return task


def tasks_bulk(
    *, user: Any, action: str, ids: list[int], meta: RequestContext, fields: dict[str, Any] | None = None
) -> int:
    """Applies one action to every task in `ids`, or to none.

    Every id must be a live task the caller can see (for restore: in a trash they can see), else 404; and one
    they may change (not a viewer's), else 403; in either case nothing changes. The rows are locked first
    (in id order), so a concurrent write cannot slip between check and update. complete, delete and restore
    carry the subtasks as their single-task routes do. Returns how many of the given tasks the action applied
    to.
    """
    ids = sorted(dict.fromkeys(ids))
    with transaction.atomic():
        visible = Task.objects.visible_to(user).filter(pk__in=ids)
        scope = visible.trashed() if action == "restore" else visible.live()
        found = list(
            with_role(scope, user=user).select_for_update(of=("self",)).order_by("pk").values_list("pk", "role")  # type: ignore[misc]
        )
        if len(found) != len(ids):
            raise NotFound("One or more tasks were not found.")
        if not all(tree.can_write(role or Role.OWNER) for _, role in found):
            raise read_only()
        now = timezone.now()
        # Recurrence and reminders (SPEC 4c): the tasks that are recurring or have reminders, in one query.
        # Recurring ones being completed or updated go one by one below (they advance, or are re-anchored).
        reminding = list(Task.objects.filter(pk__in=ids).exclude(recurrence="", reminders=[]))
        recurring = [task for task in reminding if task.recurrence] if action in ("complete", "update") else []
        targets = Task.objects.filter(pk__in=ids).exclude(pk__in=[task.pk for task in recurring])
        bump = {"version": F("version") + 1}
        subtasks: list[int] = []
        if action == "complete":
            targets.exclude(status=Status.COMPLETED).update(
                status=Status.COMPLETED, completed_at=now, updated_at=now, **bump
            )
            subtasks = _complete_subtasks(ids, now)
        elif action == "reopen":
            targets.exclude(status=Status.PENDING).update(
                status=Status.PENDING, completed_at=None, updated_at=now, **bump
            )
        elif action == "delete":
            subtasks = tree.flatten(tree.descendants_of(ids, condition=LIVE))
            lock_rows(subtasks)
            Task.objects.filter(pk__in=[*ids, *subtasks]).update(deleted_at=now, **bump)
        elif action == "restore":
            stamps = list(Task.objects.filter(pk__in=ids).values_list("deleted_at", flat=True).distinct())
            subtasks = tree.flatten(tree.descendants_of(ids, condition=Q(deleted_at__in=stamps)))
            lock_rows(subtasks)
            Task.objects.filter(pk__in=[*ids, *subtasks]).update(deleted_at=None, **bump)
            # A restored task whose parent stays in the trash comes back at the top level.
            Task.objects.filter(pk__in=ids, parent__deleted_at__isnull=False).update(
                parent=None, position=tree.new_position(now)
            )
        elif action == "update":
            values: dict[str, Any] = dict(fields or {})
            if values.get("status") == Status.COMPLETED:
                # Tasks already completed keep the time they were completed.
                values["completed_at"] = Case(
                    When(status=Status.COMPLETED, then=F("completed_at")),
                    default=Value(now, output_field=DateTimeField()),
                )
            elif "status" in values:
                values["completed_at"] = None
            targets.update(updated_at=now, **values, **bump)
            if values.get("status") == Status.COMPLETED:
                subtasks = _complete_subtasks(ids, now)
        else:  # the serializer admits no other action
            raise ValueError(f"unknown bulk action {action!r}")
        _bulk_recur_and_remind(recurring, reminding, action, fields, user=user, meta=meta, now=now)
        if action == "delete" and subtasks:
            reminders_disarm(task_ids=subtasks)
        details: dict[str, Any] = {"action": action, "count": len(found), "task_ids": ids}
        if subtasks:
            details["subtasks"] = sorted(subtasks)
        if action == "update":
            details["fields"] = sorted(fields or {})
        audit_task(EventType.TASK_BULK, user=user, meta=meta, **details)
    return len(found)


def _bulk_recur_and_remind(
    recurring: list[Task],
    reminding: list[Task],
    action: str,
    fields: dict[str, Any] | None,
    *,
    user: Any,
    meta: RequestContext,
    now: datetime,
) -> None:
    """The recurring tasks of a bulk action, each as its own update would do it; then the reminders of the
    other tasks acted on (`reminding`: those recurring or with reminders) are re-armed or disarmed as their
    task now stands. No query when no task acted on has either."""
    requested = {"status": Status.COMPLETED} if action == "complete" else dict(fields or {})
    for task in recurring:
        changes = requested
        if task.status == Status.COMPLETED and requested.get("status") == Status.COMPLETED:
            # Already completed for good: it keeps its completion, as a non-recurring task does.
            changes = {key: value for key, value in requested.items() if key != "status"}
        changed = _apply(task, changes, now)
        advance = _recur_and_remind(task, changes, changed, now)
        if changed:
            task.version += 1
            task.updated_at = now
            task.save(update_fields=[*dict.fromkeys(changed), "version", "updated_at"])
            _audit_completed(task, advance, user=user, meta=meta)
    done = {task.pk for task in recurring}
    others = [task.pk for task in reminding if task.pk not in done and task.reminders]
    if not others:
        return
    if action in ("complete", "delete"):
        reminders_disarm(task_ids=others)
        return
    for task in Task.objects.filter(pk__in=others):
        reminders_arm(task=task, now=now)


def tasks_export_record(*, user: Any, export_format: str, meta: RequestContext) -> None:
    with transaction.atomic():
        audit_task(EventType.TASKS_EXPORTED, user=user, meta=meta, format=export_format)


# Idempotent create ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str
    etag: str
    replayed: bool


def request_fingerprint(data: Any) -> str:
    """The same JSON body, whatever its key order or spacing, gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotency_cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=IdempotencyKey.TTL_HOURS)


def _replay(record: IdempotencyKey, fingerprint: str) -> StoredResponse:
    if record.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.", code="idempotency_conflict"
        )
    return StoredResponse(record.status_code, record.response_body, record.etag, replayed=True)


def idempotency_replay(*, user: Any, key: str, fingerprint: str) -> StoredResponse | None:
    """The stored response of a key used in the last 24 hours, or None; 409 when the body differs."""
    record = IdempotencyKey.objects.filter(
        user=user, key=key, created_at__gte=_idempotency_cutoff(timezone.now())
    ).first()
    return None if record is None else _replay(record, fingerprint)


def task_create_idempotent(
    *,
    user: Any,
    key: str,
    fingerprint: str,
    data: dict[str, Any],
    meta: RequestContext,
    render: Callable[[Task], dict[str, Any]],
) -> StoredResponse:
    """Creates the task and stores its response under the key, in one transaction.

    The key's row is inserted first: a concurrent request with the same key blocks on the unique index until
    this transaction commits, then fails to insert, and replays what this one stored. So racing retries
    create one task and all get the same body. A key older than 24 hours starts over.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            record = IdempotencyKey.objects.select_for_update().get(user=user, key=key)
            if record.created_at >= _idempotency_cutoff(now):
                return _replay(record, fingerprint)
            record.fingerprint, record.created_at = fingerprint, now
        task = task_create(user=user, data=data, meta=meta, now=now)
        record.status_code = 201
        record.response_body = json.dumps(render(task), ensure_ascii=False, separators=(",", ":"))
        record.etag = task.etag
        record.save(update_fields=["fingerprint", "created_at", "status_code", "response_body", "etag"])
    return StoredResponse(record.status_code, record.response_body, record.etag, replayed=False)


# Retention --------------------------------------------------------------------------------------------


def tasks_purge_deleted(*, days: int = 30, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Deletes for good the tasks that have been in the trash for more than `days` days, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    while True:
        batch = list(Task.objects.filter(deleted_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return purged
        purged += Task.objects.filter(pk__in=batch).delete()[0]


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Forgets the idempotency keys past their 24 hours (they would be ignored anyway)."""
    return IdempotencyKey.objects.filter(created_at__lt=_idempotency_cutoff(now or timezone.now())).delete()[0]
