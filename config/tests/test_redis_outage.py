"""Redis cut under load, through a proxy between gunicorn and Redis: nothing answers 500, nothing is lost.

Rate limits fall back to per-process counts; sign-ins, lockouts, sessions and revocation live in the
database and keep working; what needs Redis itself (/health/cache) answers 503 with Retry-After; and when
Redis returns, the limits count in it again without a restart.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import pytest
import redis
from django.conf import settings

from accounts.tests import servers
from accounts.tests.servers import call
from config.tests.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.redis
gunicorn_server = servers.gunicorn_server

PASSWORD = "a long passphrase"
# An outage must cost a request at most a read timeout (0.5 s) on top of its own time.
SLOW = 2.0


def proxied(url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


class Load:
    """Lists tasks in a loop from a thread, recording each status and duration, until stopped (or 3,000)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.results: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.results) < 3000:
            started = time.monotonic()
            status, _, _ = call(self.port, "GET", "/api/v1/tasks/", token=self.token)
            self.results.append((status, time.monotonic() - started))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def timed(port: int, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> tuple[int, Any, Any]:
    started = time.monotonic()
    status, answer, headers = call(port, method, path, body, **kw)
    assert time.monotonic() - started < SLOW, f"{method} {path} took {time.monotonic() - started:.2f}s"
    assert status != 500, answer
    return status, answer, headers


def test_a_redis_outage_degrades_the_rate_limits_and_loses_nothing(gunicorn_server: Any, tmp_path: Any) -> None:
    real = redis.Redis.from_url(settings.REDIS_URL)
    host, port = urllib.parse.urlsplit(settings.REDIS_URL).hostname, urllib.parse.urlsplit(settings.REDIS_URL).port
    with tcp_proxy(host or "127.0.0.1", port or 6379) as proxy:
        app, _ = gunicorn_server(workers=2, REDIS_URL=proxied(settings.REDIS_URL, proxy.port), THROTTLE_LOGIN="60/min")

        status, ada, _ = call(app, "POST", "/api/v1/auth/register", {"email": "ada@example.com", "password": PASSWORD})
        assert status == 201, ada
        status, phone, _ = call(app, "POST", "/api/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD})
        assert status == 200, phone
        assert call(app, "POST", "/api/v1/auth/register", {"email": "bob@example.com", "password": PASSWORD})[0] == 201

        with Load(app, ada["access"]) as load:
            time.sleep(0.3)
            proxy.cut()
            time.sleep(0.3)

            # The API keeps working: reads, writes, tokens, sign-ins.
            assert timed(app, "GET", "/api/v1/tasks/", token=ada["access"])[0] == 200
            assert timed(app, "POST", "/api/v1/tasks/", {"title": "during the outage"}, token=ada["access"])[0] == 201
            status, rotated, _ = timed(app, "POST", "/api/v1/auth/refresh", {"refresh": ada["refresh"]})
            assert status == 200, rotated
            assert timed(app, "POST", "/api/v1/auth/password/reset", {"email": "ada@example.com"})[0] == 202
            # A logout is not lost: the session ends now, in the database.
            assert timed(app, "POST", "/api/v1/auth/logout", token=phone["access"])[0] == 204
            assert timed(app, "GET", "/api/v1/auth/me", token=phone["access"])[0] == 401
            # Failed logins are counted (in the database) and lock the account for this address.
            wrong = {"email": "bob@example.com", "password": "not the password"}
            assert [timed(app, "POST", "/api/v1/auth/login", wrong)[0] for _ in range(5)] == [401] * 5
            status, locked, headers = timed(
                app, "POST", "/api/v1/auth/login", {"email": "bob@example.com", "password": PASSWORD}
            )
            assert (status, locked["code"]) == (429, "account_locked") and int(headers["Retry-After"]) > 0
            # What needs Redis says so: 503 with Retry-After, not 500.
            status, health, headers = timed(app, "GET", "/health/cache")
            assert status == 503 and health["checks"]["cache"]["status"] == "error" and headers["Retry-After"]
            assert timed(app, "GET", "/health/db")[0] == 200

            # A network that drops packets instead of refusing them costs at most a timeout, now and then.
            proxy.cut(blackhole=True)
            for _ in range(5):
                assert timed(app, "GET", "/api/v1/tasks/", token=ada["access"])[0] == 200
                time.sleep(0.2)

            proxy.restore()
            deadline = time.monotonic() + 10
            while call(app, "GET", "/health/cache")[0] != 200:
                assert time.monotonic() < deadline, "the cache did not come back without a restart"
                time.sleep(0.1)
            time.sleep(1.2)  # every worker tries Redis again a second after its last failure

        assert load.results, "the load ran no request"
        statuses = {status for status, _ in load.results}
        assert statuses == {200}, statuses
        assert max(duration for _, duration in load.results) < SLOW

        # After: the logout held, the rotated refresh token is the one in force, the lock holds.
        assert call(app, "GET", "/api/v1/auth/me", token=phone["access"])[0] == 401
        assert call(app, "POST", "/api/v1/auth/refresh", {"refresh": phone["refresh"]})[0] == 401
        assert call(app, "POST", "/api/v1/auth/refresh", {"refresh": rotated["refresh"]})[0] == 200
        wrong_again = call(app, "POST", "/api/v1/auth/login", {"email": "bob@example.com", "password": PASSWORD})
        assert wrong_again[0] == 429
        # The rate limits count in Redis again: once each worker has used up what it leased (at most 1000 // 64
        # hits of the default user limit; config/http/throttling.py), the next hits are leased from Redis.
        real.delete(*real.keys("throttle_user_*") or ["none"])
        for _ in range(2 * (1000 // 64) + 2):
            assert call(app, "GET", "/api/v1/tasks/", token=ada["access"])[0] == 200
        assert real.keys("throttle_user_*")

    log = (tmp_path / "gunicorn.log").read_text()
    assert "Redis unavailable" in log
    assert "Traceback" not in log
