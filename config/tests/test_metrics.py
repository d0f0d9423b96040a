"""GET /metrics in one process: the Prometheus text, the token, and the product's counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from config.http import metrics

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there are none)."""
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name and all(sample.labels.get(key) == wanted for key, wanted in labels.items())
    )


def scrape(authorization: str = "") -> str:
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def test_it_counts_requests_by_view_method_and_status_with_latency_and_queries(auth_client: APIClient) -> None:
    text = scrape()
    requests_before = value(text, "taskdesk_http_requests_total", view="task-list", method="GET", status="200")
    queries_before = value(text, "taskdesk_db_queries_total", view="task-list")

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert auth_client.get(TASKS).status_code == 200
    ran = len(queries)  # read now: the next request resets the connection's query log
    text = scrape()
    assert value(text, "taskdesk_db_queries_total", view="task-list") == queries_before + ran > 0
    assert auth_client.post(TASKS, {"title": ""}, format="json").status_code == 400

    text = scrape()
    labels = {"view": "task-list", "method": "GET"}
    assert value(text, "taskdesk_http_requests_total", **labels, status="200") == requests_before + 3
    assert value(text, "taskdesk_http_requests_total", view="task-list", method="POST", status="400") >= 1
    assert value(text, "taskdesk_http_request_duration_seconds_count", **labels) >= 3
    assert value(text, "taskdesk_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 3
    assert value(text, "taskdesk_http_request_duration_seconds_sum", **labels) > 0


def test_an_unknown_method_and_an_unrouted_path_do_not_mint_labels(api_client: APIClient) -> None:
    api_client.generic("BREW", "/no/such/thing")
    text = scrape()
    assert value(text, "taskdesk_http_requests_total", method="other", status="404") >= 1
    assert not [sample for sample in samples(text) if "BREW" in sample.labels.values()]


def test_without_a_token_configured_it_is_open(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert "taskdesk_http_requests_total" in scrape()


def test_with_a_token_it_wants_it_as_a_bearer_token(settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    client = APIClient()

    missing = client.get("/metrics")
    assert_error(missing, 401, "not_authenticated")
    other_scheme = client.get("/metrics", HTTP_AUTHORIZATION="Basic czNjcmV0")
    assert_error(other_scheme, 401, "not_authenticated")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-tokeN")
    assert_error(wrong, 403, "permission_denied")
    assert_error(client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret"), 403, "permission_denied")

    assert "taskdesk_http_requests_total" in scrape("Bearer s3cret-metrics-token")


def test_it_is_read_only(api_client: APIClient) -> None:
    response = api_client.post("/metrics")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def login(email: str, password: str) -> int:
    response = APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    return response.status_code


def test_it_counts_logins_by_result_and_lockouts(
    user: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.LOCKOUT_FAILURES = 2
    settings.AXES_FAILURE_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        before = scrape()
        assert login(user.email, PASSWORD) == 200
        assert [login(user.email, "wrong password") for _ in range(2)] == [401, 401]
        assert login(user.email, PASSWORD) == 429
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("taskdesk_logins_total", result="succeeded") == 1
    assert grew("taskdesk_logins_total", result="failed") == 2
    assert grew("taskdesk_logins_total", result="locked") == 1
    assert grew("taskdesk_lockouts_total") == 1


def test_it_counts_refresh_reuse_and_ended_sessions_by_reason(
    user: Any, login_as: Callable[..., APIClient], django_capture_on_commit_callbacks: Any
) -> None:
    first, second, third = login_as(user), login_as(user), login_as(user)
    with django_capture_on_commit_callbacks(execute=True):
        before = scrape()
        old = first.tokens["refresh"]  # type: ignore[attr-defined]
        assert APIClient().post("/api/v1/auth/refresh", {"refresh": old}, format="json").status_code == 200
        with pytest.MonkeyPatch.context() as patch:
            # Past the grace window: presenting the rotated token again is reuse.
            patch.setattr("django.conf.settings.REFRESH_GRACE_SECONDS", -1)
            assert APIClient().post("/api/v1/auth/refresh", {"refresh": old}, format="json").status_code == 401
        assert second.post("/api/v1/auth/logout").status_code == 204
        assert third.post("/api/v1/auth/logout/all").status_code == 204
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("taskdesk_refresh_reuse_detected_total") == 1
    assert grew("taskdesk_sessions_revoked_total", reason="reuse_detected") == 1
    assert grew("taskdesk_sessions_revoked_total", reason="logout") == 1
    # The first session had ended already; logout/all ended the third only.
    assert grew("taskdesk_sessions_revoked_total", reason="logout_all") == 1


def test_a_rolled_back_transaction_counts_nothing(user: Any, django_capture_on_commit_callbacks: Any) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        before = value(scrape(), "taskdesk_lockouts_total")
        with pytest.raises(RuntimeError), transaction.atomic():
            metrics.locked_out()
            raise RuntimeError("the change failed")
    assert value(scrape(), "taskdesk_lockouts_total") == before


def collect_queue() -> list[Any]:
    from prometheus_client.core import GaugeMetricFamily

    return [GaugeMetricFamily("taskdesk_jobs_waiting", "Jobs waiting to run.", value=7)]


def collect_broken() -> list[Any]:
    raise RuntimeError("the queue table is not there")


def test_collectors_named_in_settings_are_added_and_a_failing_one_is_skipped(settings: Any) -> None:
    settings.METRICS_COLLECTORS = [f"{__name__}.collect_broken", f"{__name__}.collect_queue"]
    text = scrape()
    assert value(text, "taskdesk_jobs_waiting") == 7
    assert "taskdesk_http_requests_total" in text
