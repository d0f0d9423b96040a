"""The per-user and per-address limits count in blocks (config/http/throttling.py, `_WindowCounter`): a process
leases hit numbers from the shared count and admits from its lease without a round trip. Several processes
(here, several counters on the same cache: Redis when REDIS_URL is set) never admit more than the limit
together, and small limits are counted hit by hit."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from config.http.throttling import UserRateThrottle, _WindowCounter

pytestmark = pytest.mark.django_db


def admitted(counters: list[_WindowCounter], hits: int, *, limit: int, key: str = "k") -> list[bool]:
    """`hits` hits spread over the counters in turn (requests landing on several workers)."""
    turn = itertools.cycle(counters)
    return [next(turn).hit(key, window=60, limit=limit)[0] for _ in range(hits)]


@pytest.mark.parametrize("processes", [1, 2, 4])
def test_small_limits_are_exact_whatever_the_processes(processes: int) -> None:
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        answers = admitted([_WindowCounter() for _ in range(processes)], 150, limit=100)
    assert answers == [True] * 100 + [False] * 50


@pytest.mark.parametrize("processes", [1, 2, 4])
def test_leased_hits_never_exceed_the_limit_and_few_are_lost(processes: int) -> None:
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        answers = admitted([_WindowCounter() for _ in range(processes)], 1500, limit=1000)
    assert sum(answers) <= 1000
    # What the other processes held unused when the limit was reached: never more than one lease each, and a
    # lease is at most 1000 // 64 = 15 hits.
    assert answers[: 1000 - processes * 15] == [True] * (1000 - processes * 15)
    assert sum(answers) >= 1000 - (processes - 1) * 15


def test_one_process_admits_exactly_its_limit() -> None:
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        assert sum(admitted([_WindowCounter()], 7000, limit=6400)) == 6400


def test_a_lease_saves_the_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = _WindowCounter()
    trips: list[int] = []
    real = counter._count

    def counting(bucket: str, size: int, ttl: int) -> tuple[int, int]:
        trips.append(size)
        return real(bucket, size, ttl)

    monkeypatch.setattr(counter, "_count", counting)
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        assert all(admitted([counter], 300, limit=6400))
    # 6400 // 64 = 100 hits, then 1/64 of what is left: 4 round trips for 300 hits.
    assert trips == [100, 98, 96, 95]


def test_a_new_window_starts_a_new_count() -> None:
    counter = _WindowCounter()
    start = timezone.now().replace(second=1)
    with time_machine.travel(start, tick=False):
        assert sum(admitted([counter], 5, limit=3)) == 3
    with time_machine.travel(start + timedelta(seconds=58), tick=False):
        assert admitted([counter], 1, limit=3) == [False]
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert sum(admitted([counter], 5, limit=3)) == 3


def test_the_user_limit_answers_429_from_a_lease_too(settings: Any, user: Any, login_as: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "130/min"},
    }
    with time_machine.travel(timezone.now().replace(second=1), tick=True):
        client = login_as(user)  # its token issued in the travelled time
        statuses = [client.get("/api/v1/auth/me").status_code for _ in range(135)]
    assert statuses == [200] * 130 + [429] * 5
    assert UserRateThrottle.counter.LEASE_SHARE == 64
