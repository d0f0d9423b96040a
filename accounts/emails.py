"""Account emails, rendered from templates/emails when the `send_email` job (accounts/jobs.py) runs.

A job carries the kind of email and the user's id, never a link: the job table is readable by every staff
member in the admin, and a reset link there would let staff take over an account they may not touch. The
link is made when the mail is sent, from the user as they stand then (a signed token is valid whenever it
is made), and an email that no longer makes sense (the address was verified meanwhile, the account was
deactivated or deleted) is not sent at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.http import urlencode

from accounts.links import (
    EMAIL_CHANGE_TIMEOUT_SECONDS,
    email_change_token,
    email_verification_tokens,
    encode_uid,
    password_reset_tokens,
)
from accounts.models import User


def render(*, to: str, template: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


def _link_email(
    user: User, *, template: str, path: str, uid: str, token: str, to: str | None = None, **extra: Any
) -> EmailMultiAlternatives:
    link = f"{settings.FRONTEND_URL}/{path}?{urlencode({'uid': uid, 'token': token})}"
    context = {"user": user, "uid": uid, "token": token, "link": link, **extra}
    return render(to=to or user.email, template=template, context=context)


def verification(user: User, details: dict[str, str]) -> EmailMultiAlternatives | None:
    if user.email_verified:
        return None
    uid, token = encode_uid(user), email_verification_tokens.make_token(user)
    return _link_email(user, template="verify_email", path="verify-email", uid=uid, token=token)


def password_reset(user: User, details: dict[str, str]) -> EmailMultiAlternatives | None:
    if not user.is_active:
        return None
    uid, token = encode_uid(user), password_reset_tokens.make_token(user)
    return _link_email(user, template="password_reset", path="reset-password", uid=uid, token=token)


def email_change(user: User, details: dict[str, str]) -> EmailMultiAlternatives | None:
    """The link to the new address. Not sent once the account no longer has the address the change was asked
    from (another change was confirmed meanwhile): that link could never work."""
    new_email, old_email = details.get("new_email", ""), details.get("old_email", "")
    if not user.is_active or not new_email or user.email != old_email:
        return None
    uid, token = encode_uid(user), email_change_token(user, new_email)
    return _link_email(
        user,
        template="email_change",
        path="confirm-email-change",
        uid=uid,
        token=token,
        to=new_email,
        new_email=new_email,
        valid_minutes=EMAIL_CHANGE_TIMEOUT_SECONDS // 60,
    )


# Security notices: what happened, told in one sentence; the template adds when, from where and what to do.
NOTICES = {
    "password_changed": ("Your password was changed", "The password of your account was changed."),
    "password_reset_completed": (
        "Your password was reset",
        "The password of your account was reset with an emailed link.",
    ),
    "mfa_enabled": ("Two-factor sign-in was turned on", "Two-factor sign-in was turned on for your account."),
    "mfa_disabled": ("Two-factor sign-in was turned off", "Two-factor sign-in was turned off for your account."),
    "mfa_reset_by_staff": (
        "Two-factor sign-in was reset",
        "Our staff turned two-factor sign-in off for your account, at your request or for its safety.",
    ),
    "email_change_requested": (
        "A change of your email address was requested",
        "A change of your account's email address to {new_email} was requested. Nothing changes unless the "
        "link sent to that address is opened within an hour.",
    ),
    "email_changed": (
        "Your email address was changed",
        "The email address of your account was changed to {new_email}; this address no longer signs in.",
    ),
    "api_token_created": (
        "A personal API token was created",
        'A personal API token named "{token_name}" was created for your account.',
    ),
    "recovery_codes_regenerated": (
        "New recovery codes were made",
        "New recovery codes were made for your account; the old ones no longer work.",
    ),
}


def security_notice(kind: str) -> Callable[[User, dict[str, str]], EmailMultiAlternatives | None]:
    subject, what = NOTICES[kind]

    def build(user: User, details: dict[str, str]) -> EmailMultiAlternatives | None:
        if not user.is_active:
            return None
        context = {
            "user": user,
            "subject": subject,
            "what": what.format(new_email=details.get("new_email", ""), token_name=details.get("name", "")),
            "at": details.get("at", ""),
            "ip_address": details.get("ip_address") or "unknown",
            "user_agent": details.get("user_agent") or "unknown",
        }
        # Notices about the address itself go to the address it had then (`to`), not the one it has now.
        return render(to=details.get("to") or user.email, template="security_notice", context=context)

    return build


KINDS: dict[str, Callable[[User, dict[str, str]], EmailMultiAlternatives | None]] = {
    "verify_email": verification,
    "password_reset": password_reset,
    "email_change": email_change,
    **{kind: security_notice(kind) for kind in NOTICES},
}
