"""POST /auth/logout and /auth/logout/all: the affected access and refresh tokens fail on the next request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.helpers import assert_error, sid
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout/all"


def works(client: APIClient) -> bool:
    """Both of the client's tokens still work: its access token, and its refresh token (not rotated here)."""
    access_ok = client.get("/api/v1/auth/me").status_code == 200
    session = Session.objects.get(pk=sid(client))
    return access_ok and session.ended_at is None


def refresh_status(client: APIClient) -> int:
    response = APIClient().post("/api/v1/auth/refresh", {"refresh": client.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]
    return response.status_code


def test_logout_ends_the_session_of_the_access_token(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)
    other = login_as(user)

    response = client.post(LOGOUT)

    assert response.status_code == 204
    assert response.content == b""
    session = Session.objects.get(pk=sid(client))
    assert session.ended_at is not None and session.end_reason == Session.EndReason.LOGOUT
    assert_error(client.get("/api/v1/auth/me"), 401, "token_invalid")
    assert refresh_status(client) == 401
    assert works(other)
    assert refresh_status(other) == 200
    assert Event.objects.filter(user=user, event=EventType.LOGOUT).count() == 1


def test_logout_with_its_own_refresh_token(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)

    assert client.post(LOGOUT, {"refresh": client.tokens["refresh"]}, format="json").status_code == 204  # type: ignore[attr-defined]

    assert refresh_status(client) == 401
    assert Event.objects.filter(user=user, event=EventType.LOGOUT).count() == 1


def test_logout_also_ends_the_session_of_a_presented_refresh_token_of_the_same_user(
    user: User, login_as: Callable[..., APIClient]
) -> None:
    client = login_as(user)
    other = login_as(user)
    bystander = login_as(user)

    client.post(LOGOUT, {"refresh": other.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]

    assert client.get("/api/v1/auth/me").status_code == 401
    assert other.get("/api/v1/auth/me").status_code == 401
    assert refresh_status(other) == 401
    assert works(bystander)


def test_another_users_refresh_token_is_ignored(user: User, outsider: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)
    theirs = login_as(outsider)

    assert client.post(LOGOUT, {"refresh": theirs.tokens["refresh"]}, format="json").status_code == 204  # type: ignore[attr-defined]

    assert works(theirs)
    assert refresh_status(theirs) == 200


@pytest.mark.parametrize("refresh", ["garbage", "a.b.c"])
def test_a_refresh_token_that_does_not_verify_still_signs_this_session_out(
    user: User, login_as: Callable[..., APIClient], refresh: str
) -> None:
    client = login_as(user)

    assert client.post(LOGOUT, {"refresh": refresh}, format="json").status_code == 204

    assert Session.objects.get(pk=sid(client)).ended_at is not None
    assert client.get("/api/v1/auth/me").status_code == 401


def test_an_expired_refresh_token_still_lets_the_session_sign_out(
    user: User, login_as: Callable[..., APIClient], time_machine: Any
) -> None:
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    old = login_as(user)
    time_machine.shift(timedelta(days=8))
    client = login_as(user)

    assert client.post(LOGOUT, {"refresh": old.tokens["refresh"]}, format="json").status_code == 204  # type: ignore[attr-defined]

    assert client.get("/api/v1/auth/me").status_code == 401


def test_logout_needs_an_access_token(api_client: APIClient, auth_client: APIClient) -> None:
    response = api_client.post(LOGOUT, {"refresh": auth_client.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert auth_client.get("/api/v1/auth/me").status_code == 200


def test_logging_out_twice_is_a_401_the_second_time(auth_client: APIClient) -> None:
    assert auth_client.post(LOGOUT).status_code == 204
    assert_error(auth_client.post(LOGOUT), 401, "token_invalid")


@pytest.mark.parametrize("body", ['["refresh"]', '{"refresh": 5}', '{"refresh": ', "null"])
def test_logout_bad_bodies_are_400_and_end_nothing(auth_client: APIClient, body: str) -> None:
    response = auth_client.generic("POST", LOGOUT, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "parse_error"}
    assert auth_client.get("/api/v1/auth/me").status_code == 200


def test_logout_all_ends_every_session_of_the_user_and_no_one_elses(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    clients = [login_as(user) for _ in range(3)]
    theirs = login_as(outsider)

    response = clients[0].post(LOGOUT_ALL)

    assert response.status_code == 204
    for client in clients:
        assert_error(client.get("/api/v1/auth/me"), 401, "token_invalid")
        assert refresh_status(client) == 401
    assert not Session.objects.live().filter(user=user).exists()
    assert set(Session.objects.filter(user=user).values_list("end_reason", flat=True)) == {Session.EndReason.LOGOUT_ALL}
    assert works(theirs)
    event = Event.objects.get(user=user, event=EventType.LOGOUT_ALL)
    assert event.details == {"sessions_ended": 3}


def test_logout_all_needs_an_access_token(api_client: APIClient) -> None:
    assert_error(api_client.post(LOGOUT_ALL), 401, "not_authenticated")
