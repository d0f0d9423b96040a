"""Rate limits (SPEC section 7): per client address, per email for password reset, per user, shared."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient

from accounts.tests import servers
from accounts.tests.factories import PASSWORD
from accounts.tests.servers import post_json
from config.http.throttling import LoginThrottle, cache_lock

pytestmark = pytest.mark.django_db
app_instances = servers.app_instances  # gunicorn instances on loopback, for the multi-process test

PROXY = "10.0.0.1"


@pytest.fixture
def rates(settings: Any) -> Any:
    """Sets some throttle rates for one test; the throttles read them at each request."""

    def set_rates(**changes: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changes},
        }

    settings.TRUSTED_PROXIES = [PROXY]
    return set_rates


def post(path: str, body: dict[str, Any], *, ip: str = "203.0.113.5", forwarded: str | None = None) -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post(path, body, format="json", **extra)


def login(n: int, **where: Any) -> Any:
    # A different unknown account each time, so the lockout never answers first.
    return post("/api/v1/auth/login", {"email": f"nobody{n}@example.com", "password": "wrong password"}, **where)


def assert_throttled(response: Any, *, within: int) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled"
    assert set(body) == {"detail", "code", "request_id"}
    assert 1 <= int(response["Retry-After"]) <= within


def test_login_is_limited_per_client_address(rates: Any) -> None:
    rates(login="3/min")
    assert [login(n).status_code for n in range(3)] == [401, 401, 401]
    assert_throttled(login(3), within=60)
    assert login(4, ip="198.51.100.7").status_code == 401


def test_a_throttled_login_is_refused_even_with_the_right_password(rates: Any, user: Any) -> None:
    rates(login="2/min")
    login(0)
    login(1)
    response = post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert_throttled(response, within=60)


def test_a_forged_x_forwarded_for_does_not_dodge_the_login_limit(rates: Any) -> None:
    rates(login="2/min")
    login(0)
    login(1)
    assert_throttled(login(2, forwarded="198.51.100.1"), within=60)
    # Through the trusted proxy, a forged hop to the left of the real one changes nothing either.
    login(3, ip=PROXY, forwarded="198.51.100.2")
    login(4, ip=PROXY, forwarded="198.51.100.2")
    assert_throttled(login(5, ip=PROXY, forwarded="1.1.1.1, 198.51.100.2"), within=60)


def test_each_client_of_a_trusted_proxy_has_its_own_login_limit(rates: Any) -> None:
    rates(login="2/min")
    login(0, ip=PROXY, forwarded="198.51.100.1")
    login(1, ip=PROXY, forwarded="198.51.100.1")
    assert_throttled(login(2, ip=PROXY, forwarded="198.51.100.1"), within=60)
    assert login(3, ip=PROXY, forwarded="198.51.100.2").status_code == 401


def test_register_is_limited_per_client_address(rates: Any) -> None:
    rates(register="2/hour")
    for n in range(2):
        body = {"email": f"new{n}@example.com", "password": "a long enough passphrase"}
        assert post("/api/v1/auth/register", body).status_code == 201
    body = {"email": "new9@example.com", "password": "a long enough passphrase"}
    assert_throttled(post("/api/v1/auth/register", body), within=3600)


def test_password_reset_is_limited_per_client_address(rates: Any) -> None:
    rates(password_reset="2/hour")
    for n in range(2):
        assert post("/api/v1/auth/password/reset", {"email": f"a{n}@example.com"}).status_code == 202
    assert_throttled(post("/api/v1/auth/password/reset", {"email": "a9@example.com"}), within=3600)


def test_password_reset_is_limited_per_email_from_any_address(rates: Any) -> None:
    rates(password_reset="2/hour")
    assert post("/api/v1/auth/password/reset", {"email": "ada@example.com"}, ip="198.51.100.1").status_code == 202
    # The same mailbox, written differently, from another address.
    assert post("/api/v1/auth/password/reset", {"email": " ADA@Example.com"}, ip="198.51.100.2").status_code == 202
    response = post("/api/v1/auth/password/reset", {"email": "ada@example.com"}, ip="198.51.100.3")
    assert_throttled(response, within=3600)
    # Another mailbox from that address is fine.
    assert post("/api/v1/auth/password/reset", {"email": "bob@example.com"}, ip="198.51.100.3").status_code == 202


def test_the_per_email_count_is_keyed_on_a_hash_of_the_normalised_email(rates: Any) -> None:
    post("/api/v1/auth/password/reset", {"email": " Ada@Example.com "})
    digest = hashlib.sha256(b"ada@example.com").hexdigest()
    assert len(cache.get(f"throttle_password_reset_email_{digest}")) == 1
    assert cache.get("throttle_password_reset_email_ada@example.com") is None
    assert len(cache.get("throttle_password_reset_203.0.113.5")) == 1


def test_a_password_reset_without_a_usable_email_is_a_400_not_a_count(rates: Any) -> None:
    rates(password_reset="1/hour")
    bodies: list[dict[str, Any]] = [{}, {"email": 42}, {"email": ""}, {"email": "   "}]
    for n, body in enumerate(bodies):
        response = post("/api/v1/auth/password/reset", body, ip=f"198.51.100.{n}")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"


def test_authenticated_requests_are_limited_per_user_across_addresses(rates: Any, user: Any, login_as: Any) -> None:
    rates(user="3/min")
    client = login_as(user)
    assert client.get("/api/v1/auth/me", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert client.get("/api/v1/auth/me", REMOTE_ADDR="198.51.100.2").status_code == 200
    assert client.get("/api/v1/auth/me", REMOTE_ADDR="198.51.100.3").status_code == 200
    assert_throttled(client.get("/api/v1/auth/me", REMOTE_ADDR="198.51.100.4"), within=60)


def test_anonymous_requests_are_limited_per_address(rates: Any) -> None:
    rates(anon="2/min")
    statuses = [post("/api/v1/auth/refresh", {"refresh": "x"}).status_code for _ in range(2)]
    assert statuses == [401, 401]
    assert_throttled(post("/api/v1/auth/refresh", {"refresh": "x"}), within=60)
    assert post("/api/v1/auth/refresh", {"refresh": "x"}, ip="198.51.100.1").status_code == 401


def test_the_counts_live_in_the_shared_cache(rates: Any) -> None:
    login(0)
    login(1)
    assert len(cache.get("throttle_login_203.0.113.5")) == 2


class SlowCache:
    """The shared cache with a network's latency on reads, which is what opens the race."""

    def __getattr__(self, name: str) -> Any:
        return getattr(cache, name)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        value = cache.get(*args, **kwargs)
        time.sleep(0.002)  # the answer travels back while other workers read the same log
        return value


def test_concurrent_hits_are_all_counted(rates: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the per-key lock, workers reading the log at the same moment each write back only their hit.
    rates(login="40/min")
    monkeypatch.setattr(LoginThrottle, "cache", SlowCache())
    request = Request(RequestFactory().post("/api/v1/auth/login", REMOTE_ADDR="203.0.113.9"))
    allowed: list[bool] = []
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(10):
            allowed.append(LoginThrottle().allow_request(request, None))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 40
    assert len(cache.get("throttle_login_203.0.113.9")) == 40


def test_the_cache_lock_is_exclusive_and_released() -> None:
    with cache_lock("some-key:lock") as first:
        assert first
        assert not cache.add("some-key:lock", "x", 1)
    assert cache.add("some-key:lock", "x", 1)


# Two app instances, one Redis -------------------------------------------------------------------------


@pytest.mark.redis
def test_two_app_instances_on_one_redis_count_together(app_instances: Any) -> None:
    # THROTTLE_LOGIN=4/min: alternating, each instance sees only 2 of the first 4 logins, so only a count
    # shared through Redis refuses the 5th.
    ports = app_instances(THROTTLE_LOGIN="4/min", LOCKOUT_FAILURES="100")
    answers = []
    for n in range(6):
        status, body, headers = post_json(
            ports[n % 2], "/api/v1/auth/login", {"email": f"nobody{n}@example.com", "password": "wrong password"}
        )
        answers.append((status, body.get("code"), headers.get("Retry-After")))
    assert [status for status, _, _ in answers[:4]] == [401] * 4
    for status, code, retry_after in answers[4:]:
        assert (status, code) == (429, "throttled")
        assert retry_after is not None
        assert 1 <= int(retry_after) <= 60
