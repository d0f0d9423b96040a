"""The reconciliation: what the clients were told, the database and the mail server must agree on.

Runs in the soak's process with Django set up on the soak's database, after the load stopped, the queue
drained and every app process stopped. Each check answers a line of figures and whether it held.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from soak.load import Recorder
from soak.processes import Inbox, Mail


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _sample(items: Any, n: int = 5) -> str:
    items = list(items)
    return ", ".join(map(str, items[:n])) + (f" (+{len(items) - n} more)" if len(items) > n else "")


def creates(recorder: Recorder) -> Check:
    """Every acknowledged create exists exactly once, under its key; an unanswered one at most once."""
    from tasks.models import IdempotencyKey, Task

    titles = [ack.title for ack in recorder.acks] + [title for _, _, title in recorder.unacknowledged]
    found: dict[str, list[int]] = defaultdict(list)
    for title, task_id in Task.objects.filter(title__in=titles).values_list("title", "id"):
        found[title].append(task_id)
    keys = Counter(
        IdempotencyKey.objects.filter(key__in=[ack.key for ack in recorder.acks]).values_list("key", flat=True)
    )
    wrong = [ack.title for ack in recorder.acks if found.get(ack.title) != [ack.task_id] or keys[ack.key] != 1]
    doubled = [title for _, _, title in recorder.unacknowledged if len(found.get(title, [])) > 1]
    landed = sum(1 for _, _, title in recorder.unacknowledged if found.get(title))
    return Check(
        "creates",
        not wrong and not doubled,
        f"{len(recorder.acks)} acknowledged, each exactly once: {'yes' if not wrong else 'NO: ' + _sample(wrong)}; "
        f"{len(recorder.unacknowledged)} never answered ({landed} landed), duplicated: {len(doubled)}",
    )


def task_invariants(since: datetime) -> list[Check]:
    from django.db.models import Count, F

    from audit.models import Event
    from tasks.models import Assignment, Task

    tasks = Task.objects.filter(created_at__gte=since)
    ids = set(tasks.values_list("id", flat=True))
    events = Counter(
        Event.objects.filter(event="task.created", created_at__gte=since).values_list("details__task_id", flat=True)
    )
    unaudited = sorted(task_id for task_id in ids if events[task_id] != 1)
    orphans = sorted(task_id for task_id in events if task_id not in ids)
    miscounted = list(
        tasks.annotate(real=Count("comments")).exclude(comments_count=F("real")).values_list("id", flat=True)
    )
    assigned: dict[int, set[str]] = defaultdict(set)
    for task_id, user_id in Assignment.objects.filter(task_id__in=ids).values_list("task_id", "user_id"):
        assigned[task_id].add(str(user_id))
    mismatched = [
        task_id
        for task_id, copy in tasks.values_list("id", "assignee_ids")
        if {str(user_id) for user_id in copy} != assigned[task_id] or len(copy) != len(set(copy))
    ]
    groups: Counter[tuple[Any, ...]] = Counter()
    for project_id, owner_id, parent_id, position in (
        Task.objects.live().filter(id__in=ids).values_list("project_id", "owner_id", "parent_id", "position")
    ):
        group = ("project", project_id) if project_id is not None else ("personal", owner_id)
        groups[(*group, parent_id, position)] += 1
    clashes = [group for group, n in groups.items() if n > 1]
    return [
        Check(
            "audit",
            not unaudited and not orphans,
            f"{len(ids)} tasks, each with one task.created event: "
            f"{'yes' if not unaudited else 'NO: ' + _sample(unaudited)}; events without their task: {len(orphans)}",
        ),
        Check("comments_count", not miscounted, f"equals the comments of every task: {_sample(miscounted) or 'yes'}"),
        Check("assignees", not mismatched, f"assignee_ids match the assignments: {_sample(mismatched) or 'yes'}"),
        Check("positions", not clashes, f"distinct in every sibling group: {_sample(clashes) or 'yes'}"),
    ]


def jobs(since: datetime) -> Check:
    from django_tasks_db.models import DBTaskResult

    mine = DBTaskResult.objects.filter(enqueued_at__gte=since)
    statuses = Counter(mine.values_list("status", flat=True))
    # ready(): due now, or queued without a time (django-tasks stores those with the largest date).
    stuck = mine.running().count() + mine.ready().count()
    retrying = mine.filter(status="READY").exclude(pk__in=mine.ready()).exclude(exception_class_path="").count()
    failed = statuses.get("FAILED", 0)
    recovered = sum(1 for worker_ids in mine.values_list("worker_ids", flat=True) if len(worker_ids) > 1)
    return Check(
        "jobs",
        not stuck and not retrying and not failed,
        f"{sum(statuses.values())} jobs: {dict(statuses)}; left running or due: {stuck}, retrying: {retrying}, "
        f"dead: {failed}; run more than once (a killed worker's, taken back): {recovered}",
    )


def emails(recorder: Recorder, inbox: Inbox, since: datetime) -> list[Check]:
    """Every mail effect recorded exactly once at the mail server, and the mails users are owed."""
    from accounts.models import User
    from config.jobs.effects import message_id
    from config.jobs.models import Effect
    from tasks.models import Notification, NotificationKind

    received = inbox.all()
    copies = Counter(mail.message_id for mail in received)
    repeats = {mid: n for mid, n in copies.items() if n > 1}
    keys = list(Effect.objects.filter(done_at__gte=since).values_list("key", flat=True))
    expected = {message_id(key): key for key in keys if key.startswith(("email:", "notification-email:"))}
    missing = [expected[mid] for mid in expected if mid not in copies]
    unmarked = [mid for mid in copies if mid not in expected]

    verifications: Counter[str] = Counter()
    for mail in received:
        if mail.subject == "Confirm your Taskdesk email address":
            verifications.update(set(mail.to))
    owed = set(recorder.registered)
    unverified = sorted(email for email in owed if verifications[email.lower()] != 1)

    wanted = Notification.objects.filter(
        created_at__gte=since,
        kind__in=[NotificationKind.REMINDER, NotificationKind.ASSIGNED, NotificationKind.COMMENTED],
        recipient__email_notifications=True,
    )
    by_id: dict[str, Mail] = {mail.message_id: mail for mail in received}
    unmailed = []
    for notification_id, email in wanted.values_list("id", "recipient__email"):
        sent = by_id.get(message_id(f"notification-email:{notification_id}"))
        if sent is None or email.lower() not in sent.to:
            unmailed.append(notification_id)
    users = User.objects.filter(email__in=owed).count()
    return [
        Check(
            "emails",
            not missing and not unmarked,
            f"{len(received)} received, {len(copies)} distinct; {len(expected)} sends recorded, each received: "
            f"{'yes' if not missing else 'NO: ' + _sample(missing)}; received without a record: {len(unmarked)}; "
            f"sent again with the same Message-ID (a kill between the send and its record): {len(repeats)}",
        ),
        Check(
            "emails owed",
            not unverified and not unmailed and users == len(owed),
            f"{len(owed)} accounts opened ({users} exist), one verification mail each: "
            f"{'yes' if not unverified else 'NO: ' + _sample(unverified)}; {wanted.count()} notifications to mail, "
            f"each mailed once: {'yes' if not unmailed else 'NO: ' + _sample(unmailed)}",
        ),
    ]


def reminders(since: datetime, load_end: datetime) -> Check:
    from tasks.models import Notification, NotificationKind, Reminder, ReminderDelivery

    due = Reminder.objects.filter(created_at__gte=since, at__lte=load_end)
    left_armed = list(due.filter(next_fire_at__isnull=False).values_list("id", flat=True))
    delivered = ReminderDelivery.objects.filter(reminder__in=due).count()
    deliveries = Counter(
        ReminderDelivery.objects.filter(reminder__created_at__gte=since).values_list("reminder__task_id", flat=True)
    )
    notified = Counter(
        Notification.objects.filter(created_at__gte=since, kind=NotificationKind.REMINDER).values_list(
            "task_id", flat=True
        )
    )
    # The soak's reminders are on personal tasks without assignees: one recipient, their creator.
    off = sorted(task_id for task_id in deliveries.keys() | notified.keys() if deliveries[task_id] != notified[task_id])
    return Check(
        "reminders",
        not left_armed and not off,
        f"{due.count()} due during the run, {delivered} delivered (the others disarmed: their task "
        f"completed or deleted first); left undelivered: "
        f"{_sample(left_armed) or 'none'}; one notification per delivery: {_sample(off) or 'yes'}",
    )


def reconcile(*, recorder: Recorder, inbox: Inbox, since: datetime, load_end: datetime) -> list[Check]:
    return [
        creates(recorder),
        *task_invariants(since),
        jobs(since),
        *emails(recorder, inbox, since),
        reminders(since, load_end),
    ]
