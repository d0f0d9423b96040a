"""Signing up and in: the lockout, the password, the second factor's challenge, then a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import fields, lockout, mfa
from accounts.backends import EmailBackend
from accounts.models import MfaChallenge, RecoveryCode, TotpDevice, User, normalize_email
from accounts.services.account import send_verification, validate_new_password
from accounts.services.sessions import session_open
from accounts.tokens import TokenPair
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http import metrics
from config.http.errors import AccountLocked, Conflict, InvalidCredentials, MfaInvalid, TokenInvalid

# The API login checks passwords with the backend directly: the lockout is counted here, with plain values,
# not by axes' signal handlers reading the request (those serve the admin's login form).
_login_backend = EmailBackend()


def user_register(*, email: str, password: str, full_name: str = "", meta: RequestContext) -> tuple[User, TokenPair]:
    email = normalize_email(email)
    candidate = User(email=email, full_name=full_name)
    validate_new_password(password, user=candidate, field="password")
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
            send_verification(user=candidate, meta=meta)
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
        # Conditional: a deactivation or a password change or reset that committed since the credentials were
        # checked ended every session under the user's row lock; this UPDATE waits for that lock, then finds
        # the row changed, and no session opens behind it (it would live again on reactivation, or outlive the
        # password it was opened with).
        still = User.objects.filter(pk=user.pk, is_active=True, password=user.password)
        if not still.update(last_login=user.last_login):
            raise InvalidCredentials()
        session, pair = session_open(user=user, meta=meta)
        audit_record(
            event=EventType.LOGIN_SUCCEEDED,
            user=user,
            meta=meta.acting_as(user),
            details={"session_id": str(session.pk), **(details or {})},
        )
        metrics.login_succeeded()
    return pair


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
            _second_factor_passed(user=user, method=method, meta=meta)
            return user, _login_complete(user=user, meta=meta, details={"mfa_method": method})
        challenge.failures += 1
        if challenge.failures >= lockout.failure_limit():
            challenge.used_at = now
        challenge.save(update_fields=["failures", "used_at"])
    _mfa_failure(user=user, meta=meta)


def _second_factor_passed(*, user: User, method: str, meta: RequestContext, **details: str) -> None:
    actor_meta = meta.acting_as(user)
    audit_record(
        event=EventType.MFA_CHALLENGE_PASSED, user=user, meta=actor_meta, details={"method": method, **details}
    )
    if method == "recovery_code":
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit_record(event=EventType.RECOVERY_CODE_USED, user=user, meta=actor_meta, details={"left": left})


def second_factor_verify(*, user: User, code: str, meta: RequestContext, via: str) -> str:
    """The second factor of a sign-in that is not the API's two steps (`via`: the admin's sign-in form, whose
    password axes has already checked): the code is spent, or the failure counts toward the lockout exactly
    like a wrong code at `login/mfa` (401 `mfa_invalid`, then 429 `account_locked`). Answers the method."""
    state = lockout.lock_state(email=user.email, ip_address=meta.ip_address)
    if state.locked:
        raise AccountLocked(retry_after=state.retry_after)
    with transaction.atomic():
        method = _second_factor_check(user=user, code=code)
        if method is not None:
            _second_factor_passed(user=user, method=method, meta=meta, via=via)
            return method
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


def mfa_challenges_prune(*, older_than: timedelta) -> int:
    """Deletes login second steps that expired more than `older_than` ago (spent or not)."""
    deleted, _ = MfaChallenge.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
