"""Reminders: kept with their task, armed for their next time, and delivered exactly once per occurrence.

Arming. Each Reminder row has `next_fire_at` (null: nothing pending) and `occurrence`, the instant the
pending firing is for: `at` for an absolute reminder, the due time for a relative one. The task services
re-arm a task's reminders whenever its due time, status, reminders or trash state change, in the same
transaction: a relative reminder follows a moved `due_at` and re-arms for the next occurrence of a recurring
task; completing or deleting the task disarms them all.

Delivery (`reminders_fire_due`, run by the periodic `fire_reminders` job every few seconds). In a short
transaction, a bounded batch of due reminders is taken by the partial index on `next_fire_at`
(`SELECT ... ORDER BY next_fire_at LIMIT n FOR UPDATE SKIP LOCKED` on PostgreSQL: two workers take
different rows; on SQLite the transaction's write lock serialises them). For each, a ReminderDelivery row
keyed by (reminder, occurrence) is inserted under a unique constraint, then the in-app notifications and
their email jobs, and the reminder is disarmed, all in that one transaction. So:
- two workers, or a job run twice: the row lock and, behind it, the unique key let one delivery through;
- a worker killed mid-batch: its transaction rolls back, nothing was delivered, the next run delivers;
- workers down at the reminder's time: it stays armed in the past and the next run delivers it, late, once.
The emails are jobs themselves, at least once with `effects.once` against a repeat send.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.http.errors import ValidationFailed
from tasks.models import MAX_REMINDERS, NotificationKind, Reminder, ReminderDelivery, Status, Task
from tasks.services.notifications import notify_all

BATCH_SIZE = 100
# A run delivers at most this many batches; what is left waits for the next run, seconds later.
MAX_BATCHES = 20


def reminder_recipients(task: Task) -> list[Any]:
    """Who a reminder of `task` notifies: its assignees or, if none, its creator (while they can still see
    it: a project task's creator who has left the project is not told). The one place that decides it;
    evaluated at delivery, so whoever lost access to the task meanwhile is not notified (assignees are
    members: leaving a project takes them off its tasks)."""
    users = get_user_model().objects.filter(is_active=True)
    if task.assignee_ids:
        return list(users.filter(pk__in=task.assignee_ids))
    if task.owner_id is None:
        return []
    if task.project_id is not None:
        users = users.filter(memberships__project_id=task.project_id)
    return list(users.filter(pk=task.owner_id))


# Writing a task's reminders ---------------------------------------------------------------------------


def _shape(reminder: Reminder) -> dict[str, Any]:
    from config.http.formats import iso

    if reminder.at is not None:
        return {"id": reminder.pk, "at": iso(reminder.at)}
    return {"id": reminder.pk, "before_due": reminder.before_due}


def reminders_replace(*, task: Task, specs: list[dict[str, Any]], now: datetime) -> bool:
    """Makes the task's reminders those of `specs` (`{"id"?, "at"}` or `{"id"?, "before_due"}`): an item with
    the id of one of the task's reminders changes that one, an item without an id is a new one, and those
    left out are deleted. Sets `task.reminders` (the caller saves it); answers whether anything changed.

    An absolute reminder must be in the future when it is set (400): a time already past would either never
    fire or fire at once, and neither is what the client asked for. An unchanged one may be sent back as it
    was after it fired.
    """
    if len(specs) > MAX_REMINDERS:
        raise ValidationFailed.on("reminders", f"At most {MAX_REMINDERS} reminders per task.")
    if not specs and not task.reminders:
        return False  # none before, none after: not even a query
    existing = {reminder.pk: reminder for reminder in task.reminder_rows.all()} if task.pk else {}
    kept: list[Reminder] = []
    changed = False
    for index, spec in enumerate(specs):
        reminder_id = spec.get("id")
        reminder = existing.pop(reminder_id, None) if reminder_id is not None else None
        if reminder_id is not None and reminder is None:
            raise ValidationFailed.on("reminders", f"Item {index}: this task has no reminder {reminder_id}.")
        at, before_due = spec.get("at"), spec.get("before_due")
        if before_due is not None and task.due_at is None:
            raise ValidationFailed.on("reminders", f"Item {index}: before_due needs the task to have a due_at.")
        if at is not None and at <= now and (reminder is None or reminder.at != at):
            raise ValidationFailed.on("reminders", f"Item {index}: at must be in the future.")
        if reminder is None:
            reminder = Reminder(task=task, at=at, before_due=before_due, created_at=now)
            reminder.save(force_insert=True)
            changed = True
        elif (reminder.at, reminder.before_due) != (at, before_due):
            reminder.at, reminder.before_due = at, before_due
            reminder.next_fire_at = reminder.occurrence = None  # armed afresh below
            reminder.save(update_fields=["at", "before_due", "next_fire_at", "occurrence"])
            changed = True
        kept.append(reminder)
    if existing:
        Reminder.objects.filter(pk__in=list(existing)).delete()
        changed = True
    task.reminders = [_shape(reminder) for reminder in kept]
    task._reminder_rows = kept  # type: ignore[attr-defined]  # spares reminders_arm a query
    return changed


def _next_fire(task: Task, reminder: Reminder, now: datetime) -> tuple[datetime | None, datetime | None]:
    """When the reminder fires next and for which occurrence; (None, occurrence) when nothing is pending."""
    pending = reminder.next_fire_at is not None
    if task.deleted_at is not None or task.status == Status.COMPLETED:
        return None, reminder.occurrence
    if reminder.at is not None:
        # Armed while in the future; one already pending stays armed even once past (workers were down).
        if reminder.at > now or (pending and reminder.occurrence == reminder.at):
            return reminder.at, reminder.at
        return None, reminder.occurrence
    if task.due_at is None or reminder.before_due is None:
        return None, None
    if task.due_at <= now and not (pending and reminder.occurrence == task.due_at):
        return None, reminder.occurrence  # that occurrence is already past: nothing left to remind of
    # Its time may be past already (a due time moved close): it then fires at once, before the due time.
    return task.due_at - timedelta(minutes=reminder.before_due), task.due_at


def reminders_arm(*, task: Task, now: datetime) -> None:
    """Sets each reminder of the task to its next firing as the task now stands (see the module doc)."""
    rows = getattr(task, "_reminder_rows", None)
    if rows is None:
        if not task.reminders:
            return
        rows = list(Reminder.objects.filter(task=task))
    for reminder in rows:
        fire, occurrence = _next_fire(task, reminder, now)
        if (reminder.next_fire_at, reminder.occurrence) != (fire, occurrence):
            reminder.next_fire_at, reminder.occurrence = fire, occurrence
            reminder.save(update_fields=["next_fire_at", "occurrence"])


def reminders_disarm(*, task_ids: list[int]) -> int:
    """Cancels what is pending for these tasks (completed or deleted in bulk)."""
    return Reminder.objects.filter(task_id__in=task_ids, next_fire_at__isnull=False).update(next_fire_at=None)


# Delivering -------------------------------------------------------------------------------------------


def _reminder_text(task: Task, occurrence: datetime | None) -> str:
    title = " ".join(task.title.split())
    if task.due_at is None or occurrence is None:
        return f'Reminder: "{title}".'
    from tasks.recurrence import is_zone, zone

    name = task.timezone if is_zone(task.timezone) else "UTC"
    due = task.due_at.astimezone(zone(name))
    return f'Reminder: "{title}" is due {due:%Y-%m-%d %H:%M} ({name}).'


def _deliver(reminder: Reminder, now: datetime) -> bool:
    """Delivers one armed reminder inside the caller's transaction; answers whether it was delivered now."""
    task = reminder.task
    occurrence = reminder.occurrence or reminder.next_fire_at
    reminder.next_fire_at = None
    reminder.save(update_fields=["next_fire_at"])
    if task.deleted_at is not None or task.status == Status.COMPLETED or occurrence is None:
        return False
    try:
        with transaction.atomic():
            ReminderDelivery.objects.create(reminder=reminder, occurrence=occurrence, delivered_at=now)
    except IntegrityError:  # delivered for this occurrence already
        return False
    text = _reminder_text(task, occurrence)
    notify_all(recipients=reminder_recipients(task), kind=NotificationKind.REMINDER, text=text, task=task, now=now)
    return True


def _fire_batch(now: datetime, batch_size: int) -> tuple[int, int]:
    with transaction.atomic():
        # The reminder and its task are locked together, skipping any either of which is held. A delivery's
        # rows point at the task, so committing needs a lock on it; a change that holds the task and then
        # disarms its reminders (a bulk completion) would otherwise wait on the reminder while this waits on the
        # task: a deadlock. Skipped now, such a reminder is either disarmed or delivered on the next tick.
        due = list(
            Reminder.objects.filter(next_fire_at__lte=now)
            .order_by("next_fire_at")
            .select_related("task", "task__owner")
            .select_for_update(skip_locked=True, no_key=True, of=("self", "task"))[:batch_size]
        )
        delivered = sum(_deliver(reminder, now) for reminder in due)
    return len(due), delivered


def reminders_fire_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delivers the reminders due by `now`, batch after batch (each its own transaction); answers how many
    were delivered. The cost of a run with nothing due is one indexed query, however many are pending."""
    delivered = 0
    for _ in range(MAX_BATCHES):
        taken, count = _fire_batch(now or timezone.now(), batch_size)
        delivered += count
        if taken < batch_size:
            break
    return delivered
