"""GET, PATCH and DELETE /api/v1/auth/me: the own profile, mass assignment refused, account deletion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import assert_error
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/me"
FIELDS = {
    "id",
    "email",
    "full_name",
    "bio",
    "avatar_url",
    "timezone",
    "email_notifications",
    "is_active",
    "is_staff",
    "email_verified",
    "date_joined",
    "last_login",
    "profile_completion",
}


def test_get_answers_the_own_profile(auth_client: APIClient, user: User) -> None:
    response = auth_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["id"] == str(user.pk)
    assert body["email"] == "owner@example.com"
    assert body["full_name"] == "Olive Owner"
    assert body["timezone"] == ""
    assert body["profile_completion"] == 25
    assert body["date_joined"].endswith("Z")


def test_the_trailing_slash_is_optional(auth_client: APIClient) -> None:
    assert auth_client.get(URL + "/").status_code == 200


def test_get_needs_a_token(api_client: APIClient) -> None:
    response = api_client.get(URL)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_patch_changes_profile_fields_and_the_completion_follows(
    user: User, login_as: Callable[..., APIClient]
) -> None:
    user.full_name = ""
    user.save()
    client = login_as(user)
    assert client.get(URL).json()["profile_completion"] == 0

    steps = [
        ({"full_name": "Olive Owner"}, 25),
        ({"bio": "  Writes lists.\n"}, 50),
        ({"avatar_url": "https://cdn.example.com/olive.png"}, 75),
        ({"timezone": "Europe/Paris"}, 100),
        ({"bio": ""}, 75),
    ]
    for change, completion in steps:
        response = client.patch(URL, change, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["profile_completion"] == completion

    user.refresh_from_db()
    assert (user.full_name, user.bio, user.avatar_url, user.timezone) == (
        "Olive Owner",
        "",
        "https://cdn.example.com/olive.png",
        "Europe/Paris",
    )
    assert Event.objects.filter(user=user, event=EventType.PROFILE_UPDATED).count() == 5


def test_email_notifications_is_on_by_default_and_the_user_turns_it_off(
    auth_client: APIClient, user: User, staff_client: APIClient
) -> None:
    before = auth_client.get(URL).json()
    assert before["email_notifications"] is True
    response = auth_client.patch(URL, {"email_notifications": False}, format="json")
    assert response.status_code == 200
    assert response.json()["email_notifications"] is False
    # A preference, not part of the profile: the completion does not move.
    assert response.json()["profile_completion"] == before["profile_completion"]
    user.refresh_from_db()
    assert user.email_notifications is False
    assert Event.objects.get(event=EventType.PROFILE_UPDATED).details == {"fields": ["email_notifications"]}
    bad = auth_client.patch(URL, {"email_notifications": "sometimes"}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["email_notifications"]
    # Staff edit a user's profile, not their preferences: the field is ignored.
    staff_client.patch(f"/api/v1/users/{user.pk}", {"email_notifications": True}, format="json")
    user.refresh_from_db()
    assert user.email_notifications is False


def test_the_bio_keeps_its_whitespace(auth_client: APIClient) -> None:
    assert auth_client.patch(URL, {"bio": "  indented\n"}, format="json").json()["bio"] == "  indented\n"


def test_a_patch_that_changes_nothing_records_nothing(auth_client: APIClient, user: User) -> None:
    assert auth_client.patch(URL, {"full_name": "Olive Owner"}, format="json").status_code == 200
    assert auth_client.patch(URL, {}, format="json").status_code == 200

    assert not Event.objects.filter(user=user, event=EventType.PROFILE_UPDATED).exists()


def test_mass_assignment_is_refused(auth_client: APIClient, user: User) -> None:
    before = User.objects.filter(pk=user.pk).values().get()
    forged = {
        "id": "00000000-0000-0000-0000-000000000001",
        "email": "boss@example.com",
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "email_verified": False,
        "date_joined": "2000-01-01T00:00:00Z",
        "last_login": "2000-01-01T00:00:00Z",
        "password": "owned owned owned",
        "profile_completion": 100,
    }

    response = auth_client.patch(URL, forged, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "owner@example.com"
    assert body["is_staff"] is False
    assert body["email_verified"] is True
    assert User.objects.filter(pk=user.pk).values().get() == before
    assert not User.objects.filter(pk="00000000-0000-0000-0000-000000000001").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"avatar_url": "not a url"}, "avatar_url"),
        ({"avatar_url": "https://example.com/" + "a" * 500}, "avatar_url"),
        ({"full_name": "n" * 151}, "full_name"),
        ({"full_name": None}, "full_name"),
        ({"full_name": ["Olive"]}, "full_name"),
        ({"full_name": 42}, "full_name"),
        ({"full_name": "Olive\r\nOwner"}, "full_name"),
        ({"full_name": "Olive\tOwner"}, "full_name"),
        ({"bio": "b" * 2001}, "bio"),
        ({"bio": {"nested": "object"}}, "bio"),
    ],
)
def test_bad_profile_values_are_a_400_and_change_nothing(
    auth_client: APIClient, user: User, data: dict[str, Any], field: str
) -> None:
    before = User.objects.filter(pk=user.pk).values().get()

    body = assert_error(auth_client.patch(URL, data, format="json"), 400, "validation_error")

    assert list(body["errors"]) == [field]
    assert User.objects.filter(pk=user.pk).values().get() == before


@pytest.mark.parametrize("body", ["[]", '"full_name"', "null", "{", "3"])
def test_a_patch_body_that_is_not_a_json_object_is_a_400(auth_client: APIClient, body: str) -> None:
    response = auth_client.generic("PATCH", URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "parse_error"}


def test_put_and_post_are_json_405s(auth_client: APIClient) -> None:
    for method in ("PUT", "POST"):
        response = auth_client.generic(method, URL, "{}", content_type="application/json")
        assert_error(response, 405, "method_not_allowed")
        assert "PATCH" in response["Allow"]


# Account deletion ---------------------------------------------------------------------------------------


def test_delete_removes_the_account_and_every_token_fails(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    client = login_as(user)
    other_device = login_as(user)
    theirs = login_as(outsider)
    user_id = user.pk

    response = client.delete(URL, {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user_id).exists()
    assert not Session.objects.filter(user_id=user_id).exists()
    for device in (client, other_device):
        assert_error(device.get(URL), 401, "token_invalid")
        refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": device.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]
        assert_error(refreshed, 401, "token_invalid")
    assert theirs.get(URL).status_code == 200
    event = Event.objects.get(event=EventType.ACCOUNT_DELETED)
    assert event.email == "owner@example.com"
    assert event.details == {"user_id": str(user_id)}
    # The address is free again.
    assert (
        APIClient()
        .post(
            "/api/v1/auth/register", {"email": "owner@example.com", "password": "a brand new passphrase"}, format="json"
        )
        .status_code
        == 201
    )


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"password": "not my password"}, 400, "validation_error"),
        ({}, 400, "validation_error"),
        ({"password": ["x"]}, 400, "validation_error"),
    ],
)
def test_delete_needs_the_right_password(
    auth_client: APIClient, user: User, data: dict[str, Any], status: int, code: str
) -> None:
    body = assert_error(auth_client.delete(URL, data, format="json"), status, code)

    assert list(body["errors"]) == ["password"]
    assert User.objects.filter(pk=user.pk).exists()
    assert auth_client.get(URL).status_code == 200


def test_delete_needs_a_token(api_client: APIClient, user: User) -> None:
    assert_error(api_client.delete(URL, {"password": PASSWORD}, format="json"), 401, "not_authenticated")
    assert User.objects.filter(pk=user.pk).exists()


def test_deleting_leaves_other_accounts_alone(auth_client: APIClient) -> None:
    neighbour = cast(User, UserFactory(email="neighbour@example.com"))

    auth_client.delete(URL, {"password": PASSWORD}, format="json")

    assert User.objects.filter(pk=neighbour.pk).exists()
