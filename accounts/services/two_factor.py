"""Two-factor sign-in: TOTP enrolment, recovery codes, turning it off, staff resets, key rotation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import fields, mfa
from accounts.models import RecoveryCode, Session, TotpDevice, User
from accounts.services.account import reauthenticate, security_notice
from accounts.services.sessions import mfa_challenges_spend, sessions_end_all
from accounts.services.staff import SUPERUSER_ONLY, as_actor, ensure_staff_may_act, staff_may_act_on
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import ActionRefused, Conflict, MfaInvalid

MFA_NOT_ENABLED = "Two-factor sign-in is not turned on."


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
        security_notice(kind="mfa_enabled", user=locked, meta=meta)
    return codes


def _mfa_remove(*, user: User) -> None:
    """Forgets the user's device and recovery codes; call inside a transaction holding the user row."""
    # Challenges first: a concurrent second step locks its challenge, then the device, in that order too.
    mfa_challenges_spend(user=user)
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
        security_notice(kind="mfa_disabled", user=locked, meta=meta)
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
        security_notice(kind="recovery_codes_regenerated", user=locked, meta=meta)
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
        audit_record(event=EventType.MFA_RESET_BY_STAFF, user=locked, meta=as_actor(actor, meta))
        security_notice(kind="mfa_reset_by_staff", user=locked, meta=meta)
    return True


def mfa_status(*, user: User) -> dict[str, Any]:
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() if user.mfa_enabled else 0
    return {"totp_enabled": user.mfa_enabled, "recovery_codes_left": left}


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
