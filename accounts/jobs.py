"""Background jobs of the accounts app: emails, and the sessions' retention."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import TaskContext, task

from accounts import emails
from accounts.models import User
from config.jobs.effects import mail_once

SESSIONS_KEEP_DAYS = 7


@task(takes_context=True)
def send_email(context: TaskContext, *, kind: str, user_id: str, details: dict[str, str] | None = None) -> str:
    """Sends one account email. An SMTP failure raises, so the worker retries it with growing delays; a
    run after a successful send (the worker died before recording success) sends nothing."""
    user = User.objects.filter(pk=user_id).first()
    message = emails.KINDS[kind](user, details or {}) if user is not None else None
    if message is None:
        return "nothing to send"
    return mail_once(f"email:{context.task_result.id}", message)


def email_user(*, kind: str, user: User, details: dict[str, str] | None = None) -> None:
    """Queues an account email. Call it inside the transaction of the change: it is a row of that
    transaction, so a rollback sends nothing and a committed change always gets its mail.

    `details` are plain words the email shows (a security notice's time, address and user agent); never a
    link, token or code: staff read the job table."""
    if kind not in emails.KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    extra = {"details": details} if details else {}
    send_email.enqueue(kind=kind, user_id=str(user.pk), **extra)


@task()
def prune_sessions() -> int:
    """Deletes sessions ended or expired a week ago (`prune_sessions --days N` by hand)."""
    # Imported here: the services queue this module's emails, so they import it first.
    from accounts.services.sessions import sessions_prune

    return sessions_prune(older_than=timedelta(days=SESSIONS_KEEP_DAYS))


@task()
def prune_mfa_challenges() -> int:
    """Deletes the second steps of logins that expired (spent or not) an hour ago."""
    from accounts.services.signin import mfa_challenges_prune

    return mfa_challenges_prune(older_than=timedelta(hours=1))
