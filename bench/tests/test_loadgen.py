"""The Python load generator of `make bench` (the fallback when wrk is missing) against a running server, for a
second or so, so that it does not rot: what it counts, and that its refresh chains never present a token twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from accounts.models import Session
from accounts.services.sessions import session_open
from audit.context import SYSTEM
from audit.models import Event, EventType
from bench.loadgen import Load, drive, parse_wrk, percentile

pytestmark = pytest.mark.django_db(transaction=True)


def load_for(live_server: Any, path: str, **extra: Any) -> Load:
    url = urlparse(live_server.url)
    return Load(url.hostname or "127.0.0.1", url.port or 80, path, **extra)


@pytest.fixture
def unthrottled(settings: Any) -> None:
    # The generator is one client address sending as fast as it can: the anonymous limit would answer 429.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "anon": "1000000/min", "user": "1000000/min"},
    }


def test_it_measures_an_endpoint_of_a_running_server(live_server: Any, user: Any, unthrottled: None) -> None:
    _, pair = session_open(user=user, meta=SYSTEM)
    load = load_for(live_server, "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair.access}"})

    result = drive(load, driver="python", seconds=1.5, connections=4)

    assert result.driver == "python"
    assert result.requests >= 10
    assert result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.rps == pytest.approx(result.requests / result.seconds, rel=0.01)


def test_it_counts_answers_outside_2xx_and_3xx_as_errors(live_server: Any, unthrottled: None) -> None:
    result = drive(load_for(live_server, "/api/v1/auth/me"), driver="python", seconds=1, connections=2)

    assert result.requests >= 2
    assert result.errors == result.requests  # 401 without a token


def test_its_refresh_chains_rotate_without_ever_reusing_a_token(
    live_server: Any, user: Any, unthrottled: None, settings: Any
) -> None:
    # No grace window: a token presented a second time is reuse at once, whenever it comes.
    settings.REFRESH_GRACE_SECONDS = 0
    # One chain: the in-memory SQLite database of the live server takes one write at a time.
    _, pair = session_open(user=user, meta=SYSTEM)
    load = load_for(live_server, "/api/v1/auth/refresh", method="POST", refresh_tokens=(pair.refresh,))

    result = drive(load, driver="python", seconds=1.5, connections=1)

    assert result.requests >= 4
    assert result.errors == 0
    # A token presented twice would have ended the session and been logged as reuse.
    assert Session.objects.filter(user=user, ended_at__isnull=True).count() == 1
    assert not Event.objects.filter(event=EventType.REFRESH_REUSE_DETECTED).exists()


def test_it_reads_what_wrk_prints() -> None:
    output = """Running 15s test @ http://127.0.0.1:8000/api/v1/tasks/
  2 threads and 32 connections
  Latency Distribution
     50%    9.87ms
     75%   12.01ms
     90%   15.50ms
     99%    1.02s
  24000 requests in 15.01s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1598.93
"""
    assert parse_wrk(output) == (24000, 15.01, 1598.93, 9.87, 1020.0, 7)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([], 0.5)) == (50.0, 99.0, 0.0)
