"""Security logging (ASVS 5.0 16.3.2, 16.2.5): refused requests are logged with who and what, and no
password, token or recovery code ever reaches a log line, whichever flow carried it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def request_lines(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [record for record in caplog.records if record.name == "taskdesk.request"]


def test_refused_requests_are_logged_with_the_user_the_path_and_the_status(
    user: Any, auth_client: APIClient, staff_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="taskdesk.request"):
        assert auth_client.get("/api/v1/users/").status_code == 403  # not staff
        assert auth_client.delete(f"/api/v1/users/{user.pk}").status_code == 403
        assert APIClient().get("/api/v1/audit/events/").status_code == 401  # nobody
        assert staff_client.get("/api/v1/users/").status_code == 200  # allowed: logged the same way

    lines = [(r.method, r.path, r.status, r.user_id) for r in request_lines(caplog) if r.path.startswith("/api")]
    assert lines[-4:] == [
        ("GET", "/api/v1/users/", 403, str(user.pk)),
        ("DELETE", f"/api/v1/users/{user.pk}", 403, str(user.pk)),
        ("GET", "/api/v1/audit/events/", 401, ""),
        ("GET", "/api/v1/users/", 200, lines[-1][3]),
    ]
    assert lines[-1][3] and lines[-1][3] != str(user.pk)


def test_no_credential_of_any_flow_reaches_the_logs(
    user: Any, api_client: APIClient, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    settings.LOGGING["root"]["level"] = "DEBUG"
    secrets: list[str] = [PASSWORD]
    with caplog.at_level(logging.DEBUG):
        registered = api_client.post(
            "/api/v1/auth/register", {"email": "new@example.com", "password": "fresh signup phrase"}, format="json"
        )
        assert registered.status_code == 201
        secrets += ["fresh signup phrase", registered.json()["access"], registered.json()["refresh"]]
        assert APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "wrong guess 123"}).status_code
        secrets.append("wrong guess 123")
        login = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
        tokens = login.json()
        secrets += [tokens["access"], tokens["refresh"]]
        refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").json()
        secrets += [refreshed["access"], refreshed["refresh"]]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
        # A token in a query string (a client mistake) and in a URL path: logged lines carry the path only.
        assert client.get(f"/api/v1/tasks/?access_token={refreshed['access']}").status_code == 200
        assert client.get(f"/api/v1/no/{tokens['access']}").status_code == 404
        api = client.post("/api/v1/auth/tokens", {"name": "ci", "scopes": ["tasks:read"]}, format="json").json()
        secrets.append(api["token"])
        changed = client.post(
            "/api/v1/auth/password/change",
            {"current_password": PASSWORD, "new_password": "another long phrase"},
            format="json",
        )
        assert changed.status_code == 204
        secrets.append("another long phrase")

    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert request_lines(caplog), "the requests were logged"
    for secret in secrets:
        assert secret not in logged, secret[:12]
