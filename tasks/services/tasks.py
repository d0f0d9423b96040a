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
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import Conflict, NotFound, PreconditionFailed
from config.http.formats import iso
from config.http.input import assign_changed
from tasks import recurrence
from tasks.models import MAX_ID, IdempotencyKey, Priority, RecurrenceBasis, Status, Task
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


def _task_not_found() -> NotFound:
    return NotFound("Task not found.")


def _lock(*, owner: Any, task_id: int, trashed: bool = False) -> Task:
    if not 0 < task_id <= MAX_ID:
        raise _task_not_found()
    scope = Task.objects.owned_by(owner)
    task = (scope.trashed() if trashed else scope.live()).select_for_update().filter(pk=task_id).first()
    if task is None:
        raise _task_not_found()
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


def _audit_completed(task: Task, advance: recurrence.Advance | None, *, owner: Any, meta: RequestContext) -> None:
    if advance is not None:
        _audit(
            EventType.TASK_COMPLETED,
            owner=owner,
            meta=meta,
            task_id=task.pk,
            occurrence=iso(advance.occurrence),
            next_due_at=iso(advance.next_due),
        )


def _audit(event: EventType, *, owner: Any, meta: RequestContext, **details: Any) -> None:
    # Ids and field names only: task contents never reach the audit log.
    audit_record(event=event, user=owner, meta=meta, details=details)


def task_create(*, owner: Any, data: dict[str, Any], meta: RequestContext, now: datetime | None = None) -> Task:
    now = now or timezone.now()
    values = {**task_defaults(), **data}
    reminder_specs = values.pop("reminders") or []
    values.setdefault("timezone", owner.timezone or "UTC")
    task = Task(owner=owner, created_at=now, updated_at=now, **values)
    if task.status == Status.COMPLETED:
        task.completed_at = now
    # A new recurring task is checked and anchored; created completed, it is simply completed.
    recurrence.on_change(task, [field for field in data if field != "status"], now)
    with transaction.atomic():
        task.save(force_insert=True)
        if reminder_specs:
            reminders_replace(task=task, specs=reminder_specs, now=now)
            task.save(update_fields=["reminders"])
            reminders_arm(task=task, now=now)
        _audit(EventType.TASK_CREATED, owner=owner, meta=meta, task_id=task.pk)
    return task


def task_update(
    *,
    owner: Any,
    task_id: int,
    data: dict[str, Any],
    meta: RequestContext,
    replace: bool = False,
    if_match: str | None = None,
) -> Task:
    """PATCH (the fields given) or PUT (`replace`: the fields left out take their defaults).

    A write that changes nothing records nothing and keeps the ETag.
    """
    with transaction.atomic():
        task = _lock(owner=owner, task_id=task_id)
        _check_precondition(task, if_match)
        now = timezone.now()
        changes = {**task_defaults(), **data} if replace else data
        changed = _apply(task, changes, now)
        advance = _recur_and_remind(task, changes, changed, now, if_match=if_match)
        if changed:
            task.version += 1
            task.updated_at = now
            task.save(update_fields=[*dict.fromkeys(changed), "version", "updated_at"])
            _audit(EventType.TASK_UPDATED, owner=owner, meta=meta, task_id=task.pk, fields=sorted(set(changed)))
            _audit_completed(task, advance, owner=owner, meta=meta)
    return task


def task_complete(*, owner: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> Task:
    return task_update(owner=owner, task_id=task_id, data={"status": Status.COMPLETED}, meta=meta, if_match=if_match)


def task_reopen(*, owner: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> Task:
    return task_update(owner=owner, task_id=task_id, data={"status": Status.PENDING}, meta=meta, if_match=if_match)


def task_delete(*, owner: Any, task_id: int, meta: RequestContext, if_match: str | None = None) -> None:
    """Moves the task to the trash."""
    with transaction.atomic():
        task = _lock(owner=owner, task_id=task_id)
        _check_precondition(task, if_match)
        task.deleted_at = timezone.now()
        task.version += 1
        task.save(update_fields=["deleted_at", "version"])
        if task.reminders:  # what was pending for it is cancelled
            reminders_disarm(task_ids=[task.pk])
        _audit(EventType.TASK_DELETED, owner=owner, meta=meta, task_id=task.pk)


def task_restore(*, owner: Any, task_id: int, meta: RequestContext) -> Task:
    """Takes a task out of the trash; a task that is not in the caller's trash is a 404."""
    with transaction.atomic():
        task = _lock(owner=owner, task_id=task_id, trashed=True)
        task.deleted_at = None
        task.version += 1
        task.save(update_fields=["deleted_at", "version"])
        reminders_arm(task=task, now=timezone.now())
        _audit(EventType.TASK_RESTORED, owner=owner, meta=meta, task_id=task.pk)
    return task


def tasks_bulk(
    *, owner: Any, action: str, ids: list[int], meta: RequestContext, fields: dict[str, Any] | None = None
) -> int:
    """Applies one action to every task in `ids`, or to none.

    Every id must be one of the caller's live tasks (for restore: in the caller's trash), else 404 and
    nothing changes. The rows are locked first, so a concurrent write cannot slip between check and update.
    Returns how many tasks the action applied to.
    """
    ids = list(dict.fromkeys(ids))
    with transaction.atomic():
        owned = Task.objects.owned_by(owner).filter(pk__in=ids)
        scope = owned.trashed() if action == "restore" else owned.live()
        found = list(scope.select_for_update().values_list("pk", flat=True))
        if len(found) != len(ids):
            raise NotFound("One or more tasks were not found.")
        now = timezone.now()
        # Recurrence and reminders (SPEC 4c): the tasks that are recurring or have reminders, in one query.
        # Recurring ones being completed or updated go one by one below (they advance, or are re-anchored).
        reminding = list(Task.objects.filter(pk__in=found).exclude(recurrence="", reminders=[]))
        recurring = [task for task in reminding if task.recurrence] if action in ("complete", "update") else []
        targets = Task.objects.filter(pk__in=found).exclude(pk__in=[task.pk for task in recurring])
        bump = {"version": F("version") + 1}
        if action == "complete":
            targets.exclude(status=Status.COMPLETED).update(
                status=Status.COMPLETED, completed_at=now, updated_at=now, **bump
            )
        elif action == "reopen":
            targets.exclude(status=Status.PENDING).update(
                status=Status.PENDING, completed_at=None, updated_at=now, **bump
            )
        elif action == "delete":
            targets.update(deleted_at=now, **bump)
        elif action == "restore":
            targets.update(deleted_at=None, **bump)
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
        else:  # the serializer admits no other action
            raise ValueError(f"unknown bulk action {action!r}")
        _bulk_recur_and_remind(recurring, reminding, action, fields, owner=owner, meta=meta, now=now)
        details: dict[str, Any] = {"action": action, "count": len(found), "task_ids": sorted(found)}
        if action == "update":
            details["fields"] = sorted(fields or {})
        _audit(EventType.TASK_BULK, owner=owner, meta=meta, **details)
    return len(found)


def _bulk_recur_and_remind(
    recurring: list[Task],
    reminding: list[Task],
    action: str,
    fields: dict[str, Any] | None,
    *,
    owner: Any,
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
            _audit_completed(task, advance, owner=owner, meta=meta)
    done = {task.pk for task in recurring}
    others = [task.pk for task in reminding if task.pk not in done and task.reminders]
    if not others:
        return
    if action in ("complete", "delete"):
        reminders_disarm(task_ids=others)
        return
    for task in Task.objects.filter(pk__in=others):
        reminders_arm(task=task, now=now)


def tasks_export_record(*, owner: Any, export_format: str, meta: RequestContext) -> None:
    with transaction.atomic():
        _audit(EventType.TASKS_EXPORTED, owner=owner, meta=meta, format=export_format)


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
    owner: Any,
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
                record = IdempotencyKey.objects.create(user=owner, key=key, fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            record = IdempotencyKey.objects.select_for_update().get(user=owner, key=key)
            if record.created_at >= _idempotency_cutoff(now):
                return _replay(record, fingerprint)
            record.fingerprint, record.created_at = fingerprint, now
        task = task_create(owner=owner, data=data, meta=meta, now=now)
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
