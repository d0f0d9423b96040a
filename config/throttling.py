"""Rate limits, counted in the shared cache (Redis when REDIS_URL is set) by the trusted client address.

Every throttle here keeps DRF's sliding log (the timestamps of the hits inside the window) in
`django.core.cache`, so with Redis all gunicorn workers and all app instances count together. The rates are
the `THROTTLE_*` settings (SPEC section 7), read when a throttle is built so settings overrides take effect.

The scoped throttles that guard sign-in, sign-up and password reset also serialise the read-modify-write of
one key's log with a short lock in the same cache: without it, two workers reading the log at the same
moment would each write back their own hit and one would be lost, letting a burst through.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from django.core.cache import cache as default_cache
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.net import client_ip

# A lock is held for one cache read and one write; these bound a stuck holder and a waiting request.
LOCK_TIMEOUT_SECONDS = 2
LOCK_WAIT_SECONDS = 0.5


@contextmanager
def cache_lock(key: str, *, cache: Any = default_cache) -> Iterator[bool]:
    """A best-effort mutex in the shared cache (`add` is SET NX on Redis). Yields whether it was taken.

    After LOCK_WAIT_SECONDS the caller goes ahead unlocked: a crashed holder must not stall sign-ins, and
    the lock only narrows a race, it is not what enforces the limit.
    """
    token = secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    acquired = cache.add(key, token, LOCK_TIMEOUT_SECONDS)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.005)
        acquired = cache.add(key, token, LOCK_TIMEOUT_SECONDS)
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


class _Rates:
    """Reads the rate of `scope` from the current REST_FRAMEWORK settings, not the import-time copy."""

    scope: str | None

    def get_rate(self) -> str | None:
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or ""))


class _ClientAddressMixin:
    def get_ident(self, request: Request) -> str:
        return client_ip(request._request)


class _AlwaysWait:
    """DRF answers `None` (no Retry-After) when a log holds more hits than the rate; say when one frees."""

    def wait(self) -> float | None:
        waited = super().wait()  # type: ignore[misc]
        if waited is not None:
            return waited  # type: ignore[no-any-return]
        history = getattr(self, "history", None)
        if not history:
            return float(self.duration)  # type: ignore[attr-defined]
        return max(1.0, self.duration - (self.now - history[-1]))  # type: ignore[attr-defined]


class _SerializedHistory:
    """One key's log is read and written under `cache_lock`, so concurrent hits are all counted."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:  # type: ignore[attr-defined]
            return True
        key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if key is None:
            return True
        with cache_lock(f"{key}:lock", cache=self.cache):  # type: ignore[attr-defined]
            return super().allow_request(request, view)  # type: ignore[misc, no-any-return]


class AnonRateThrottle(_AlwaysWait, _Rates, _ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_AlwaysWait, _Rates, _ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedAddressThrottle(
    _SerializedHistory, _AlwaysWait, _Rates, _ClientAddressMixin, throttling.SimpleRateThrottle
):
    """One scope's rate per client address, whether or not the caller is signed in."""

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(ScopedAddressThrottle):
    scope = "login"


class RegisterThrottle(ScopedAddressThrottle):
    scope = "register"


class PasswordResetThrottle(ScopedAddressThrottle):
    scope = "password_reset"


class PasswordResetEmailThrottle(_SerializedHistory, _AlwaysWait, _Rates, throttling.SimpleRateThrottle):
    """The `password_reset` rate per email address, from any number of client addresses.

    Keyed on the normalised email of the body (hashed, so no address sits in the cache's key space), which
    stops one mailbox being flooded with reset emails through many addresses. A body without a usable email
    is not counted here; the serializer answers it with a 400.
    """

    scope = "password_reset"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        from accounts.models import normalize_email  # Not at import: DRF loads throttles with its settings.

        data = request.data
        raw = data.get("email") if isinstance(data, Mapping) else None
        email = normalize_email(raw) if isinstance(raw, str) else ""
        if not email:
            return None
        digest = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": "password_reset_email", "ident": digest}
