"""Account writes: sign-up, sign-in, token rotation, session ends, profile and password flows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import Token

from accounts import fields, lockout, mfa
from accounts.backends import EmailBackend
from accounts.jobs import email_user
from accounts.links import email_verification_tokens, password_reset_tokens, user_from_uid
from accounts.models import PROFILE_FIELDS, MfaChallenge, RecoveryCode, Session, TotpDevice, User, normalize_email
from accounts.tokens import SESSION_CLAIM, TokenPair, decode_refresh, issue_pair
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http import metrics
from config.http.errors import (
    AccountLocked,
    ActionRefused,
    Conflict,
    InvalidCredentials,
    MfaInvalid,
    TokenInvalid,
    TokenReused,
    ValidationFailed,
)
from config.http.formats import iso
from config.http.input import assign_changed

# The API login checks passwords with the backend directly: the lockout is counted here, with plain values,
# not by axes' signal handlers reading the request (those serve the admin's login form).
_login_backend = EmailBackend()


def _new_jti() -> str:
    return secrets.token_hex(16)


def _validate_password(password: str, *, user: User | None, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(errors={field: list(exc.messages)}) from None


def _pair_for(session: Session) -> TokenPair:
    return issue_pair(
        user_id=str(session.user_id),
        session_id=str(session.id),
        refresh_jti=session.refresh_jti,
        session_expires_at=session.expires_at,
    )


# Sessions ---------------------------------------------------------------------------------------------


def session_open(*, user: User, meta: RequestContext) -> tuple[Session, TokenPair]:
    now = timezone.now()
    session = Session.objects.create(
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.SESSION_MAX_DAYS),
        refresh_jti=_new_jti(),
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
    )
    return session, _pair_for(session)


def session_end(*, session: Session, reason: str, meta: RequestContext, event: EventType | None = None) -> None:
    """Ends one session; its access and refresh tokens fail from the next request on."""
    with transaction.atomic():
        updated = Session.objects.open().filter(pk=session.pk).update(ended_at=timezone.now(), end_reason=reason)
        if updated:
            metrics.sessions_revoked(reason=reason)
        if updated and event is not None:
            audit_record(event=event, user=session.user, meta=meta, details={"session_id": str(session.pk)})


def session_revoke(*, session: Session, meta: RequestContext) -> None:
    session_end(session=session, reason=Session.EndReason.REVOKED, meta=meta, event=EventType.SESSION_REVOKED)


def sessions_end_all(
    *,
    user: User,
    reason: str,
    event: EventType,
    meta: RequestContext,
    details: dict[str, Any] | None = None,
    except_session_id: Any = None,
) -> int:
    """Ends every live session of the user (but one, when given) and records `event` with how many ended.

    Call it inside the transaction of the change that ends them, so the event and the ends commit together.
    """
    sessions = Session.objects.open().filter(user=user)
    if except_session_id is not None:
        sessions = sessions.exclude(pk=except_session_id)
    ended = sessions.update(ended_at=timezone.now(), end_reason=reason)
    # A sign-in waiting for its second factor is a session about to open: it must not outlive this either
    # (its password may be the one just changed or reset).
    _mfa_challenges_spend(user=user)
    metrics.sessions_revoked(reason=reason, count=ended)
    audit_record(event=event, user=user, meta=meta, details={**(details or {}), "sessions_ended": ended})
    return ended


def session_touch(*, session: Session) -> None:
    """Marks use at most once a minute: the conditional UPDATE is skipped on most requests."""
    now = timezone.now()
    if now - session.last_used_at < timedelta(seconds=settings.SESSION_TOUCH_SECONDS):
        return
    Session.objects.filter(
        pk=session.pk, last_used_at__lt=now - timedelta(seconds=settings.SESSION_TOUCH_SECONDS)
    ).update(last_used_at=now)
    session.last_used_at = now


# Sign-up, sign-in, tokens -----------------------------------------------------------------------------


def user_register(*, email: str, password: str, full_name: str = "", meta: RequestContext) -> tuple[User, TokenPair]:
    email = normalize_email(email)
    candidate = User(email=email, full_name=full_name)
    _validate_password(password, user=candidate, field="password")
    if User.objects.filter(email=email).exists():
        raise Conflict("An account with this email already exists.", code="email_taken")
    try:
        with transaction.atomic():
            candidate.set_password(password)
            candidate.last_login = timezone.now()
            candidate.save()
            session, pair = session_open(user=candidate, meta=meta)
            # Signing up and in is the new user's own act.
            meta = meta.acting_as(candidate)
            audit_record(event=EventType.REGISTERED, user=candidate, meta=meta)
            audit_record(
                event=EventType.LOGIN_SUCCEEDED, user=candidate, meta=meta, details={"session_id": str(session.pk)}
            )
            metrics.login_succeeded()
            _send_verification(user=candidate, meta=meta)
    except IntegrityError:
        # Two sign-ups for one address raced; the unique index decided.
        raise Conflict("An account with this email already exists.", code="email_taken") from None
    return candidate, pair


def _record_refused_while_locked(*, email: str, meta: RequestContext) -> None:
    # Hammering a locked account leaves a trace, though the attempt changes nothing else.
    with transaction.atomic():
        known = User.objects.filter(email=email).first()
        audit_record(event=EventType.LOGIN_FAILED, user=known, email=email, meta=meta, details={"reason": "locked"})
        metrics.login_failed(locked=True)


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The answer to a right password of a user with two-factor on: no session yet, a code is due."""

    mfa_token: str
    expires_in: int
    methods: tuple[str, ...] = ("totp", "recovery_code")

    def as_dict(self) -> dict[str, Any]:
        return {
            "mfa_required": True,
            "mfa_token": self.mfa_token,
            "methods": list(self.methods),
            "expires_in": self.expires_in,
        }


def user_login(*, email: str, password: str, meta: RequestContext) -> tuple[User, TokenPair | MfaRequired]:
    """Checks the lockout, then the credentials, and opens a session (or, with two-factor on, asks for a code).

    The same 401 answers an unknown email, a wrong password and an inactive account (and takes about the same
    time: the backend hashes for an unknown email too). An account locked for this client address is refused
    before its password is checked (429 `account_locked`, even for the right password); the failure that
    engages the lock is still a 401. See accounts/lockout.py.
    """
    email = normalize_email(email)
    state = lockout.lock_state(email=email, ip_address=meta.ip_address)
    if state.locked:
        _record_refused_while_locked(email=email, meta=meta)
        raise AccountLocked(retry_after=state.retry_after)
    user = _login_backend.authenticate(None, username=email, password=password)
    if user is None:
        failure = lockout.record_failure(email=email, ip_address=meta.ip_address, user_agent=meta.user_agent)
        if failure is lockout.Failure.REFUSED:
            # Another attempt engaged the lock between our check and the password check.
            _record_refused_while_locked(email=email, meta=meta)
            retry_after = lockout.lock_state(email=email, ip_address=meta.ip_address).retry_after
            raise AccountLocked(retry_after=retry_after)
        with transaction.atomic():
            known = User.objects.filter(email=email).first()
            audit_record(event=EventType.LOGIN_FAILED, user=known, email=email, meta=meta)
            metrics.login_failed()
            if failure is lockout.Failure.ENGAGED:
                lockout.record_locked_out(email=email, meta=meta)
        raise InvalidCredentials()
    if user.mfa_enabled:
        # The failure count stays until the second step succeeds: a right password alone must not reset it,
        # or anyone holding the password could guess codes without end by signing in again between guesses.
        return user, _mfa_challenge_open(user=user)
    return user, _login_complete(user=user, meta=meta)


def _login_complete(*, user: User, meta: RequestContext, details: dict[str, Any] | None = None) -> TokenPair:
    """The end of every successful sign-in: the failure count reset, a session opened, the event recorded."""
    lockout.clear_for_address(email=user.email, ip_address=meta.ip_address)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        session, pair = session_open(user=user, meta=meta)
        audit_record(
            event=EventType.LOGIN_SUCCEEDED,
            user=user,
            meta=meta.acting_as(user),
            details={"session_id": str(session.pk), **(details or {})},
        )
        metrics.login_succeeded()
    return pair


def token_refresh(*, raw_refresh: str, meta: RequestContext) -> TokenPair:
    """Rotates the session's refresh token.

    The row lock serialises concurrent refreshes of one session. The token in force is rotated; the one it
    just replaced still yields the current pair for REFRESH_GRACE_SECONDS (SPA tabs refreshing at once);
    any other token of a live session is a replay, which ends the session.
    """
    token = decode_refresh(raw_refresh)
    jti = token.get("jti")
    reused = False
    with transaction.atomic():
        session = (
            # of=("self",): lock the session row only; its user row stays free for logins and profile edits.
            Session.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=token[SESSION_CLAIM], user_id=token["user_id"])
            .first()
        )
        if session is None or not session.is_live or not session.user.is_active:
            raise TokenInvalid()
        now = timezone.now()
        if jti == session.refresh_jti:
            session.previous_refresh_jti = session.refresh_jti
            session.refresh_jti = _new_jti()
            session.rotated_at = now
            session.last_used_at = now
            session.save(update_fields=["previous_refresh_jti", "refresh_jti", "rotated_at", "last_used_at"])
            audit_record(
                event=EventType.TOKEN_REFRESHED,
                user=session.user,
                meta=meta.acting_as(session.user),
                details={"session_id": str(session.pk)},
            )
        elif (
            jti == session.previous_refresh_jti
            and session.rotated_at is not None
            and now - session.rotated_at <= timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
        ):
            pass  # A concurrent refresh won the race: hand out the pair it got, same session.
        else:
            session.ended_at = now
            session.end_reason = Session.EndReason.REUSE_DETECTED
            session.save(update_fields=["ended_at", "end_reason"])
            audit_record(
                event=EventType.REFRESH_REUSE_DETECTED,
                user=session.user,
                meta=meta,
                details={"session_id": str(session.pk)},
            )
            metrics.refresh_reuse_detected()
            metrics.sessions_revoked(reason=Session.EndReason.REUSE_DETECTED)
            reused = True
    if reused:
        raise TokenReused()
    return _pair_for(session)


def logout(*, user: User, session_id: Any, raw_refresh: str | None, meta: RequestContext) -> None:
    """Ends the session of the presented access token, and that of the refresh token if it is another."""
    ids = set()
    if session_id:
        ids.add(str(session_id))
    if raw_refresh:
        # A refresh token that does not verify (expired, forged, garbage) names no session we can trust; it
        # must not stop the session of the access token from ending (it used to answer 401 and end nothing).
        token: Token | None
        try:
            token = decode_refresh(raw_refresh)
        except TokenInvalid:
            token = None
        if token is not None and str(token["user_id"]) == str(user.pk):
            ids.add(str(token[SESSION_CLAIM]))
    with transaction.atomic():
        for session in Session.objects.open().filter(pk__in=ids, user=user):
            session_end(session=session, reason=Session.EndReason.LOGOUT, meta=meta, event=EventType.LOGOUT)


def logout_all(*, user: User, meta: RequestContext) -> None:
    with transaction.atomic():
        sessions_end_all(user=user, reason=Session.EndReason.LOGOUT_ALL, event=EventType.LOGOUT_ALL, meta=meta)


# Profile and account ----------------------------------------------------------------------------------


def profile_update(*, user: User, data: dict[str, Any], meta: RequestContext) -> User:
    changed = assign_changed(user, data, PROFILE_FIELDS)
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


def _release_projects(*, user: User, meta: RequestContext) -> None:
    # Imported here: the tasks app's services import the accounts models, which load before them.
    from tasks.services.projects import projects_release_for_deleted_account

    projects_release_for_deleted_account(user=user, meta=meta)


def account_delete(*, user: User, password: str, meta: RequestContext) -> None:
    """Deletes the account, its sessions and its tasks; the audit log keeps the event with the email."""
    reauthenticate(user=user, password=password, meta=meta)
    with transaction.atomic():
        _release_projects(user=user, meta=meta)
        audit_record(
            event=EventType.ACCOUNT_DELETED, user=None, email=user.email, meta=meta, details={"user_id": str(user.pk)}
        )
        user.delete()


# Passwords --------------------------------------------------------------------------------------------


def password_change(
    *, user: User, current_password: str, new_password: str, current_session_id: Any, meta: RequestContext
) -> None:
    reauthenticate(user=user, password=current_password, meta=meta, field="current_password")
    _validate_password(new_password, user=user, field="new_password")
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
    _validate_password(new_password, user=user, field="new_password")
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


# Email verification -----------------------------------------------------------------------------------


def _send_verification(*, user: User, meta: RequestContext) -> None:
    email_user(kind="verify_email", user=user)
    audit_record(event=EventType.EMAIL_VERIFICATION_SENT, user=user, meta=meta)


def email_verification_resend(*, user: User, meta: RequestContext) -> None:
    if user.email_verified:
        return
    with transaction.atomic():
        _send_verification(user=user, meta=meta)


def email_verify(*, uid: str, token: str, meta: RequestContext) -> User:
    user = user_from_uid(uid)
    if user is None or not email_verification_tokens.check_token(user, token):
        raise ValidationFailed.on("token", "This verification link is invalid, expired or already used.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
        audit_record(event=EventType.EMAIL_VERIFIED, user=user, meta=meta)
    return user


# Two-factor sign-in ------------------------------------------------------------------------------------

MFA_NOT_ENABLED = "Two-factor sign-in is not turned on."


def _notice(*, kind: str, user: User, meta: RequestContext) -> None:
    """Queues a security notice: what happened, when, from which address and device."""
    details = {"at": iso(timezone.now()) or "", "ip_address": meta.ip_address or "", "user_agent": meta.user_agent}
    email_user(kind=kind, user=user, details=details)


def _recovery_codes_replace(*, user: User) -> list[str]:
    """Ten new recovery codes for the user; every earlier one is gone. Call inside a transaction."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = mfa.new_recovery_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=mfa.digest(mfa.normalize_code(code))) for code in codes]
    )
    return codes


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


def totp_setup(*, user: User, meta: RequestContext) -> TotpSetup:
    """A new secret for the user's authenticator app, not in force until confirmed; it replaces an unconfirmed
    one. Refused (409 `mfa_already_enabled`) while two-factor is on: turn it off first."""
    secret = mfa.new_secret()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.mfa_enabled:
            raise Conflict("Two-factor sign-in is already on; turn it off first.", code="mfa_already_enabled")
        TotpDevice.objects.update_or_create(
            user=locked,
            defaults={
                "secret_encrypted": fields.encrypt(secret),
                "created_at": timezone.now(),
                "confirmed_at": None,
                "last_used_step": None,
            },
        )
        audit_record(event=EventType.MFA_SETUP_STARTED, user=locked, meta=meta)
    return TotpSetup(
        secret=secret, otpauth_uri=mfa.provisioning_uri(secret=secret, email=user.email, issuer=settings.MFA_ISSUER)
    )


def totp_confirm(*, user: User, code: str, meta: RequestContext) -> list[str]:
    """Turns two-factor on once the app shows a right code; answers the ten recovery codes (shown this once).

    The code's time step is remembered, so the code just typed cannot also open a login.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.mfa_enabled:
            raise Conflict("Two-factor sign-in is already on.", code="mfa_already_enabled")
        device = TotpDevice.objects.filter(user=locked).first()
        if device is None:
            raise Conflict("Start with POST /api/v1/auth/mfa/totp/setup.", code="mfa_setup_required")
        step = mfa.matching_step(
            secret=fields.decrypt(device.secret_encrypted),
            code=mfa.normalize_code(code),
            at=timezone.now(),
            after_step=device.last_used_step,
        )
        if step is None:
            raise MfaInvalid(status_code=400)
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        locked.mfa_enabled = True
        locked.save(update_fields=["mfa_enabled"])
        user.mfa_enabled = True
        codes = _recovery_codes_replace(user=locked)
        audit_record(event=EventType.MFA_ENABLED, user=locked, meta=meta, details={"method": "totp"})
        _notice(kind="mfa_enabled", user=locked, meta=meta)
    return codes


def _mfa_remove(*, user: User) -> None:
    """Forgets the user's device and recovery codes; call inside a transaction holding the user row."""
    # Challenges first: a concurrent second step locks its challenge, then the device, in that order too.
    _mfa_challenges_spend(user=user)
    TotpDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    user.mfa_enabled = False
    user.save(update_fields=["mfa_enabled"])


def totp_disable(*, user: User, password: str, current_session_id: Any, meta: RequestContext) -> int:
    """Turns two-factor off after a password re-check; every other session ends. Returns how many ended."""
    reauthenticate(user=user, password=password, meta=meta)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.mfa_enabled:
            raise Conflict(MFA_NOT_ENABLED, code="mfa_not_enabled")
        _mfa_remove(user=locked)
        user.mfa_enabled = False
        ended = sessions_end_all(
            user=locked,
            reason=Session.EndReason.MFA_DISABLED,
            event=EventType.MFA_DISABLED,
            meta=meta,
            except_session_id=current_session_id,
        )
        _notice(kind="mfa_disabled", user=locked, meta=meta)
    return ended


def recovery_codes_regenerate(*, user: User, password: str, meta: RequestContext) -> list[str]:
    """Ten new recovery codes after a password re-check; the old ones stop working at once."""
    reauthenticate(user=user, password=password, meta=meta)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.mfa_enabled:
            raise Conflict(MFA_NOT_ENABLED, code="mfa_not_enabled")
        codes = _recovery_codes_replace(user=locked)
        audit_record(event=EventType.RECOVERY_CODES_REGENERATED, user=locked, meta=meta)
        _notice(kind="recovery_codes_regenerated", user=locked, meta=meta)
    return codes


def mfa_reset_by_staff(*, actor: User | None, user: User, meta: RequestContext) -> bool:
    """Staff turn a user's two-factor off (a lost phone, no recovery code left). Sessions stay; the user is
    told by email. Only a superuser may reset a superuser's. Returns whether anything was on."""
    ensure_staff_may_act(actor=actor, user=user, action="reset_mfa", meta=meta)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not staff_may_act_on(actor=actor, user=locked):  # made a superuser since it was read
            raise ActionRefused(SUPERUSER_ONLY)
        if not locked.mfa_enabled:
            return False
        _mfa_remove(user=locked)
        audit_record(event=EventType.MFA_RESET_BY_STAFF, user=locked, meta=_as(actor, meta))
        _notice(kind="mfa_reset_by_staff", user=locked, meta=meta)
    return True


def _mfa_challenges_spend(*, user: User) -> None:
    """Ends the user's sign-ins still waiting for a second factor; their mfa_tokens answer token_invalid."""
    MfaChallenge.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())


def _mfa_challenge_open(*, user: User) -> MfaRequired:
    token = mfa.new_mfa_token()
    lifetime = settings.MFA_TOKEN_SECONDS
    MfaChallenge.objects.create(
        user=user, token_hash=mfa.digest(token), expires_at=timezone.now() + timedelta(seconds=lifetime)
    )
    return MfaRequired(mfa_token=token, expires_in=lifetime)


def _second_factor_check(*, user: User, code: str) -> str | None:
    """Spends `code` if it is a TOTP code of a new time step or an unused recovery code of the user; answers
    which it was, or None. Call inside a transaction: the device row is locked, so of two requests with one
    TOTP code only one sees its step as new; a recovery code is spent by one conditional UPDATE."""
    code = mfa.normalize_code(code)
    now = timezone.now()
    if mfa.is_totp_code(code):
        device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        if device is None:
            return None
        step = mfa.matching_step(
            secret=fields.decrypt(device.secret_encrypted), code=code, at=now, after_step=device.last_used_step
        )
        if step is None:
            return None
        device.last_used_step = step
        device.save(update_fields=["last_used_step"])
        return "totp"
    if mfa.is_recovery_code(code):
        spent = RecoveryCode.objects.filter(user=user, code_hash=mfa.digest(code), used_at__isnull=True).update(
            used_at=now
        )
        return "recovery_code" if spent else None
    return None


def login_mfa(*, mfa_token: str, code: str, meta: RequestContext) -> tuple[User, TokenPair]:
    """The second step of a login: an mfa_token from the first step and a code from the app (or a recovery
    code) open the session.

    An unknown, expired, spent or exhausted token is 401 `token_invalid` (sign in again). A wrong code is 401
    `mfa_invalid` and counts toward the lockout of the account for this client address, like a wrong password;
    once locked, 429 `account_locked` before any code is checked.
    """
    now = timezone.now()
    with transaction.atomic():
        # The row lock makes the token single use: a second request with it waits, then finds it spent.
        challenge = (
            MfaChallenge.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(token_hash=mfa.digest(mfa_token), used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if challenge is None or not challenge.user.is_active or not challenge.user.mfa_enabled:
            raise TokenInvalid("The sign-in step expired or was already used; sign in again.")
        user = challenge.user
        state = lockout.lock_state(email=user.email, ip_address=meta.ip_address)
        if state.locked:
            raise AccountLocked(retry_after=state.retry_after)
        method = _second_factor_check(user=user, code=code)
        if method is not None:
            # The spent code, the spent token and the new session commit together or not at all.
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            actor_meta = meta.acting_as(user)
            audit_record(event=EventType.MFA_CHALLENGE_PASSED, user=user, meta=actor_meta, details={"method": method})
            if method == "recovery_code":
                left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                audit_record(event=EventType.RECOVERY_CODE_USED, user=user, meta=actor_meta, details={"left": left})
            return user, _login_complete(user=user, meta=meta, details={"mfa_method": method})
        challenge.failures += 1
        if challenge.failures >= lockout.failure_limit():
            challenge.used_at = now
        challenge.save(update_fields=["failures", "used_at"])
    _mfa_failure(user=user, meta=meta)


def _mfa_failure(*, user: User, meta: RequestContext) -> NoReturn:
    """A wrong second factor: counted toward the lockout like a wrong password, recorded, refused."""
    failure = lockout.record_failure(email=user.email, ip_address=meta.ip_address, user_agent=meta.user_agent)
    if failure is lockout.Failure.REFUSED:
        raise AccountLocked(retry_after=lockout.lock_state(email=user.email, ip_address=meta.ip_address).retry_after)
    with transaction.atomic():
        audit_record(event=EventType.MFA_FAILED, user=user, meta=meta)
        metrics.login_failed()
        if failure is lockout.Failure.ENGAGED:
            lockout.record_locked_out(email=user.email, meta=meta)
    raise MfaInvalid()


def mfa_status(*, user: User) -> dict[str, Any]:
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() if user.mfa_enabled else 0
    return {"totp_enabled": user.mfa_enabled, "recovery_codes_left": left}


def mfa_challenges_prune(*, older_than: timedelta) -> int:
    """Deletes login second steps that expired more than `older_than` ago (spent or not)."""
    deleted, _ = MfaChallenge.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted


def totp_secrets_reencrypt() -> int:
    """Re-encrypts every TOTP secret with the first FIELD_ENCRYPTION_KEY (after a key rotation). Returns how
    many rows were rewritten; each row is rewritten under its lock, so a concurrent login's step is kept."""
    count = 0
    for pk in TotpDevice.objects.values_list("pk", flat=True):
        with transaction.atomic():
            device = TotpDevice.objects.select_for_update().filter(pk=pk).first()
            if device is None:
                continue
            device.secret_encrypted = fields.reencrypt(device.secret_encrypted)
            device.save(update_fields=["secret_encrypted"])
            count += 1
    return count


# Staff user management ----------------------------------------------------------------------------------
# Used by the staff API (/api/v1/users/), the admin's user pages and actions, and the commands, so each door
# ends sessions and records the same events. `actor` is the staff user acting, or None for a command.

STAFF_EDITABLE = (*PROFILE_FIELDS, "is_active", "is_staff", "email_verified")


def _as(actor: User | None, meta: RequestContext) -> RequestContext:
    """The context whose events name `actor` as the one who acted (a command passes None: the system)."""
    return meta.acting_as(actor) if actor is not None else meta


SUPERUSER_ONLY = (
    "Only a superuser can change, deactivate, delete, unlock, sign out, reset the two-factor sign-in of or set "
    "the password of a superuser."
)


def staff_may_act_on(*, actor: User | None, user: User) -> bool:
    """Only a superuser may act on a superuser's account; any staff member may act on everyone else's.

    Without it a plain staff member could take a superuser's account over: set its password or email (then
    sign in as them, or have the reset link mailed to themselves), or deactivate, demote or delete them.
    A command (`actor` None) runs with the operator's authority.
    """
    return actor is None or actor.is_superuser or not user.is_superuser


def ensure_staff_may_act(
    *, actor: User | None, user: User, action: str, meta: RequestContext, details: dict[str, Any] | None = None
) -> None:
    """Raises ActionRefused (403 permission_denied) when `staff_may_act_on` says no, and records the attempt.

    Call it before the transaction of the change: the refusal is recorded even though nothing else commits.
    """
    if staff_may_act_on(actor=actor, user=user):
        return
    audit_record(
        event=EventType.STAFF_ACTION_REFUSED,
        user=user,
        meta=_as(actor, meta),
        details={"action": action, "reason": "target_is_superuser", **(details or {})},
    )
    raise ActionRefused(SUPERUSER_ONLY)


def _refuse_self_lockout(*, actor: User | None, user: User, data: dict[str, Any]) -> None:
    """Staff cannot take away their own access: the console would lock its last door behind them."""
    if actor is None or actor.pk != user.pk:
        return
    errors: dict[str, list[str]] = {}
    if data.get("is_active") is False:
        errors["is_active"] = ["You cannot deactivate your own account."]
    if data.get("is_staff") is False:
        errors["is_staff"] = ["You cannot remove your own staff status."]
    if errors:
        raise ValidationFailed(errors=errors)


# The admin's user form also edits the address and the superuser flag (the staff API does not).
ADMIN_EDITABLE = (*STAFF_EDITABLE, "email", "is_superuser")


def user_update_by_staff(
    *,
    actor: User | None,
    user: User,
    data: dict[str, Any],
    meta: RequestContext,
    editable: tuple[str, ...] = STAFF_EDITABLE,
) -> User:
    """Changes the fields of `editable` given in `data` (others are ignored).

    Deactivation ends every session of the user at once (their tokens fail on the next request) and records
    USER_DEACTIVATED; reactivation records USER_ACTIVATED; a staff or superuser flag change records
    STAFF_CHANGED; profile fields, the address and `email_verified` record PROFILE_UPDATED. Only a superuser
    grants or takes away superuser.
    """
    data = {field: data[field] for field in editable if field in data}
    if "email" in data:
        data["email"] = normalize_email(data["email"])
    ensure_staff_may_act(actor=actor, user=user, action="change", meta=meta, details={"fields": sorted(data)})
    _refuse_self_lockout(actor=actor, user=user, data=data)
    with transaction.atomic():
        # The row lock orders concurrent staff edits of one user, so each event matches a real change.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not staff_may_act_on(actor=actor, user=locked):  # made a superuser since it was read
            raise ActionRefused(SUPERUSER_ONLY)
        changed = assign_changed(locked, data, editable)
        if not changed:
            return locked
        if "is_superuser" in changed and actor is not None and not actor.is_superuser:
            raise ActionRefused("Only a superuser can grant or take away superuser status.")
        if "email" in changed and User.objects.filter(email=locked.email).exclude(pk=locked.pk).exists():
            raise Conflict("An account with this email already exists.", code="email_taken")
        locked.save(update_fields=changed)
        meta = _as(actor, meta)
        if "is_active" in changed:
            if locked.is_active:
                audit_record(event=EventType.USER_ACTIVATED, user=locked, meta=meta)
            else:
                sessions_end_all(
                    user=locked,
                    reason=Session.EndReason.DEACTIVATED,
                    event=EventType.USER_DEACTIVATED,
                    meta=meta,
                )
        flags: dict[str, Any] = {
            flag: getattr(locked, flag) for flag in ("is_staff", "is_superuser") if flag in changed
        }
        if flags:
            audit_record(event=EventType.STAFF_CHANGED, user=locked, meta=meta, details=flags)
        profile = [field for field in changed if field not in {"is_active", "is_staff", "is_superuser"}]
        if profile:
            audit_record(event=EventType.PROFILE_UPDATED, user=locked, meta=meta, details={"fields": profile})
    return locked


def user_create_by_staff(
    *, actor: User | None, email: str, full_name: str = "", password: str | None, meta: RequestContext
) -> User:
    """An account made by staff (the admin's add form); `password` None makes one that cannot sign in until a
    password is set. Recorded as ACCOUNT_CREATED with the staff member as actor."""
    email = normalize_email(email)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise Conflict("An account with this email already exists.", code="email_taken")
        user = User(email=email, full_name=full_name)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        audit_record(event=EventType.ACCOUNT_CREATED, user=user, meta=_as(actor, meta))
    return user


def user_set_active(*, actor: User | None, user: User, is_active: bool, meta: RequestContext) -> User:
    return user_update_by_staff(actor=actor, user=user, data={"is_active": is_active}, meta=meta)


def user_delete_by_staff(*, actor: User | None, user: User, meta: RequestContext) -> None:
    """Deletes the user, their sessions and their tasks; the audit log keeps the event with the email."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(
            "You cannot delete your own account here.",
            errors={"id": ["You cannot delete your own account here; use DELETE /api/v1/auth/me."]},
        )
    ensure_staff_may_act(actor=actor, user=user, action="delete", meta=meta)
    with transaction.atomic():
        _release_projects(user=user, meta=_as(actor, meta))
        audit_record(
            event=EventType.ACCOUNT_DELETED,
            user=None,
            email=user.email,
            meta=_as(actor, meta),
            details={"user_id": str(user.pk)},
        )
        user.delete()


def user_unlock(*, actor: User | None, user: User, meta: RequestContext) -> int:
    """Lifts every lockout of the account, from every address, and forgets its failures.

    Returns the number of attempt records removed (0 when nothing was locked or counting). A superuser's
    lockout is lifted only by a superuser: unlocking it again and again would let a plain staff member
    guess the superuser's password without limit.
    """
    ensure_staff_may_act(actor=actor, user=user, action="unlock", meta=meta)
    with transaction.atomic():
        cleared = lockout.clear_for_account(email=user.email)
        audit_record(event=EventType.UNLOCKED, user=user, meta=_as(actor, meta), details={"attempts_cleared": cleared})
    return cleared


def user_sessions_revoke(*, actor: User | None, user: User, meta: RequestContext) -> int:
    """Ends every live session of the user (the staff's "sign out everywhere"). Returns how many ended."""
    ensure_staff_may_act(actor=actor, user=user, action="revoke_sessions", meta=meta)
    with transaction.atomic():
        return sessions_end_all(
            user=user, reason=Session.EndReason.REVOKED, event=EventType.SESSION_REVOKED, meta=_as(actor, meta)
        )


def session_revoke_by_staff(*, actor: User | None, session: Session, meta: RequestContext) -> None:
    """Ends one session of any user (the admin's sessions page)."""
    ensure_staff_may_act(actor=actor, user=session.user, action="revoke_session", meta=meta)
    session_revoke(session=session, meta=meta)


def user_password_set_by_staff(*, actor: User | None, user: User, password: str | None, meta: RequestContext) -> User:
    """Staff set a user's password (the admin's password form; validated there), or remove it (`password`
    None: no password sign-in until one is set). Every session ends, as after a reset."""
    ensure_staff_may_act(actor=actor, user=user, action="set_password", meta=meta)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not staff_may_act_on(actor=actor, user=locked):  # made a superuser since it was read
            raise ActionRefused(SUPERUSER_ONLY)
        if password is None:
            locked.set_unusable_password()
        else:
            locked.set_password(password)
        locked.save(update_fields=["password"])
        sessions_end_all(
            user=locked,
            reason=Session.EndReason.PASSWORD_RESET,
            event=EventType.PASSWORD_CHANGED,
            meta=_as(actor, meta),
        )
    return locked


def sessions_prune(*, older_than: timedelta) -> int:
    """Deletes sessions that ended or expired more than `older_than` ago. Returns how many were deleted.

    Live sessions are never touched; an ended or expired one is kept for the retention so staff can still
    see the device in the admin after it was signed out.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = Session.objects.filter(
        models.Q(ended_at__lt=cutoff) | models.Q(ended_at__isnull=True, expires_at__lt=cutoff)
    ).delete()
    return deleted
