"""POST /api/v1/auth/password/change: the new password, every other session ended, this one kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error, sid
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/password/change"
NEW = "an entirely fresh passphrase"


def login_status(email: str, password: str) -> int:
    return APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json").status_code


def refresh(client: APIClient) -> Any:
    return APIClient().post("/api/v1/auth/refresh", {"refresh": client.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]


def change(client: APIClient, current: Any = PASSWORD, new: Any = NEW) -> Any:
    return client.post(URL, {"current_password": current, "new_password": new}, format="json")


def test_it_changes_the_password(auth_client: APIClient, user: User) -> None:
    response = change(auth_client)

    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert user.check_password(NEW)
    assert login_status(user.email, NEW) == 200
    assert login_status(user.email, PASSWORD) == 401
    assert Event.objects.filter(user=user, event=EventType.PASSWORD_CHANGED).count() == 1


def test_it_ends_every_other_session_and_keeps_this_one(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    client = login_as(user)
    others = [login_as(user), login_as(user)]
    theirs = login_as(outsider)

    assert change(client).status_code == 204

    for other in others:
        assert_error(other.get("/api/v1/auth/me"), 401, "token_invalid")
        assert_error(refresh(other), 401, "token_invalid")
        assert Session.objects.get(pk=sid(other)).end_reason == Session.EndReason.PASSWORD_CHANGED
    assert client.get("/api/v1/auth/me").status_code == 200
    assert refresh(client).status_code == 200
    assert theirs.get("/api/v1/auth/me").status_code == 200
    assert Event.objects.get(user=user, event=EventType.PASSWORD_CHANGED).details == {"sessions_ended": 2}


def test_a_wrong_current_password_is_a_400_and_changes_nothing(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)
    other = login_as(user)

    body = assert_error(change(client, current="not my password"), 400, "validation_error")

    assert list(body["errors"]) == ["current_password"]
    assert login_status(user.email, PASSWORD) == 200
    assert other.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("iloveyou", "This password is too common."),
        ("31415926535897", "This password is entirely numeric."),
        ("owner@example.com!", "The password is too similar to the email."),
        ("Olive Owner", "The password is too similar to the full name."),
        ("y" * 129, "This password is too long. It must contain at most 128 characters."),
    ],
)
def test_the_new_password_must_pass_the_rules_and_the_400_says_which_failed(
    auth_client: APIClient, user: User, new: str, message: str
) -> None:
    body = assert_error(change(auth_client, new=new), 400, "validation_error")

    assert message in body["errors"]["new_password"]
    assert login_status(user.email, PASSWORD) == 200


def test_a_128_character_new_password_is_used_whole(auth_client: APIClient, user: User) -> None:
    new = ("fjord quartz vex nymph " * 6)[:127] + "!"
    assert len(new) == 128

    assert change(auth_client, new=new).status_code == 204

    assert login_status(user.email, new[:-1] + "?") == 401
    assert login_status(user.email, new) == 200


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"current_password": PASSWORD},
        {"new_password": NEW},
        {"current_password": 123, "new_password": NEW},
        {"current_password": PASSWORD, "new_password": ["a", "list"]},
        {"current_password": PASSWORD, "new_password": None},
    ],
)
def test_missing_or_mistyped_fields_are_a_400(auth_client: APIClient, data: dict[str, Any]) -> None:
    body = assert_error(auth_client.post(URL, data, format="json"), 400, "validation_error")
    assert body["errors"]


def test_it_needs_a_token(api_client: APIClient) -> None:
    assert_error(
        api_client.post(URL, {"current_password": PASSWORD, "new_password": NEW}, format="json"),
        401,
        "not_authenticated",
    )


def test_the_user_is_told_by_email_with_when_and_from_where(
    user: User, login_as: Callable[..., APIClient], mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    client = login_as(user, HTTP_USER_AGENT="Laptop/3.1", REMOTE_ADDR="198.51.100.23")
    response = client.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        format="json",
        HTTP_USER_AGENT="Laptop/3.1",
        REMOTE_ADDR="198.51.100.23",
    )
    assert response.status_code == 204
    run_jobs()
    [notice] = [m for m in mailoutbox if "password was changed" in m.subject]
    assert notice.to == [user.email]
    assert "198.51.100.23" in notice.body and "Laptop/3.1" in notice.body
    assert "a brand new passphrase" not in notice.body


def test_every_email_kind_has_its_own_builder() -> None:
    from accounts import emails

    # A notice named like a link email would silently replace it (and lose the link).
    assert not set(emails.NOTICES) & {"verify_email", "password_reset", "email_change"}
    assert set(emails.KINDS) == {"verify_email", "password_reset", "email_change", *emails.NOTICES}
