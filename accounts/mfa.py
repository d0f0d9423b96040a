"""Second-factor codes as plain values: TOTP (RFC 6238 through pyotp), recovery codes and mfa_tokens.

No database here; the services (accounts/services.py) lock the rows and store what these return.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

# RFC 6238 defaults that every authenticator app reads from the otpauth URI: SHA1, 6 digits, 30 s.
DIGITS = 6
PERIOD = 30
# One step either side of now: a phone clock off by up to 30 s, or a code typed as it rolled over.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 24 characters of base32: 120 bits. A stored secret of 112 bits or more may be kept as a plain SHA-256
# (ASVS 5.0 6.5.2): nobody searches a space that large back from a digest in a dump. Codes issued before
# (16 characters, 80 bits) still sign in until the user makes new ones.
_RECOVERY_GROUPS = 6
_RECOVERY_GROUP_LEN = 4
_LEGACY_RECOVERY_LEN = 16
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
MFA_TOKEN_PREFIX = "mfa_"

_SEPARATORS = re.compile(r"[\s-]+")
_TOTP_CODE = re.compile(rf"^[0-9]{{{DIGITS}}}$")
_RECOVERY_CODE = re.compile(
    rf"^(?:[{_RECOVERY_ALPHABET}]{{{_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN}}}"
    rf"|[{_RECOVERY_ALPHABET}]{{{_LEGACY_RECOVERY_LEN}}})$"
)


def new_secret() -> str:
    """A 160-bit base32 secret, as RFC 4226 recommends for HMAC-SHA1."""
    return pyotp.random_base32(length=32)


def provisioning_uri(*, secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=email, issuer_name=issuer)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD


def matching_step(*, secret: str, code: str, at: datetime, after_step: int | None) -> int | None:
    """The time step (now, or one either side) whose code is `code`, if later than `after_step`; else None.

    Refusing steps up to `after_step` (the last accepted one) makes every code single use, and also refuses
    an older code after a newer one was used.
    """
    if not _TOTP_CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now = time_step(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def normalize_code(raw: str) -> str:
    """What the user typed, without spaces or dashes, in lower case (recovery codes are shown grouped)."""
    return _SEPARATORS.sub("", raw).lower()


def is_totp_code(code: str) -> bool:
    return bool(_TOTP_CODE.match(code))


def is_recovery_code(code: str) -> bool:
    return bool(_RECOVERY_CODE.match(code))


def new_recovery_codes() -> list[str]:
    """Ten fresh codes, shown grouped (`abcd-efgh-ijkl-mnop-qrst-uvwx`); any spacing or case is accepted back."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LEN))
        codes.append("-".join(raw[i : i + _RECOVERY_GROUP_LEN] for i in range(0, len(raw), _RECOVERY_GROUP_LEN)))
    return codes


def digest(value: str) -> str:
    """SHA-256 of a high-entropy value (a normalised recovery code, an mfa_token): enough, no salt needed."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_mfa_token() -> str:
    return MFA_TOKEN_PREFIX + secrets.token_urlsafe(32)
