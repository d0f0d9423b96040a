"""At-least-once made harmless: an outside effect (a mail, a call) is done once per key, however often
the job that does it runs."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.crypto import salted_hmac

from config.jobs.models import Effect


def once(key: str, action: Callable[[], object]) -> bool:
    """Runs `action` unless a run with this key already completed it; answers whether it ran now.

    The mark is written after the action, in its own commit: a crash between the two repeats the action
    on the next run (at least once), a crash anywhere else does not repeat it.
    """
    if Effect.objects.filter(key=key).exists():
        return False
    action()
    Effect.objects.get_or_create(key=key)
    return True


def message_id(key: str) -> str:
    """The Message-ID of the mail sent under effect `key`: the same for every run of its job, so the one
    repeat `once` allows (a crash between the send and its mark) is the same message to mail servers and
    clients, which keep one copy. Keyed with SECRET_KEY so ids differ between installations."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "taskdesk.local"
    return f"<{salted_hmac('taskdesk.jobs.message_id', key).hexdigest()[:40]}@{domain}>"


def mail_once(key: str, message: EmailMessage) -> str:
    """Sends `message` once per `key` (see `once`) under the key's Message-ID; answers what happened."""
    message.extra_headers["Message-ID"] = message_id(key)
    return "sent" if once(key, message.send) else "already sent"
