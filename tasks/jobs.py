"""Background jobs of the tasks app: invitation and notification emails, the reminder scheduler, and the
trash, idempotency-key, invitation and change-log retention, run periodically."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskContext, task

from accounts.emails import render
from config.jobs.effects import mail_once
from tasks.models import Invitation, InvitationStatus, Notification
from tasks.services.sync import changes_prune
from tasks.services.tasks import idempotency_keys_purge, tasks_purge_deleted


@task()
def purge_trash() -> int:
    """Deletes for good what sat in the trash past its 30 days (`purge_deleted_tasks` by hand)."""
    return tasks_purge_deleted()


@task()
def purge_idempotency_keys() -> int:
    """Forgets idempotency keys past their 24 hours."""
    return idempotency_keys_purge()


@task()
def prune_changes() -> int:
    """Forgets change-log rows (the tombstones sync reports) past their 31 days; a sync cursor lives 30."""
    return changes_prune()


@task(takes_context=True)
def send_invitation(context: TaskContext, *, invitation_id: int) -> str:
    """Mails a project invitation to its address, naming the project and the inviter. The job holds the
    invitation's id only; an invitation answered, revoked or expired meanwhile is not mailed. A run after a
    successful send sends nothing."""
    invitation = Invitation.objects.select_related("project", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != InvitationStatus.PENDING or invitation.expires_at <= timezone.now():
        return "nothing to send"
    inviter = invitation.invited_by
    message = render(
        to=invitation.email,
        template="project_invitation",
        context={
            "project_name": invitation.project.name,
            "inviter": (inviter.full_name or inviter.email) if inviter is not None else "A Taskdesk user",
            "role": invitation.role,
            "expires_at": invitation.expires_at,
            "link": f"{settings.FRONTEND_URL}/invitations",
        },
    )
    return mail_once(f"email:{context.task_result.id}", message)


@task()
def purge_invitations() -> int:
    """Forgets invitations that expired (or were answered) a month ago."""
    # Imported here: the project services queue this module's emails, so they import it first.
    from tasks.services.projects import invitations_purge_expired

    return invitations_purge_expired()


@task()
def fire_reminders() -> int:
    """Delivers the reminders whose time has come (tasks/services/reminders.py); periodic, every few seconds."""
    from tasks.services.reminders import reminders_fire_due

    return reminders_fire_due()


NOTIFICATION_SUBJECTS = {
    "reminder": "Reminder",
    "assigned": "A task was assigned to you",
    "invited": "You were invited to a project",
    "commented": "New comment",
}


@task()
def send_notification_emails(*, notification_ids: list[int]) -> int:
    """Fans a batch of notifications out to one email job each (so each email is sent once, retried on its
    own). Queued by `notify_all`, one job whatever the number of recipients."""
    for notification_id in notification_ids:
        send_notification_email.enqueue(notification_id=notification_id)
    return len(notification_ids)


@task()
def send_notification_email(*, notification_id: int) -> str:
    """Mails one notification to its recipient, unless they turned `email_notifications` off (or were
    deactivated) since it was made. Once per notification, not per job: a fan-out run twice (its worker
    killed before it recorded success) queues a second job for the same notification, which sends nothing."""
    notification = Notification.objects.select_related("recipient", "task").filter(pk=notification_id).first()
    if notification is None:
        return "nothing to send"
    user = notification.recipient
    if not user.is_active or not user.email_notifications:
        return "not wanted"
    subject = NOTIFICATION_SUBJECTS.get(notification.kind, "Taskdesk")
    if notification.task is not None:
        subject = f"{subject}: {' '.join(notification.task.title.split())}"
    link = f"{settings.FRONTEND_URL}/tasks/{notification.task_id}" if notification.task_id else settings.FRONTEND_URL
    message = render(
        to=user.email,
        template="notification",
        context={"user": user, "subject": subject, "text": notification.text, "link": link},
    )
    return mail_once(f"notification-email:{notification_id}", message)
