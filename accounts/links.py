"""Signed, expiring, single-use links for password reset, email verification and email change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import User


class _ExpiringTokenGenerator(PasswordResetTokenGenerator):
    timeout_seconds = 60 * 60

    def check_token(self, user: Any, token: str | None) -> bool:
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                break
        else:
            return False
        return (self._num_seconds(self._now()) - ts) <= self.timeout_seconds


class PasswordResetTokens(_ExpiringTokenGenerator):
    """Valid PASSWORD_RESET_TIMEOUT seconds (one hour); dead once used, because the hash covers the password
    hash and last login."""

    key_salt = "taskdesk.accounts.password_reset"

    @property
    def timeout_seconds(self) -> int:  # type: ignore[override]
        return int(settings.PASSWORD_RESET_TIMEOUT)


class EmailVerificationTokens(_ExpiringTokenGenerator):
    """Valid three days; dead once used, because the hash covers the verified flag and the address."""

    key_salt = "taskdesk.accounts.email_verification"
    timeout_seconds = 3 * 24 * 60 * 60

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.email_verified}{timestamp}"


password_reset_tokens = PasswordResetTokens()
email_verification_tokens = EmailVerificationTokens()


def encode_uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(str(user.pk)))


def user_from_uid(uid: str) -> User | None:
    try:
        pk = force_str(urlsafe_base64_decode(uid))
        return User.objects.get(pk=pk)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        return None


# An email change link must name the new address (nothing is stored until it is confirmed), so it is a signed
# object rather than a PasswordResetTokenGenerator hash: {user id, address it changes from, address it changes
# to}, timestamped. It dies once used (the account no longer has the address it changes from), when another
# change is confirmed first, and an hour after it was made.
EMAIL_CHANGE_TIMEOUT_SECONDS = 60 * 60
_email_change_signer = signing.TimestampSigner(salt="taskdesk.accounts.email_change")


def email_change_token(user: User, new_email: str) -> str:
    return _email_change_signer.sign_object({"u": str(user.pk), "from": user.email, "to": new_email}, compress=True)


def email_change_target(user: User, token: str) -> str | None:
    """The address a valid, unexpired, unused change link of `user` changes to; None for any other token."""
    try:
        payload = _email_change_signer.unsign_object(token, max_age=EMAIL_CHANGE_TIMEOUT_SECONDS)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("u") != str(user.pk) or payload.get("from") != user.email:
        return None
    target = payload.get("to")
    return target if isinstance(target, str) and target else None
