"""Signed, expiring, single-use links for password reset and email verification."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
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
