"""The account's own flows: profile, re-authentication, deletion, password change and reset, email verification
and email change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import lockout
from accounts.jobs import email_user
from accounts.links import email_change_target, email_verification_tokens, password_reset_tokens, user_from_uid
from accounts.models import SETTINGS_FIELDS, ApiToken, Session, User, normalize_email
from accounts.services.api_tokens import api_tokens_revoke_all
from accounts.services.sessions import sessions_end_all
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import AccountLocked, Conflict, ValidationFailed
from config.http.formats import iso
from config.http.input import assign_changed


def validate_new_password(password: str, *, user: User | None, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(errors={field: list(exc.messages)}) from None


def security_notice(*, kind: str, user: User, meta: RequestContext, **extra: str) -> None:
    """Queues a security notice (accounts/emails.py NOTICES): what happened, when, from which address and device.

    `extra` are words the notice shows (`new_email`, a token's `name`), or `to`: the address to send it to when
    it is not the account's address as it stands when the mail goes out (an email change's notice goes to the
    address it changed from)."""
    details = {"at": iso(timezone.now()) or "", "ip_address": meta.ip_address or "", "user_agent": meta.user_agent}
    email_user(kind=kind, user=user, details={**details, **extra})


def profile_update(*, user: User, data: dict[str, Any], meta: RequestContext) -> User:
    changed = assign_changed(user, data, SETTINGS_FIELDS)
    if not changed:
        return user
    with transaction.atomic():
        user.save(update_fields=changed)
        audit_record(event=EventType.PROFILE_UPDATED, user=user, meta=meta, details={"fields": changed})
    return user


def reauthenticate(*, user: User, password: str, meta: RequestContext, field: str = "password") -> None:
    """The password re-check of a sensitive action: a wrong one is 400 on `field` and counts toward the login
    lockout for this account and address, so a stolen session cannot be used to guess the password. While
    the account is locked for this address, the action is refused (429 `account_locked`) unchecked."""
    state = lockout.lock_state(email=user.email, ip_address=meta.ip_address)
    if state.locked:
        raise AccountLocked(retry_after=state.retry_after)
    if user.check_password(password):
        return
    failure = lockout.record_failure(email=user.email, ip_address=meta.ip_address, user_agent=meta.user_agent)
    if failure is lockout.Failure.REFUSED:
        raise AccountLocked(retry_after=lockout.lock_state(email=user.email, ip_address=meta.ip_address).retry_after)
    with transaction.atomic():
        audit_record(event=EventType.REAUTH_FAILED, user=user, meta=meta, details={"field": field})
        if failure is lockout.Failure.ENGAGED:
            lockout.record_locked_out(email=user.email, meta=meta)
    raise ValidationFailed.on(field, "The password is incorrect.")


def release_projects(*, user: User, meta: RequestContext) -> None:
    # Imported here: the tasks app's services import the accounts models, which load before them.
    from tasks.services.projects import projects_release_for_deleted_account

    projects_release_for_deleted_account(user=user, meta=meta)


def account_delete(*, user: User, password: str, meta: RequestContext) -> None:
    """Deletes the account, its sessions and its tasks; the audit log keeps the event with the email."""
    reauthenticate(user=user, password=password, meta=meta)
    with transaction.atomic():
        release_projects(user=user, meta=meta)
        audit_record(
            event=EventType.ACCOUNT_DELETED, user=None, email=user.email, meta=meta, details={"user_id": str(user.pk)}
        )
        user.delete()


def password_change(
    *, user: User, current_password: str, new_password: str, current_session_id: Any, meta: RequestContext
) -> None:
    reauthenticate(user=user, password=current_password, meta=meta, field="current_password")
    validate_new_password(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        sessions_end_all(
            user=user,
            reason=Session.EndReason.PASSWORD_CHANGED,
            event=EventType.PASSWORD_CHANGED,
            meta=meta,
            except_session_id=current_session_id,
        )
        security_notice(kind="password_changed", user=user, meta=meta)


def password_reset_request(*, email: str, meta: RequestContext) -> None:
    """Emails a reset link if an active account has this email; says nothing either way."""
    email = normalize_email(email)
    user = User.objects.filter(email=email, is_active=True).first()
    with transaction.atomic():
        audit_record(
            event=EventType.PASSWORD_RESET_REQUESTED,
            user=user,
            email=email,
            meta=meta,
            details={"account_found": user is not None},
        )
        if user is None:
            return
        email_user(kind="password_reset", user=user)


def password_reset_confirm(*, uid: str, token: str, new_password: str, meta: RequestContext) -> None:
    user = user_from_uid(uid)
    if user is None or not user.is_active or not password_reset_tokens.check_token(user, token):
        raise ValidationFailed.on("token", "This password reset link is invalid, expired or already used.")
    validate_new_password(new_password, user=user, field="new_password")
    with transaction.atomic():
        # Lock the row so two confirmations of one link cannot both pass the check above.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.password != user.password:
            raise ValidationFailed.on("token", "This password reset link is invalid, expired or already used.")
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        sessions_end_all(
            user=locked, reason=Session.EndReason.PASSWORD_RESET, event=EventType.PASSWORD_RESET_COMPLETED, meta=meta
        )
        # Whoever reset the password may be taking the account back: the scripts' tokens go too.
        api_tokens_revoke_all(user=locked, reason=ApiToken.RevokeReason.PASSWORD_RESET, meta=meta)
        security_notice(kind="password_reset_completed", user=locked, meta=meta)


def send_verification(*, user: User, meta: RequestContext) -> None:
    email_user(kind="verify_email", user=user)
    audit_record(event=EventType.EMAIL_VERIFICATION_SENT, user=user, meta=meta)


def email_verification_resend(*, user: User, meta: RequestContext) -> None:
    if user.email_verified:
        return
    with transaction.atomic():
        send_verification(user=user, meta=meta)


def email_verify(*, uid: str, token: str, meta: RequestContext) -> User:
    user = user_from_uid(uid)
    if user is None or not email_verification_tokens.check_token(user, token):
        raise ValidationFailed.on("token", "This verification link is invalid, expired or already used.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
        audit_record(event=EventType.EMAIL_VERIFIED, user=user, meta=meta)
    return user


EMAIL_CHANGE_LINK_INVALID = "This email change link is invalid, expired or already used."


def email_change_request(*, user: User, new_email: str, password: str, meta: RequestContext) -> None:
    """Mails a confirmation link to `new_email` and a notice to the current address, after a password re-check.

    Nothing changes until the link is opened. An address that belongs to another account gets no mail, and the
    caller is told nothing different (no enumeration): they learn it only if they can read that mailbox, and
    then they own it anyway. Asking for the address the account already has (in any spelling) is a 400.
    """
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise ValidationFailed.on("new_email", "This is already your email address.")
    reauthenticate(user=user, password=password, meta=meta)
    taken = User.objects.filter(email=new_email).exists()
    with transaction.atomic():
        # The user reads their own audit events: whether the address was taken stays out of the details.
        audit_record(event=EventType.EMAIL_CHANGE_REQUESTED, user=user, meta=meta, details={"new_email": new_email})
        if not taken:
            email_user(kind="email_change", user=user, details={"new_email": new_email, "old_email": user.email})
        security_notice(kind="email_change_requested", user=user, meta=meta, new_email=new_email, to=user.email)


def email_change_confirm(*, uid: str, token: str, current_session_id: Any, meta: RequestContext) -> User:
    """Changes the address to the one the link names; it counts as verified (the link reached it).

    Every session ends but `current_session_id` (the caller's own, when the SPA that opened the link is
    signed in as this user), and a notice goes to the old address. 409 `email_taken` if another account took
    the address since the link was sent; the link stays unused then.
    """
    user = user_from_uid(uid)
    new_email = email_change_target(user, token) if user is not None and user.is_active else None
    if user is None or new_email is None:
        raise ValidationFailed.on("token", EMAIL_CHANGE_LINK_INVALID)
    with transaction.atomic():
        # The row lock orders two confirmations of one link: the second sees the address already changed.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if email_change_target(locked, token) != new_email:
            raise ValidationFailed.on("token", EMAIL_CHANGE_LINK_INVALID)
        if User.objects.filter(email=new_email).exclude(pk=locked.pk).exists():
            raise Conflict("An account with this email already exists.", code="email_taken")
        old_email = locked.email
        locked.email, locked.email_verified = new_email, True
        try:
            with transaction.atomic():
                locked.save(update_fields=["email", "email_verified"])
        except IntegrityError:
            # Another account took it between the check and the write; the unique index decided.
            raise Conflict("An account with this email already exists.", code="email_taken") from None
        sessions_end_all(
            user=locked,
            reason=Session.EndReason.EMAIL_CHANGED,
            event=EventType.EMAIL_CHANGED,
            meta=meta.acting_as(locked),
            details={"old_email": old_email, "new_email": new_email},
            except_session_id=current_session_id,
        )
        security_notice(kind="email_changed", user=locked, meta=meta, new_email=new_email, to=old_email)
    return locked
