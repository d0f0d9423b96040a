"""With REDIS_URL pointing at nothing: the rate limits count per process, with a warning; nothing answers 500.

The same in one process, without a Redis server: the black-box version, a cut under load through a proxy,
is test_redis_outage.py.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from config.http import throttling
from config.tests.test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def nothing_listening() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_down(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = nothing_listening()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }
    # A fresh fallback: no skip window and no counts left by another test.
    monkeypatch.setattr(throttling, "fallback", throttling.RedisFallback())
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": settings.REDIS_CLIENT_OPTIONS,
        }
    }
    # Inside the test only: the cache is cleared after each test, and this one would refuse.
    with override_settings(REDIS_URL=url, CACHES=caches):
        yield


def login(password: str) -> Any:
    return APIClient().post("/api/v1/auth/login", {"email": "owner@example.com", "password": password}, format="json")


def test_requests_answer_and_the_limits_count_per_process(
    user: Any, login_as: Any, redis_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    errors_before = value(scrape(), "taskdesk_redis_errors_total", use="throttle")
    with caplog.at_level(logging.WARNING, logger="taskdesk.throttling"):
        client = login_as(user)
        assert client.get("/api/v1/tasks/").status_code == 200
        assert client.post("/api/v1/tasks/", {"title": "still works"}, format="json").status_code == 201
        assert client.post("/api/v1/auth/logout").status_code == 204
        assert_error(client.get("/api/v1/tasks/"), 401, "token_invalid")
        # The login limit (3/min here) still holds, counted in this process: the 4th login is refused.
        assert [login("wrong password").status_code for _ in range(2)] == [401, 401]
        assert_error(login(PASSWORD), 429, "throttled")

    assert "Redis unavailable" in caplog.text
    assert value(scrape(), "taskdesk_redis_errors_total", use="throttle") > errors_before


def test_after_a_failure_redis_is_skipped_for_a_moment_then_tried_again(
    monkeypatch: pytest.MonkeyPatch, redis_down: None
) -> None:
    fallback = throttling.fallback
    clock = [1000.0]
    monkeypatch.setattr(throttling.time, "monotonic", lambda: clock[0])
    assert fallback.shared_usable()
    fallback.failed(ConnectionError("refused"))
    assert not fallback.shared_usable()
    clock[0] += fallback.RETRY_SECONDS
    assert fallback.shared_usable()


def test_the_health_check_of_the_cache_answers_503_with_retry_after(api_client: APIClient, redis_down: None) -> None:
    response = api_client.get("/health/cache")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"]["cache"]["error"] == "ConnectionError"


def test_anything_else_that_needs_redis_answers_503_not_500(
    auth_client: APIClient, redis_down: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    def needs_redis(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("tasks.views.tasks.TaskListView.get", needs_redis)
    response = auth_client.get("/api/v1/tasks/")
    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
