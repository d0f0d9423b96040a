"""gzip for large API bodies when the client accepts it; never for a response that carries a secret (BREACH)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.mfa_helpers import CONFIRM, SETUP, totp_code
from config.http import compression
from tasks.tests.factories import TaskFactory
from tasks.tests.test_list_etags import settled

pytestmark = pytest.mark.django_db

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def is_gzipped(response: Any) -> bool:
    return response.get("Content-Encoding") == "gzip"


def body(response: Any) -> bytes:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return gzip.decompress(raw) if is_gzipped(response) else raw


@pytest.fixture
def many_tasks(user: Any) -> None:
    TaskFactory.create_batch(
        100, owner=user, description="Ring the supplier about the invoice and the delivery dates.", tags=["work"]
    )


def test_a_full_page_of_tasks_is_gzipped_and_decompresses_to_the_same_json(
    auth_client: APIClient, many_tasks: None
) -> None:
    plain = auth_client.get("/api/v1/tasks/?page_size=100")
    zipped = auth_client.get("/api/v1/tasks/?page_size=100", headers=GZIP)

    assert plain.status_code == zipped.status_code == 200
    assert not is_gzipped(plain)
    assert is_gzipped(zipped)
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert len(plain.json()["results"]) == 100
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content) / 4
    # Caches keep the two apart (the body depends on Accept-Encoding), the plain one included.
    for response in (plain, zipped):
        assert "Accept-Encoding" in response["Vary"]


# Transactional: on PostgreSQL the change log's position behind the ETag only moves past ended transactions.
@pytest.mark.django_db(transaction=True)
def test_the_etag_of_a_gzipped_list_still_answers_304(auth_client: APIClient, many_tasks: None) -> None:
    settled()
    zipped = auth_client.get("/api/v1/tasks/?page_size=100", headers=GZIP)
    assert is_gzipped(zipped)

    again = auth_client.get("/api/v1/tasks/?page_size=100", headers={**GZIP, "If-None-Match": zipped["ETag"]})

    assert again.status_code == 304
    assert again.content == b""


def test_a_small_body_is_sent_as_it_is(auth_client: APIClient, user: Any) -> None:
    task = TaskFactory(owner=user, title="Call the bank")

    response = auth_client.get(f"/api/v1/tasks/{task.pk}", headers=GZIP)

    assert response.status_code == 200
    assert len(response.content) < compression.MIN_LENGTH
    assert not is_gzipped(response)
    assert response.json()["title"] == "Call the bank"


@pytest.mark.parametrize(("export_format", "parse"), [("json", json.loads), ("csv", bytes.decode)])
def test_the_export_is_streamed_gzipped(
    auth_client: APIClient, many_tasks: None, export_format: str, parse: Any
) -> None:
    plain = auth_client.get(f"/api/v1/tasks/export/?format={export_format}")
    zipped = auth_client.get(f"/api/v1/tasks/export/?format={export_format}", headers=GZIP)

    assert zipped.status_code == 200
    assert zipped.streaming
    assert is_gzipped(zipped)
    assert not zipped.has_header("Content-Length")
    assert zipped["Content-Disposition"] == f'attachment; filename="tasks.{export_format}"'
    assert parse(body(zipped)) == parse(body(plain))
    assert not is_gzipped(plain)


def test_audit_events_and_sync_pages_are_gzipped(auth_client: APIClient, many_tasks: None) -> None:
    for n in range(5):  # audit events of the caller's own
        assert auth_client.post("/api/v1/tasks/", {"title": f"Errand {n}"}, format="json").status_code == 201
    for path in ("/api/v1/sync?limit=100", "/api/v1/audit/events/?page_size=100"):
        plain = auth_client.get(path)
        zipped = auth_client.get(path, headers=GZIP)
        assert plain.status_code == zipped.status_code == 200, path
        assert len(plain.content) >= compression.MIN_LENGTH, path
        assert is_gzipped(zipped), path
        assert json.loads(gzip.decompress(zipped.content)).keys() == plain.json().keys()


@pytest.fixture
def no_size_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    # The credential responses are a few hundred bytes to a kilobyte: with no size floor, nothing but the
    # secret rule stands between them and gzip.
    monkeypatch.setattr(compression, "MIN_LENGTH", 0)


def assert_sent_as_is(response: Any) -> None:
    assert response.status_code in (200, 201), response.content
    assert not is_gzipped(response)
    # Proof the rule did it: gzip would have made this body shorter, and GZipMiddleware alone would have.
    assert len(response.content) >= 200
    assert len(gzip.compress(response.content)) < len(response.content)
    json.loads(response.content)


LONG_NAME = "Olivia Octavia Ottoline " * 6


def test_register_login_and_refresh_are_never_gzipped(no_size_floor: None) -> None:
    client = APIClient()
    registered = client.post(
        "/api/v1/auth/register",
        {"email": "olivia@example.com", "password": PASSWORD, "full_name": LONG_NAME.strip()},
        format="json",
        headers=GZIP,
    )
    assert_sent_as_is(registered)

    logged_in = client.post(
        "/api/v1/auth/login", {"email": "olivia@example.com", "password": PASSWORD}, format="json", headers=GZIP
    )
    assert_sent_as_is(logged_in)

    refreshed = client.post(
        "/api/v1/auth/refresh", {"refresh": logged_in.json()["refresh"]}, format="json", headers=GZIP
    )
    assert_sent_as_is(refreshed)


def test_mfa_secrets_and_recovery_codes_are_never_gzipped(no_size_floor: None, login_as: Any) -> None:
    client = login_as(UserFactory(email="olivia.octavia.ottoline.oakenshield.long.address.for.tests@example.com"))

    setup = client.post(SETUP, headers=GZIP)
    assert_sent_as_is(setup)

    confirmed = client.post(CONFIRM, {"code": totp_code(setup.json()["secret"])}, format="json", headers=GZIP)
    assert_sent_as_is(confirmed)
    assert len(confirmed.json()["recovery_codes"]) == 10


def test_a_new_api_token_is_never_gzipped(no_size_floor: None, auth_client: APIClient) -> None:
    created = auth_client.post(
        "/api/v1/auth/tokens",
        {"name": "Nightly backup script " * 4, "scopes": ["tasks:read", "tasks:write", "projects:read"]},
        format="json",
        headers=GZIP,
    )

    assert_sent_as_is(created)
    assert created.json()["token"].startswith("tdk_")


def test_a_large_json_body_elsewhere_is_gzipped_with_no_size_floor(no_size_floor: None, auth_client: APIClient) -> None:
    # The control of the tests above: the same kind of body outside /api/v1/auth/ is compressed.
    response = auth_client.post(
        "/api/v1/tasks/", {"title": "Olivia Octavia Ottoline " * 8}, format="json", headers=GZIP
    )

    assert response.status_code == 201
    assert is_gzipped(response)
    assert json.loads(gzip.decompress(response.content))["title"] == ("Olivia Octavia Ottoline " * 8).strip()


def test_the_admin_html_is_never_gzipped(client: Any) -> None:
    # Its forms carry a CSRF token next to reflected input.
    response = client.get("/admin/login/", headers=GZIP)

    assert response.status_code == 200
    assert len(response.content) >= compression.MIN_LENGTH
    assert b"csrfmiddlewaretoken" in response.content
    assert not is_gzipped(response)
