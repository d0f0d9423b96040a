"""Tokens: refresh and rotation, reuse detection, the grace window, lifetimes (in body and cookie mode alike),
and forged or broken tokens."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.cookies import COOKIE_NAME
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from accounts.tests.refresh_modes import RefreshMode
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

REFRESH_URL = "/api/v1/auth/refresh"
START = "2026-03-02 09:00:00+00:00"


def login(user: User) -> dict[str, Any]:
    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: Any) -> Any:
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json")


def me(access: str) -> Any:
    return APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {access}")


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# Refresh and rotation ----------------------------------------------------------------------------------


def test_refresh_answers_a_new_pair_of_the_same_session(mode: RefreshMode, user: User) -> None:
    tokens = mode.login(user)

    response = mode.refresh(tokens["refresh"])

    body = mode.tokens(response)
    assert set(body) == {"access", "refresh", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response["Cache-Control"] == "no-store"
    assert body["refresh"] != tokens["refresh"]
    assert claims(body["access"])["sid"] == claims(tokens["access"])["sid"]
    assert claims(body["refresh"])["sid"] == claims(tokens["refresh"])["sid"]
    assert me(body["access"]).status_code == 200
    assert Session.objects.filter(user=user).count() == 1
    assert Event.objects.filter(user=user, event=EventType.TOKEN_REFRESHED).count() == 1


def test_the_access_token_before_a_refresh_keeps_working_until_it_expires(mode: RefreshMode, user: User) -> None:
    tokens = mode.login(user)
    mode.refresh(tokens["refresh"])

    assert me(tokens["access"]).status_code == 200


def test_a_chain_of_rotations_keeps_one_live_session(mode: RefreshMode, user: User, time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    token = mode.login(user)["refresh"]
    for _ in range(5):
        time_machine.shift(timedelta(minutes=14))
        token = mode.tokens(mode.refresh(token))["refresh"]

    assert Session.objects.live().filter(user=user).count() == 1


# Reuse detection and the grace window ----------------------------------------------------------------


def test_a_rotated_token_presented_after_the_grace_window_is_reuse_and_ends_the_session(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    stolen = mode.login(user)
    legit = mode.tokens(mode.refresh(stolen["refresh"]))

    time_machine.shift(timedelta(seconds=settings.REFRESH_GRACE_SECONDS + 1))
    body = assert_error(mode.refresh(stolen["refresh"]), 401, "token_reused")

    assert "access" not in body
    session = Session.objects.get(user=user)
    assert session.ended_at is not None
    assert session.end_reason == Session.EndReason.REUSE_DETECTED
    assert Event.objects.filter(user=user, event=EventType.REFRESH_REUSE_DETECTED).count() == 1
    # The whole session is over: the rightful holder's tokens die too, access and refresh.
    assert_error(me(legit["access"]), 401, "token_invalid")
    assert_error(mode.refresh(legit["refresh"]), 401, "token_invalid")
    assert_error(me(stolen["access"]), 401, "token_invalid")


def test_within_the_grace_window_the_just_rotated_token_yields_working_tokens_of_the_same_session(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    tokens = mode.login(user)
    first = mode.tokens(mode.refresh(tokens["refresh"]))

    time_machine.shift(timedelta(seconds=settings.REFRESH_GRACE_SECONDS))
    second = mode.refresh(tokens["refresh"])

    second_body = mode.tokens(second)
    assert claims(second_body["access"])["sid"] == claims(first["access"])["sid"] == claims(tokens["access"])["sid"]
    assert me(second_body["access"]).status_code == 200
    assert me(first["access"]).status_code == 200
    session = Session.objects.get(user=user)
    assert session.ended_at is None
    # Both tabs hold the refresh token now in force, so either may go on refreshing.
    assert claims(second_body["refresh"])["jti"] == claims(first["refresh"])["jti"] == session.refresh_jti
    assert mode.refresh(second_body["refresh"]).status_code == 200
    assert mode.refresh(first["refresh"]).status_code == 200
    assert Session.objects.filter(user=user).count() == 1
    assert Session.objects.live().filter(user=user).count() == 1


def test_the_grace_window_follows_the_setting(mode: RefreshMode, user: User, settings: Any, time_machine: Any) -> None:
    settings.REFRESH_GRACE_SECONDS = 30
    time_machine.move_to(START, tick=False)
    tokens = mode.login(user)
    mode.refresh(tokens["refresh"])

    time_machine.shift(timedelta(seconds=25))
    assert mode.refresh(tokens["refresh"]).status_code == 200
    time_machine.shift(timedelta(seconds=6))
    assert_error(mode.refresh(tokens["refresh"]), 401, "token_reused")


def test_a_token_two_rotations_old_is_reuse_even_inside_the_window(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    oldest = mode.login(user)["refresh"]
    middle = mode.tokens(mode.refresh(oldest))["refresh"]
    time_machine.shift(timedelta(seconds=1))
    assert mode.refresh(middle).status_code == 200

    assert_error(mode.refresh(oldest), 401, "token_reused")
    assert Session.objects.get(user=user).end_reason == Session.EndReason.REUSE_DETECTED


def test_a_token_of_an_ended_session_is_invalid_not_reuse(mode: RefreshMode, user: User) -> None:
    tokens = mode.login(user)
    assert (
        APIClient()
        .post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}", format="json")
        .status_code
        == 204
    )

    assert_error(mode.refresh(tokens["refresh"]), 401, "token_invalid")


def test_refresh_is_refused_once_the_user_is_deactivated(mode: RefreshMode, user: User) -> None:
    tokens = mode.login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(mode.refresh(tokens["refresh"]), 401, "token_invalid")
    assert_error(me(tokens["access"]), 401, "token_invalid")


# Lifetimes ---------------------------------------------------------------------------------------------


def test_an_access_token_expires_after_its_lifetime_and_refresh_still_works(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    tokens = mode.login(user)

    time_machine.shift(timedelta(minutes=14, seconds=59))
    assert me(tokens["access"]).status_code == 200
    time_machine.shift(timedelta(seconds=2))
    assert_error(me(tokens["access"]), 401, "token_invalid")
    assert mode.refresh(tokens["refresh"]).status_code == 200


def test_a_refresh_token_expires_after_its_lifetime(mode: RefreshMode, user: User, time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    tokens = mode.login(user)

    time_machine.shift(timedelta(days=settings.REFRESH_TOKEN_DAYS, seconds=1))

    assert_error(mode.refresh(tokens["refresh"]), 401, "token_invalid")


def test_no_session_outlives_its_absolute_lifetime_however_often_it_refreshes(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    token = mode.login(user)["refresh"]
    for _ in range(4):  # days 6, 12, 18, 24
        time_machine.shift(timedelta(days=6))
        token = mode.tokens(mode.refresh(token))["refresh"]

    # Five minutes before the end: tokens are cut to what is left of the session.
    time_machine.shift(timedelta(days=5, hours=23, minutes=55))
    response = mode.refresh(token)
    last = mode.tokens(response)
    assert last["expires_in"] == 300
    assert claims(last["refresh"])["exp"] == int(Session.objects.get(user=user).expires_at.timestamp())
    if mode.cookie:  # the cookie dies with the token it holds
        assert response.cookies[COOKIE_NAME]["max-age"] == 300

    time_machine.shift(timedelta(minutes=5, seconds=1))
    assert_error(mode.refresh(last["refresh"]), 401, "token_invalid")
    assert_error(me(last["access"]), 401, "token_invalid")


def test_the_absolute_lifetime_follows_session_max_days(
    mode: RefreshMode, user: User, settings: Any, time_machine: Any
) -> None:
    settings.SESSION_MAX_DAYS = 2
    time_machine.move_to(START, tick=False)
    tokens = mode.login(user)
    time_machine.shift(timedelta(days=1))
    tokens = mode.tokens(mode.refresh(tokens["refresh"]))

    time_machine.shift(timedelta(days=1, seconds=1))

    assert_error(mode.refresh(tokens["refresh"]), 401, "token_invalid")
    assert not Session.objects.live().filter(user=user).exists()


# Forged and broken tokens -----------------------------------------------------------------------------


def _resigned(token: str, *, key: str = settings.SECRET_KEY, algorithm: str = "HS256", **changes: Any) -> str:
    payload = {**claims(token), **changes}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm)


def test_a_token_signed_with_another_key_is_refused(user: User) -> None:
    tokens = login(user)

    assert_error(me(_resigned(tokens["access"], key="k" * 64)), 401, "token_invalid")
    assert_error(refresh(_resigned(tokens["refresh"], key="k" * 64)), 401, "token_invalid")


def test_a_token_with_a_tampered_payload_is_refused(user: User, outsider: User) -> None:
    tokens = login(user)
    header, _, signature = tokens["access"].split(".")
    forged_payload = b64({**claims(tokens["access"]), "user_id": str(outsider.pk)})

    assert_error(me(f"{header}.{forged_payload}.{signature}"), 401, "token_invalid")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_alg_none_token_is_refused(user: User, alg: str) -> None:
    tokens = login(user)
    header = b64({"alg": alg, "typ": "JWT"})

    for token in (f"{header}.{b64(claims(tokens['access']))}.", f"{header}.{b64(claims(tokens['access']))}"):
        assert_error(me(token), 401, "token_invalid")
    assert_error(refresh(f"{header}.{b64(claims(tokens['refresh']))}."), 401, "token_invalid")


def test_a_token_signed_with_another_hmac_algorithm_is_refused(user: User) -> None:
    tokens = login(user)

    assert_error(me(_resigned(tokens["access"], algorithm="HS512")), 401, "token_invalid")


def test_tokens_of_the_wrong_type_are_refused(user: User) -> None:
    tokens = login(user)

    assert_error(me(tokens["refresh"]), 401, "token_invalid")
    assert_error(refresh(tokens["access"]), 401, "token_invalid")
    # Nothing was rotated or ended by either attempt.
    assert refresh(tokens["refresh"]).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"sid": None},
        {"user_id": None},
        {"sid": "not-a-uuid"},
        {"user_id": "42"},
        {"sid": 7},
        {"sid": ["a", "list"]},
        {"sid": str(uuid.uuid4())},
    ],
    ids=["no-sid", "no-user", "sid-not-uuid", "user-not-uuid", "sid-number", "sid-list", "unknown-session"],
)
def test_validly_signed_tokens_with_bad_claims_are_a_401_never_a_500(user: User, changes: dict[str, Any]) -> None:
    tokens = login(user)

    assert_error(me(_resigned(tokens["access"], **changes)), 401, "token_invalid")
    assert_error(refresh(_resigned(tokens["refresh"], **changes)), 401, "token_invalid")


def test_a_token_naming_another_user_than_its_session_is_refused(user: User, outsider: User) -> None:
    tokens = login(user)

    assert_error(me(_resigned(tokens["access"], user_id=str(outsider.pk))), 401, "token_invalid")
    assert_error(refresh(_resigned(tokens["refresh"], user_id=str(outsider.pk))), 401, "token_invalid")
    assert Session.objects.get(user=user).ended_at is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ....",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
        "bearer " + "A" * 5000,
        "Bearer \u00e9\u00e8\u00ea",
    ],
)
def test_garbage_bearer_headers_are_a_401_token_invalid(api_client: APIClient, header: str) -> None:
    assert_error(api_client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=header), 401, "token_invalid")


@pytest.mark.parametrize("header", ["", "Basic dXNlcjpwYXNz", "Token abc", "JWT abc.def.ghi", "   "])
def test_missing_or_foreign_schemes_are_a_401_not_authenticated(api_client: APIClient, header: str) -> None:
    assert_error(api_client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=header), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({}, 400, "validation_error"),
        ({"refresh": ""}, 400, "validation_error"),
        ({"refresh": None}, 400, "validation_error"),
        ({"refresh": 12345}, 400, "validation_error"),
        ({"refresh": ["a"]}, 400, "validation_error"),
        ({"refresh": "x" * 5000}, 400, "validation_error"),
        ({"refresh": "garbage"}, 401, "token_invalid"),
    ],
)
def test_refresh_bad_input(api_client: APIClient, data: dict[str, Any], status: int, code: str) -> None:
    assert_error(api_client.post(REFRESH_URL, data, format="json"), status, code)


def test_refresh_with_a_body_that_is_not_an_object_is_a_400(api_client: APIClient) -> None:
    for body in ('["token"]', '"token"', "null", "true"):
        response = api_client.generic("POST", REFRESH_URL, body, content_type="application/json")
        assert_error(response, 400, "validation_error")
