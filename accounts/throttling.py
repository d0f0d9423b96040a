"""Rate limits that need to know what an email is: password resets per mailbox, email changes per account."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from rest_framework import throttling
from rest_framework.request import Request

from accounts.models import normalize_email
from config.http.throttling import _AlwaysWait, _Rates, _SerializedHistory


class PasswordResetEmailThrottle(_SerializedHistory, _AlwaysWait, _Rates, throttling.SimpleRateThrottle):
    """The `password_reset` rate per email address, from any number of client addresses.

    Keyed on the normalised email of the body (hashed, so no address sits in the cache's key space), which
    stops one mailbox being flooded with reset emails through many addresses. A body without a usable email
    is not counted here; the serializer answers it with a 400.
    """

    scope = "password_reset"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        data = request.data
        raw = data.get("email") if isinstance(data, Mapping) else None
        email = normalize_email(raw) if isinstance(raw, str) else ""
        if not email:
            return None
        digest = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": "password_reset_email", "ident": digest}


class EmailChangeThrottle(_SerializedHistory, _AlwaysWait, _Rates, throttling.SimpleRateThrottle):
    """The `password_reset` rate for email change requests, per account: each one mails an address the caller
    chose, so a signed-in user must not turn it into a way of flooding a stranger's mailbox."""

    scope = "password_reset"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        user = request.user
        if not (user and user.is_authenticated):
            return None
        return self.cache_format % {"scope": "email_change", "ident": str(user.pk)}
