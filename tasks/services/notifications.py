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


def notify_all(
    *,
    recipients: Any,
    kind: NotificationKind | str,
    text: str,
    task: Task | None = None,
    project: Project | None = None,
    actor: Any = None,
    email: bool = True,
    now: datetime | None = None,
) -> list[Notification]:
    """Adds a notification to each recipient's inbox, at a fixed cost whatever their number: one INSERT of
    every notification and, when `email` is true, one job that fans out the emails of those who keep
    `email_notifications` on (one email job each, in the worker). Nobody is notified of their own action
    (`actor`), and an inactive account gets nothing. Answers the notifications made."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    wanted = [r for r in recipients if r.is_active and (actor is None or actor.pk != r.pk)]
    if not wanted:
        return []
    created_at = now or timezone.now()
    # The task's project by id: no query to load it.
    project_id = project.pk if project is not None else getattr(task, "project_id", None)
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                recipient=recipient,
                kind=kind,
                text=text[:MAX_TEXT],
                task=task,
                project_id=project_id,
                actor=actor,
                created_at=created_at,
            )
            for recipient in wanted
        ]
    )
    mailed = [n.pk for n, recipient in zip(notifications, wanted, strict=True) if recipient.email_notifications]
    if email and mailed:
        # Imported here: tasks.jobs imports the task services, which import this module.
        from tasks import jobs as task_jobs

        task_jobs.send_notification_emails.enqueue(notification_ids=mailed)
    return notifications


def notify(*, recipient: Any, **kwargs: Any) -> Notification | None:
    """`notify_all` for one recipient: the notification, or None when nothing was made."""
    return next(iter(notify_all(recipients=[recipient], **kwargs)), None)


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


def _name(user: Any) -> str:
    return (user.full_name or user.email) if user is not None else "Someone"


def notify_assigned(*, task: Task, user_ids: list[str], actor: Any) -> None:
    """`assigned`: each user newly assigned to the task by someone else (nobody is told of their own act)."""
    from accounts.models import User

    if not user_ids:
        return
    notify_all(
        recipients=User.objects.filter(pk__in=user_ids, is_active=True),
        kind=NotificationKind.ASSIGNED,
        text=f'{_name(actor)} assigned you to "{" ".join(task.title.split())}".',
        task=task,
        actor=actor,
    )


def notify_commented(*, task: Task, actor: Any) -> None:
    """`commented`: the task's creator and its assignees, but not the comment's author. One query for them."""
    from accounts.models import User

    wanted = {str(pk) for pk in task.assignee_ids}
    if task.owner_id is not None:
        wanted.add(str(task.owner_id))
    wanted.discard(str(actor.pk))
    if not wanted:
        return
    recipients = User.objects.filter(pk__in=wanted, is_active=True)
    if task.project_id is not None:
        # A creator who has left the project no longer hears of it.
        recipients = recipients.filter(memberships__project_id=task.project_id)
    notify_all(
        recipients=recipients,
        kind=NotificationKind.COMMENTED,
        text=f'{_name(actor)} commented on "{" ".join(task.title.split())}".',
        task=task,
        actor=actor,
    )
