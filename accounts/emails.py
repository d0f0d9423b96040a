"""Account emails, rendered from templates/emails and sent only after the transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger("taskdesk.email")


def _send(*, to: str, template: str, context: dict[str, Any]) -> None:
    try:
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:
        # A mail server outage must never turn a committed change into an error for the user.
        logger.exception("sending the %s email failed", template)


def send_after_commit(*, to: str, template: str, context: dict[str, Any]) -> None:
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    transaction.on_commit(lambda: _send(to=to, template=template, context=context))
