"""Notification writes: the one way anything lands in a user's inbox (and, if they want it, their mailbox).

`notify` is called inside the transaction of the change that caused it (a reminder's delivery, an
invitation, an assignment, a comment): the notification row and its email job commit with that change or
not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.http.errors import NotFound
from tasks.models import MAX_ID, Notification, NotificationKind, Project, Task

MAX_TEXT = 500


def notify(
    *,
    recipient: Any,
    kind: NotificationKind | str,
    text: str,
    task: Task | None = None,
    project: Project | None = None,
    actor: Any = None,
    email: bool = True,
    now: datetime | None = None,
) -> Notification | None:
    """Adds a notification to `recipient`'s inbox and, when `email` is true and the recipient keeps
    `email_notifications` on, queues its email. Nobody is notified of their own action (`actor`), and an
    inactive account gets nothing. Answers the notification, or None when nothing was made."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipient.is_active or (actor is not None and actor.pk == recipient.pk):
        return None
    notification = Notification.objects.create(
        recipient=recipient,
        kind=kind,
        text=text[:MAX_TEXT],
        task=task,
        project=project if project is not None else getattr(task, "project", None),
        actor=actor,
        created_at=now or timezone.now(),
    )
    if email and recipient.email_notifications:
        # Imported here: tasks.jobs imports the task services, which import this module.
        from tasks import jobs as task_jobs

        task_jobs.send_notification_email.enqueue(notification_id=notification.pk)
    return notification


def notification_create(**kwargs: Any) -> Notification | None:
    """`notify` in a transaction of its own, for callers that are not already in one."""
    with transaction.atomic():
        return notify(**kwargs)


def notification_mark_read(*, user: Any, notification_id: int, now: datetime | None = None) -> Notification:
    """Marks one of the caller's notifications read (a read one keeps its first read_at); others' are 404."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("actor")
            .filter(pk=notification_id if 0 < notification_id <= MAX_ID else 0, recipient=user)
            .first()
        )
        if notification is None:
            raise NotFound("Notification not found.")
        if notification.read_at is None:
            notification.read_at = now or timezone.now()
            notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: Any, now: datetime | None = None) -> int:
    """Marks every unread notification of the caller read; answers how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now or timezone.now())


def notify_invited(*, invitation: Any, inviter: Any) -> None:
    """The `invited` notification of an invitation whose address has an account. In-app only: the
    invitation itself is mailed to the address whether or not an account has it."""
    from accounts.models import User

    recipient = User.objects.filter(email=invitation.email, is_active=True).first()
    if recipient is None:
        return
    inviter_name = (inviter.full_name or inviter.email) if inviter is not None else "Someone"
    notify(
        recipient=recipient,
        kind=NotificationKind.INVITED,
        text=f'{inviter_name} invited you to the project "{invitation.project.name}" as {invitation.role}.',
        project=invitation.project,
        actor=inviter,
        email=False,
    )
