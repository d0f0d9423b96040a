"""The one error shape, everywhere: unknown routes, wrong methods, bodies too big or not JSON, outages."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == (
        {"detail", "code", "request_id", "errors"}
        if code == "validation_error"
        else {
            "detail",
            "code",
            "request_id",
        }
    )
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    assert "Traceback" not in body["detail"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    return body


@pytest.fixture
def browser() -> Client:
    """A client that, like a real one, gets no CSRF pass from the test framework."""
    return Client(enforce_csrf_checks=True)


# Unknown routes and wrong methods ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/auth/nope/", "/nothing-here", "/api/v2/auth/login"])
def test_an_unknown_route_is_a_json_404_for_every_method(browser: Client, method: str, path: str) -> None:
    response = browser.generic(method, path, b'{"a": 1}', content_type="application/json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_routes_and_wrong_methods_are_json_in_debug_too(settings: Any, browser: Client, debug: bool) -> None:
    settings.DEBUG = debug

    assert_error(browser.get("/api/v1/definitely/not/here"), 404, "not_found")
    assert_error(browser.post("/api/v1/definitely/not/here"), 404, "not_found")
    response = browser.get(LOGIN)
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST, OPTIONS"
    assert_error(browser.delete("/api/v1/auth/register"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/refresh"),
        ("PUT", "/api/v1/auth/register"),
        ("DELETE", "/api/v1/auth/password/reset"),
        ("GET", "/api/v1/auth/email/verify"),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(api_client: APIClient, method: str, path: str) -> None:
    response = api_client.generic(method, path)

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_an_unexpected_error_is_a_json_500_without_a_stack_trace(auth_client: APIClient, settings: Any) -> None:
    for debug in (False, True):
        settings.DEBUG = debug
        with mock.patch("accounts.views.services.account.profile_update", side_effect=RuntimeError("secret internals")):
            response = auth_client.patch("/api/v1/auth/me", {"bio": "x"}, format="json")
        body = assert_error(response, 500, "server_error")
        assert "secret internals" not in response.content.decode()
        assert body["detail"] == "An unexpected error occurred."


# Bodies ------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413(api_client: APIClient, auth_client: APIClient, settings: Any) -> None:
    too_big = '{"email": "' + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'

    assert_error(api_client.generic("POST", LOGIN, too_big, content_type="application/json"), 413, "payload_too_large")
    response = auth_client.generic("PATCH", "/api/v1/auth/me", too_big, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_the_limit_follows_the_setting(api_client: APIClient, user: User, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    padded = {"email": user.email, "password": PASSWORD, "padding": "p" * 1500}

    assert api_client.post(LOGIN, padded, format="json").status_code == 200
    padded["padding"] = "p" * 2100
    assert_error(api_client.post(LOGIN, padded, format="json"), 413, "payload_too_large")
    assert Session.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/json-patch+json",
        "",
    ],
)
def test_a_body_that_is_not_json_is_a_415(api_client: APIClient, content_type: str) -> None:
    response = api_client.generic("POST", LOGIN, '{"email": "a@b.c", "password": "x"}', content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")


def test_the_json_media_type_is_matched_case_insensitively_and_with_parameters(
    api_client: APIClient, user: User
) -> None:
    for content_type in ("Application/JSON", "application/json; charset=utf-8", "APPLICATION/JSON;charset=UTF-8"):
        response = api_client.generic(
            "POST", LOGIN, f'{{"email": "{user.email}", "password": "{PASSWORD}"}}', content_type=content_type
        )
        assert response.status_code == 200, (content_type, response.content)


def test_an_empty_body_with_no_content_type_is_an_empty_object(api_client: APIClient) -> None:
    body = assert_error(api_client.generic("POST", LOGIN, ""), 400, "validation_error")
    assert set(body["errors"]) == {"email", "password"}


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "{'single': 'quotes'}",
        '{"trailing": "comma",}',
        "[" * 200_000,
        "{" * 1000 + "}" * 1000,
        '{"a": Infinity}',
        "\x00\x01\x02",
    ],
    ids=["truncated", "single-quotes", "trailing-comma", "deep-lists", "deep-objects", "infinity", "binary"],
)
def test_malformed_json_is_a_400_parse_error(api_client: APIClient, raw: str) -> None:
    assert_error(api_client.generic("POST", LOGIN, raw, content_type="application/json"), 400, "parse_error")


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", '"a string"', "null", "true", "3.5"])
def test_json_that_is_not_an_object_is_a_400_validation_error(api_client: APIClient, raw: str) -> None:
    body = assert_error(
        api_client.generic("POST", LOGIN, raw, content_type="application/json"), 400, "validation_error"
    )
    assert list(body["errors"]) == ["non_field_errors"]


def test_the_api_answers_json_whatever_the_client_accepts(api_client: APIClient) -> None:
    for accept in ("text/html", "application/xml", "image/png", "*/*"):
        response = api_client.get("/api/v1/auth/me", HTTP_ACCEPT=accept)
        assert_error(response, 401, "not_authenticated")


# The database going away ------------------------------------------------------------------------------

DB_DOWN = mock.patch(
    "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("could not connect to server")
)


def test_an_authenticated_request_while_the_database_is_down_is_a_503_with_retry_after(
    auth_client: APIClient,
) -> None:
    with DB_DOWN:
        response = auth_client.get("/api/v1/auth/me")

    assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    # Service resumes by itself.
    assert auth_client.get("/api/v1/auth/me").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refresh_while_the_database_is_down_issues_no_tokens_and_rotates_nothing(user: User) -> None:
    tokens = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").json()
    before = Session.objects.get(user=user).refresh_jti

    with DB_DOWN:
        response = APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")

    body = assert_error(response, 503, "service_unavailable")
    assert "access" not in body and "refresh" not in body
    assert Session.objects.get(user=user).refresh_jti == before
    # Once it is back, the same refresh token works: the outage did not count as a use.
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_login_while_the_database_is_down_is_a_503_with_no_tokens(user: User) -> None:
    with DB_DOWN:
        response = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")

    body = assert_error(response, 503, "service_unavailable")
    assert "access" not in body
    assert response["Retry-After"]
    assert not Session.objects.exists()
    assert APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json").status_code == 200


def _is_flat(errors: Any) -> bool:
    return isinstance(errors, dict) and all(
        isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values()
    )


def test_errors_of_list_items_stay_on_the_field_and_name_the_item(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/tasks/", {"title": "t", "tags": ["ok", "", "x" * 51]}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert _is_flat(errors)
    assert list(errors) == ["tags"]
    assert errors["tags"][0].startswith("Item 1: ") and errors["tags"][1].startswith("Item 2: ")


def test_errors_of_nested_objects_are_named_by_their_path(auth_client: APIClient) -> None:
    body = {"action": "update", "ids": [1], "fields": {"status": "nope", "priority": "meh"}}
    response = auth_client.post("/api/v1/tasks/bulk/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert _is_flat(errors)
    assert set(errors) == {"fields.status", "fields.priority"}
