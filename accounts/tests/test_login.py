"""POST /api/v1/auth/login: sessions opened, one answer for every kind of failure, bad input, outages."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import OperationalError
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import assert_error
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/login"


def post(client: APIClient, email: Any, password: Any = PASSWORD, **extra: Any) -> Any:
    return client.post(URL, {"email": email, "password": password}, format="json", **extra)


def test_it_answers_200_with_user_and_tokens_and_opens_a_session(api_client: APIClient, user: User) -> None:
    response = post(api_client, user.email, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"user", "access", "refresh", "token_type", "expires_in"}
    assert body["user"]["id"] == str(user.pk)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response["Cache-Control"] == "no-store"

    session = Session.objects.get(user=user)
    assert session.ended_at is None
    assert session.user_agent == "Firefox/140"
    assert session.ip_address == "203.0.113.9"
    user.refresh_from_db()
    assert user.last_login is not None
    assert Event.objects.filter(user=user, event=EventType.LOGIN_SUCCEEDED).count() == 1


def test_each_login_opens_its_own_session(api_client: APIClient, user: User) -> None:
    first = post(api_client, user.email).json()
    second = post(api_client, user.email).json()

    assert Session.objects.filter(user=user, ended_at__isnull=True).count() == 2
    assert first["refresh"] != second["refresh"]


def test_it_accepts_the_email_in_any_case_and_with_spaces(api_client: APIClient, user: User) -> None:
    assert post(api_client, "  OWNER@Example.COM ").status_code == 200


def test_a_wrong_password_an_unknown_email_and_an_inactive_account_get_the_same_401(
    api_client: APIClient, user: User
) -> None:
    inactive = UserFactory(email="gone@example.com", is_active=False)
    answers = [
        post(api_client, user.email, "not the password"),
        post(api_client, "nobody@example.com"),
        post(api_client, inactive.email),
    ]

    bodies = [assert_error(response, 401, "invalid_credentials") for response in answers]
    assert {(body["detail"], body["code"]) for body in bodies} == {(bodies[0]["detail"], "invalid_credentials")}
    assert all(response["WWW-Authenticate"].startswith("Bearer") for response in answers)
    assert not Session.objects.exists()
    assert Event.objects.filter(event=EventType.LOGIN_FAILED).count() == 3


def test_an_unknown_email_costs_the_same_password_hashing_as_a_wrong_password(
    api_client: APIClient, user: User
) -> None:
    # Timing is asserted through the work done: one Argon2 computation either way.
    encode = mock.patch.object(Argon2PasswordHasher, "encode", autospec=True, side_effect=Argon2PasswordHasher.encode)
    verify = mock.patch.object(Argon2PasswordHasher, "verify", autospec=True, side_effect=Argon2PasswordHasher.verify)

    with encode as encoded, verify as verified:
        assert post(api_client, "nobody@example.com").status_code == 401
        unknown_cost = encoded.call_count + verified.call_count
        encoded.reset_mock()
        verified.reset_mock()
        assert post(api_client, user.email, "not the password").status_code == 401
        wrong_password_cost = encoded.call_count + verified.call_count

    assert unknown_cost == wrong_password_cost == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"email": "owner@example.com", "password": ', "application/json", 400, "parse_error"),
        ("{'email': 'single quotes'}", "application/json", 400, "parse_error"),
        ('{"email": NaN}', "application/json", 400, "parse_error"),
        (b'{"email": "\xff\xfe"}', "application/json", 400, "parse_error"),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400, "parse_error"),
        ('["owner@example.com", "pw"]', "application/json", 400, "validation_error"),
        ('"owner@example.com"', "application/json", 400, "validation_error"),
        ("null", "application/json", 400, "validation_error"),
        ("42", "application/json", 400, "validation_error"),
        ("{}", "application/json", 400, "validation_error"),
        ("email=owner@example.com&password=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ('{"email": "owner@example.com"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_are_answered_in_the_error_shape(
    api_client: APIClient, user: User, body: Any, content_type: str, status: int, code: str
) -> None:
    response = api_client.generic("POST", URL, body, content_type=content_type)

    payload = assert_error(response, status, code)
    if code == "validation_error":
        assert payload["errors"]
    assert not Session.objects.exists()


def test_a_body_that_is_not_an_object_is_a_validation_error_on_non_field_errors(api_client: APIClient) -> None:
    body = assert_error(api_client.post(URL, ["a", "list"], format="json"), 400, "validation_error")

    assert body["errors"] == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": 123, "password": PASSWORD}, "email"),
        ({"email": True, "password": PASSWORD}, "email"),
        ({"email": "owner@example.com", "password": ["a", "list"]}, "password"),
        ({"email": "owner@example.com", "password": {"an": "object"}}, "password"),
        ({"email": "owner@example.com", "password": 12345678}, "password"),
        ({"email": "owner@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "e" * 100_000, "password": PASSWORD}, "email"),
        ({"email": "owner@example.com", "password": "p" * 100_000}, "password"),
    ],
)
def test_wrong_types_missing_fields_and_huge_strings_are_a_400(
    api_client: APIClient, user: User, data: dict[str, Any], field: str
) -> None:
    body = assert_error(api_client.post(URL, data, format="json"), 400, "validation_error")

    assert list(body["errors"]) == [field]
    assert not Session.objects.exists()


def test_a_password_of_4096_characters_is_checked_not_refused(api_client: APIClient, user: User) -> None:
    assert_error(post(api_client, user.email, "p" * 4096), 401, "invalid_credentials")


def test_it_answers_503_with_retry_after_and_no_tokens_while_the_database_is_unreachable(
    api_client: APIClient, user: User
) -> None:
    with mock.patch.object(services.signin._login_backend, "authenticate", side_effect=OperationalError("refused")):
        response = post(api_client, user.email)

    body = assert_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    assert "access" not in body and "refresh" not in body
    assert not Session.objects.exists()
    # It resumes by itself once the database answers again.
    assert post(api_client, user.email).status_code == 200


def test_a_database_failure_while_opening_the_session_issues_no_tokens(api_client: APIClient, user: User) -> None:
    with mock.patch(
        "accounts.services.signin.session_open", side_effect=OperationalError("server closed the connection")
    ):
        response = post(api_client, user.email)

    body = assert_error(response, 503, "service_unavailable")
    assert "access" not in body
    assert not Session.objects.exists()


def test_get_is_a_json_405(api_client: APIClient) -> None:
    response = api_client.get(URL)

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]
