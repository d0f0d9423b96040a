"""POST /api/v1/auth/register: the account, its first session, the verification email, and refusals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import assert_error
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/register"
GOOD_PASSWORD = "quiet lantern over the harbour"


def register(client: APIClient, **data: Any) -> Any:
    return client.post(URL, {"email": "ada@example.com", "password": GOOD_PASSWORD, **data}, format="json")


def test_it_creates_the_account_and_answers_201_with_user_and_tokens(
    api_client: APIClient,
) -> None:
    response = register(api_client, full_name="Ada Lovelace")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"user", "access", "refresh", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["full_name"] == "Ada Lovelace"
    assert body["user"]["email_verified"] is False
    assert body["user"]["is_staff"] is False
    assert body["user"]["profile_completion"] == 25
    assert "password" not in body["user"]
    assert response["Cache-Control"] == "no-store"

    user = User.objects.get(email="ada@example.com")
    assert str(user.pk) == body["user"]["id"] == str(uuid.UUID(body["user"]["id"]))
    assert user.password.startswith("argon2")
    assert user.check_password(GOOD_PASSWORD)
    assert Session.objects.filter(user=user, ended_at__isnull=True).count() == 1
    assert set(Event.objects.filter(user=user).values_list("event", flat=True)) >= {
        EventType.REGISTERED,
        EventType.LOGIN_SUCCEEDED,
        EventType.EMAIL_VERIFICATION_SENT,
    }


def test_the_tokens_it_returns_work_straight_away(api_client: APIClient) -> None:
    body = register(api_client).json()

    me = APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_it_stores_the_email_trimmed_and_lowercased(api_client: APIClient) -> None:
    response = register(api_client, email="  Ada.Lovelace@Example.COM ")

    assert response.status_code == 201, response.content
    assert response.json()["user"]["email"] == "ada.lovelace@example.com"
    assert User.objects.filter(email="ada.lovelace@example.com").exists()


def test_it_answers_409_email_taken_for_an_existing_address_in_any_case(api_client: APIClient) -> None:
    UserFactory(email="ada@example.com")

    body = assert_error(register(api_client, email="ADA@Example.com"), 409, "email_taken")

    assert "errors" not in body
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_the_unique_index_backs_the_409_when_two_sign_ups_race(api_client: APIClient, monkeypatch: Any) -> None:
    UserFactory(email="ada@example.com")
    # The existence check passed for both racers; the database refuses the second row.
    monkeypatch.setattr("accounts.services.signin.User.objects.filter", lambda **kw: User.objects.none())

    assert_error(register(api_client), 409, "email_taken")


def test_every_write_path_stores_the_email_normalised(db: Any) -> None:
    user = UserFactory(email="Mixed.Case@Example.COM")
    assert user.email == "mixed.case@example.com"
    with pytest.raises(IntegrityError):
        User.objects.create(email="MIXED.case@example.com")


def test_it_leaves_the_verification_email_to_a_worker(
    api_client: APIClient, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    register(api_client)
    assert mailoutbox == []  # nothing is sent within the request

    assert run_jobs() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ada@example.com"]
    assert mailoutbox[0].subject == "Confirm your Taskdesk email address"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8172635498127364", "This password is entirely numeric."),
        ("ada@example.com", "The password is too similar to the email."),
        ("AugustaLovelace!", "The password is too similar to the full name."),
        ("x" * 129, "This password is too long. It must contain at most 128 characters."),
    ],
)
def test_the_400_names_the_password_rule_that_failed(api_client: APIClient, password: str, message: str) -> None:
    response = register(api_client, password=password, full_name="Augusta Lovelace")

    body = assert_error(response, 400, "validation_error")
    assert message in body["errors"]["password"]
    assert not User.objects.exists()


def test_it_has_no_composition_rules(api_client: APIClient) -> None:
    # Lowercase letters and spaces only: long enough, not common, not numeric, not like the email.
    assert register(api_client, password="purple elephants juggle").status_code == 201


def test_a_128_character_password_is_accepted_and_used_whole(api_client: APIClient) -> None:
    password = "Tr0ub4dor&3 staple " * 6 + "horsebatte"
    assert len(password) == 124
    password += "zq!x"
    assert len(password) == 128

    assert register(api_client, password=password).status_code == 201

    login = APIClient().post("/api/v1/auth/login", {"email": "ada@example.com", "password": password}, format="json")
    assert login.status_code == 200
    wrong_last = password[:-1] + "y"
    wrong = APIClient().post("/api/v1/auth/login", {"email": "ada@example.com", "password": wrong_last}, format="json")
    assert_error(wrong, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"password": GOOD_PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"email": "not-an-email", "password": GOOD_PASSWORD}, "email"),
        ({"email": 123, "password": GOOD_PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": ["a", "list"]}, "password"),
        ({"email": "ada@example.com", "password": 12345678901234}, "password"),
        ({"email": "ada@example.com", "password": None}, "password"),
        ({"email": "ada@example.com", "password": GOOD_PASSWORD, "full_name": {"a": 1}}, "full_name"),
        ({"email": "a" * 10_000 + "@example.com", "password": GOOD_PASSWORD}, "email"),
        ({"email": "ada@example.com", "password": GOOD_PASSWORD, "full_name": "n" * 151}, "full_name"),
        (
            {"email": "ada@example.com", "password": GOOD_PASSWORD, "full_name": "Ada\n\nSee evil.example"},
            "full_name",
        ),
        ({"email": "ada@example.com", "password": GOOD_PASSWORD, "full_name": "Ada\x00"}, "full_name"),
        ({"email": "ada@example.com", "password": "p" * 100_000}, "password"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client: APIClient, data: dict[str, Any], field: str) -> None:
    body = assert_error(api_client.post(URL, data, format="json"), 400, "validation_error")

    assert list(body["errors"]) == [field]
    assert all(isinstance(message, str) for message in body["errors"][field])
    assert not User.objects.exists()


def test_it_ignores_fields_a_user_may_not_set(api_client: APIClient) -> None:
    response = register(api_client, is_staff=True, is_superuser=True, email_verified=True, id="0" * 32)

    assert response.status_code == 201
    user = User.objects.get(email="ada@example.com")
    assert (user.is_staff, user.is_superuser, user.email_verified) == (False, False, False)
    assert str(user.pk) != "0" * 32
