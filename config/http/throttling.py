"""Rate limits, counted in the shared cache (Redis when REDIS_URL is set) by the trusted client address.

The per-user and per-address limits, checked on every request, count hits in fixed windows, a block of hits
per atomic increment (`_WindowCounter`). The sign-in, sign-up and password reset limits keep DRF's sliding log
(the timestamps of the hits inside the window) in `django.core.cache`. With Redis, all gunicorn workers and
all app instances count together either way. The rates are
the `THROTTLE_*` settings (SPEC section 7), read when a throttle is built so settings overrides take effect.

The scoped throttles that guard sign-in, sign-up and password reset also serialise the read-modify-write of
one key's log with a short lock in the same cache: without it, two workers reading the log at the same
moment would each write back their own hit and one would be lost, letting a burst through.

When Redis cannot be reached, a rate limit is no reason to refuse a request (and a logout refused is a
session left live): the limits fall back to counting in the process (`RedisFallback`), with a warning in the
log and `taskdesk_redis_errors_total` counting, and try Redis again a second later. Meanwhile each worker
counts on its own, so a client may get up to (workers x instances) times its rate; lockouts, sessions and
revocation live in the database and do not depend on Redis at all.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.http import metrics
from config.http.net import client_ip

logger = logging.getLogger("taskdesk.throttling")

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


class RedisFallback:
    """Which counts the limits use: the shared cache, or this process's own while Redis is failing.

    After a failure the process skips Redis for RETRY_SECONDS instead of paying a timeout on every request,
    then tries again: service comes back by itself, without a restart.
    """

    RETRY_SECONDS = 1.0

    def __init__(self) -> None:
        self._skip_until = 0.0
        self.local = LocMemCache("taskdesk-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})

    def shared_usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now >= self._skip_until:
            logger.warning(
                "Redis unavailable (%s: %s): rate limits count per process for %.0fs",
                exc.__class__.__name__,
                exc,
                self.RETRY_SECONDS,
            )
        self._skip_until = now + self.RETRY_SECONDS
        metrics.redis_error(use="throttle")

    def cache(self) -> Any:
        return default_cache if self.shared_usable() else self.local


fallback = RedisFallback()


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

    cache: Any

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:  # type: ignore[attr-defined]
            return True
        key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if key is None:
            return True
        self.cache = fallback.cache()
        try:
            return self._allow_locked(key, request, view)
        except RedisError as exc:
            fallback.failed(exc)
            self.cache = fallback.local
            return self._allow_locked(key, request, view)

    def _allow_locked(self, key: str, request: Request, view: Any) -> bool:
        with cache_lock(f"{key}:lock", cache=self.cache):
            return super().allow_request(request, view)  # type: ignore[misc, no-any-return]


class _WindowCounter:
    """Fixed-window counts shared through Redis, taken a block of hits at a time.

    The per-user and per-address limits run on every request. A process takes a lease of consecutive hit
    numbers in the current window with one INCRBY + EXPIRE (several workers and instances count together, and
    no hit can be lost between a read and a write) and admits its next requests from the lease, without a round
    trip, until the lease is used up. A number past the limit is refused, so all processes together never admit
    more than the limit in a window. A lease is 1/LEASE_SHARE of what this process last saw left of the limit,
    and at least one hit: under 2 x LEASE_SHARE every hit is a round trip, as a plain counter; near the limit
    leases shrink to one hit, so what other processes hold unused when a client reaches its limit (the hits it
    may find refused early) stays a small fraction of it. Without Redis the in-process cache's atomic `incr`
    does the same for the one process it serves.
    """

    LEASE_SHARE = 64
    _MAX_LEASES = 10_000

    def __init__(self) -> None:
        # key -> [window index, next number to admit, last number leased, the window's total when leased]
        self._leases: dict[str, list[int]] = {}

    def forget(self) -> None:
        """Drops this process's leases (the counts in the cache stay)."""
        self._leases.clear()

    def hit(self, key: str, *, window: int, limit: int) -> tuple[bool, float]:
        """Counts one hit on `key` against `limit`; returns (admitted, seconds until the window ends)."""
        now = time.time()
        index = int(now // window)
        left = (index + 1) * window - now
        lease = self._leases.get(key)
        if lease is not None and lease[0] == index and lease[1] <= lease[2]:
            lease[1] += 1
            return True, left
        seen = lease[3] if lease is not None and lease[0] == index else 0
        size = max(1, (limit - seen) // self.LEASE_SHARE)
        total, size = self._count(f"{key}:{index}", size, window + 1)
        first = total - size + 1
        if len(self._leases) >= self._MAX_LEASES:
            self._leases.clear()
        self._leases[key] = [index, first + 1, min(total, limit), total]
        return first <= limit, left

    def _count(self, bucket: str, size: int, ttl: int) -> tuple[int, int]:
        """Adds `size` hits to `bucket`; returns (its new total, the hits added). While Redis is failing, one hit
        at a time in this process's own count: no lease outlives the outage."""
        client = _redis()
        if client is None:
            return self._count_in(default_cache, bucket, size, ttl), size
        if fallback.shared_usable():
            try:
                pipe = client.pipeline(transaction=False)
                pipe.incrby(bucket, size)
                pipe.expire(bucket, ttl)
                return int(pipe.execute()[0]), size
            except RedisError as exc:
                fallback.failed(exc)
        return self._count_in(fallback.local, bucket, 1, ttl), 1

    @staticmethod
    def _count_in(cache: Any, bucket: str, size: int, ttl: int) -> int:
        cache.add(bucket, 0, ttl)
        try:
            return int(cache.incr(bucket, size))
        except ValueError:  # expired between add and incr
            cache.set(bucket, size, ttl)
            return size


@functools.cache
def _redis_for(url: str) -> Any:
    import redis

    # One pool per process; redis-py resets it in a forked worker. Short timeouts (and no retries, redis-py's
    # default for a URL) so an unreachable Redis costs a request a fraction of a second, once a second.
    return redis.Redis.from_url(url, **settings.REDIS_CLIENT_OPTIONS)


def _redis() -> Any:
    url = settings.REDIS_URL
    return _redis_for(url) if url else None


class _WindowRateThrottle(_Rates, _ClientAddressMixin, throttling.SimpleRateThrottle):
    counter = _WindowCounter()
    # Set by SimpleRateThrottle.__init__ from the parsed rate.
    duration: int
    num_requests: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        allowed, self._seconds_left = self.counter.hit(key, window=self.duration, limit=self.num_requests)
        return allowed

    def wait(self) -> float:
        return max(1.0, self._seconds_left)


class AnonRateThrottle(_WindowRateThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if request.user and request.user.is_authenticated:
            return None  # counted per user instead
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(_WindowRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: object) -> str:
        ident = str(request.user.pk) if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


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
