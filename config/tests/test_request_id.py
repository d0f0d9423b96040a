"""X-Request-ID: echoed when sent and sane, generated otherwise, on every response, in bodies, audit and logs."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD
from audit.models import Event, EventType
from config.http.logging import RequestIDFilter

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    "request_id",
    ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:span.1_x", "A" * 128],
)
def test_a_sane_request_id_is_echoed(api_client: APIClient, request_id: str) -> None:
    response = api_client.get("/health", HTTP_X_REQUEST_ID=request_id)

    assert response["X-Request-ID"] == request_id


def test_one_is_generated_when_none_is_sent(api_client: APIClient) -> None:
    first = api_client.get("/health")["X-Request-ID"]
    second = api_client.get("/health")["X-Request-ID"]

    assert GENERATED.match(first) and GENERATED.match(second)
    assert first != second


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "A" * 129,
        "has spaces",
        "semi;colon",
        "new\nline",
        "trailing-newline\n",
        "\r\nInjected-Header: yes",
        "caf\u00e9",
        "<script>",
        "a,b",
    ],
)
def test_a_junk_request_id_is_replaced_never_echoed_and_never_a_500(api_client: APIClient, junk: str) -> None:
    response = api_client.get("/api/v1/auth/me", HTTP_X_REQUEST_ID=junk)

    assert response.status_code == 401
    assert GENERATED.match(response["X-Request-ID"])
    assert response.json()["request_id"] == response["X-Request-ID"]
    assert "Injected-Header" not in response


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/health", {}),
        ("GET", "/api/v1/auth/me", {}),
        ("GET", "/no/such/route", {}),
        ("POST", "/no/such/route", {}),
        ("GET", "/api/v1/auth/login", {}),
        ("POST", "/api/v1/auth/login", {"data": "{", "content_type": "application/json"}),
        ("POST", "/api/v1/auth/login", {"data": "x=1", "content_type": "text/plain"}),
        ("POST", "/api/v1/auth/login", {"data": "x" * 2_000_000, "content_type": "application/json"}),
        ("GET", "/api/schema/", {}),
        ("GET", "/api/docs/", {}),
    ],
)
def test_every_response_carries_it_and_error_bodies_repeat_it(method: str, path: str, kwargs: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.generic(method, path, **kwargs, HTTP_X_REQUEST_ID="req-42")

    assert response["X-Request-ID"] == "req-42"
    if response.status_code >= 400:
        assert response.json()["request_id"] == "req-42"


def test_the_audit_log_records_the_request_id(api_client: APIClient, user: User) -> None:
    api_client.post(
        "/api/v1/auth/login",
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_REQUEST_ID="login-req-1",
    )

    assert Event.objects.get(event=EventType.LOGIN_SUCCEEDED).request_id == "login-req-1"


def test_the_request_log_line_carries_it(api_client: APIClient, caplog: Any) -> None:
    caplog.handler.addFilter(RequestIDFilter())
    with caplog.at_level(logging.INFO, logger="taskdesk.request"):
        api_client.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="log-req-7")

    (record,) = [record for record in caplog.records if record.name == "taskdesk.request"]
    assert record.request_id == "log-req-7"
    assert record.status == 401
    assert record.method == "GET"
    assert record.path == "/api/v1/auth/me"
