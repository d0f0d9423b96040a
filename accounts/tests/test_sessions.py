"""GET /auth/sessions and DELETE /auth/sessions/{id}; what authenticating a request costs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.helpers import assert_error, sid
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/sessions"


def refresh(client: APIClient) -> Any:
    return APIClient().post("/api/v1/auth/refresh", {"refresh": client.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]


def test_it_lists_the_users_live_sessions_paginated_with_the_current_one_marked(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    phone = login_as(user, HTTP_USER_AGENT="Phone/1.0", REMOTE_ADDR="198.51.100.7")
    laptop = login_as(user, HTTP_USER_AGENT="Laptop/2.0")
    ended = login_as(user)
    Session.objects.filter(pk=sid(ended)).update(ended_at=timezone.now(), end_reason="logout")
    Session.objects.create(
        user=user, refresh_jti="x", expires_at=timezone.now() - timedelta(seconds=1)
    )  # expired, never ended
    login_as(outsider)

    response = laptop.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert body["next"] is None and body["previous"] is None
    by_id = {item["id"]: item for item in body["results"]}
    assert set(by_id) == {sid(phone), sid(laptop)}
    item = by_id[sid(phone)]
    assert set(item) == {"id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"}
    assert item["user_agent"] == "Phone/1.0"
    assert item["ip_address"] == "198.51.100.7"
    assert item["current"] is False
    assert by_id[sid(laptop)]["current"] is True
    assert item["created_at"].endswith("Z") or item["created_at"].endswith("+00:00")


def test_the_list_is_paginated_like_every_other(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)
    for _ in range(4):
        login_as(user)

    page = client.get(URL, {"page_size": 2, "page": 2}).json()

    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"] and page["previous"]


def test_the_list_costs_two_queries(
    user: User, login_as: Callable[..., APIClient], django_assert_num_queries: Any
) -> None:
    client = login_as(user)
    login_as(user)

    # 1. the session of the access token, joined to its user; 2. the page, with the total as a window count.
    with django_assert_num_queries(2):
        assert client.get(URL).status_code == 200


def test_deleting_a_session_ends_it_and_its_tokens_fail_at_once(user: User, login_as: Callable[..., APIClient]) -> None:
    me = login_as(user)
    other = login_as(user)

    response = me.delete(f"{URL}/{sid(other)}")

    assert response.status_code == 204
    assert response.content == b""
    ended = Session.objects.get(pk=sid(other))
    assert ended.ended_at is not None and ended.end_reason == Session.EndReason.REVOKED
    assert_error(other.get("/api/v1/auth/me"), 401, "token_invalid")
    assert_error(refresh(other), 401, "token_invalid")
    assert me.get("/api/v1/auth/me").status_code == 200
    assert refresh(me).status_code == 200
    assert Event.objects.filter(user=user, event=EventType.SESSION_REVOKED).count() == 1


def test_deleting_the_current_session_signs_this_device_out(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)

    assert client.delete(f"{URL}/{sid(client)}/").status_code == 204

    assert_error(client.get("/api/v1/auth/me"), 401, "token_invalid")
    assert_error(refresh(client), 401, "token_invalid")


def test_another_users_session_is_a_404_and_stays_live(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    mine = login_as(user)
    theirs = login_as(outsider)

    assert_error(mine.delete(f"{URL}/{sid(theirs)}"), 404, "not_found")

    assert Session.objects.get(pk=sid(theirs)).ended_at is None
    assert theirs.get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-uuid", "1", "../me"])
def test_an_unknown_or_malformed_session_id_is_a_json_404(auth_client: APIClient, session_id: str) -> None:
    assert_error(auth_client.delete(f"{URL}/{session_id}"), 404, "not_found")


def test_an_ended_session_is_a_404(user: User, login_as: Callable[..., APIClient]) -> None:
    client = login_as(user)
    other = login_as(user)
    assert client.delete(f"{URL}/{sid(other)}").status_code == 204

    assert_error(client.delete(f"{URL}/{sid(other)}"), 404, "not_found")


def test_sessions_need_a_token(api_client: APIClient) -> None:
    response = api_client.get(URL)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_session_detail_answers_405_to_get(auth_client: APIClient) -> None:
    assert_error(auth_client.get(f"{URL}/{uuid.uuid4()}"), 405, "method_not_allowed")


# What authentication costs ------------------------------------------------------------------------------


def test_authenticating_a_request_costs_one_query(auth_client: APIClient, django_assert_num_queries: Any) -> None:
    # 1. SELECT the live session of the token's `sid`, joined to its user. Nothing else: no write.
    with django_assert_num_queries(1):
        response = auth_client.get("/api/v1/auth/me")
    assert response.status_code == 200


def test_last_used_at_is_written_at_most_once_a_minute(
    user: User, login_as: Callable[..., APIClient], django_assert_num_queries: Any, time_machine: Any
) -> None:
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    client = login_as(user)
    session = Session.objects.get(pk=sid(client))
    opened = session.last_used_at

    time_machine.shift(timedelta(seconds=59))
    with django_assert_num_queries(1):
        client.get("/api/v1/auth/me")
    assert Session.objects.get(pk=session.pk).last_used_at == opened

    time_machine.shift(timedelta(seconds=2))
    # 1. the session; 2. the conditional UPDATE of last_used_at.
    with django_assert_num_queries(2):
        client.get("/api/v1/auth/me")
    touched = Session.objects.get(pk=session.pk).last_used_at
    assert touched == timezone.now()

    with django_assert_num_queries(1):
        client.get("/api/v1/auth/me")


def test_expires_at_is_when_the_session_ends_if_unused_and_an_expired_one_is_not_listed(
    user: User, login_as: Callable[..., APIClient], time_machine: Any, settings: Any
) -> None:
    settings.REFRESH_TOKEN_DAYS = 7
    time_machine.move_to("2030-01-01T12:00:00Z", tick=False)
    idle = login_as(user, HTTP_USER_AGENT="Idle/1")
    time_machine.shift(timedelta(days=6))
    active = login_as(user, HTTP_USER_AGENT="Active/1")
    listed = {item["user_agent"]: item["expires_at"] for item in active.get(URL).json()["results"]}
    assert listed == {"Idle/1": "2030-01-08T12:00:00Z", "Active/1": "2030-01-14T12:00:00Z"}

    # A refresh moves it on, never past the absolute end (30 days from sign-in).
    time_machine.shift(timedelta(hours=1))
    assert refresh(active).status_code == 200
    time_machine.shift(timedelta(days=2))  # day 8: the idle session's refresh token has expired
    fresh = login_as(user, HTTP_USER_AGENT="Fresh/1")
    listed = {item["user_agent"]: item["expires_at"] for item in fresh.get(URL).json()["results"]}
    assert listed == {"Active/1": "2030-01-14T13:00:00Z", "Fresh/1": "2030-01-16T13:00:00Z"}
    assert sid(idle) not in {item["id"] for item in fresh.get(URL).json()["results"]}


def test_a_sessions_is_live_agrees_with_the_live_queryset(user: User, settings: Any) -> None:
    settings.REFRESH_TOKEN_DAYS = 7
    now = timezone.now()
    far = now + timedelta(days=30)
    cases = {
        "fresh": {"created_at": now, "expires_at": far},
        "refreshed lately": {
            "created_at": now - timedelta(days=20),
            "rotated_at": now - timedelta(days=1),
            "expires_at": far,
        },
        "idle past its refresh token": {"created_at": now - timedelta(days=8), "expires_at": far},
        "past its absolute end": {"created_at": now - timedelta(days=1), "expires_at": now - timedelta(seconds=1)},
        "ended": {"created_at": now, "expires_at": far, "ended_at": now},
    }
    made = {name: Session.objects.create(user=user, refresh_jti=name, **fields) for name, fields in cases.items()}
    live = set(Session.objects.live().values_list("pk", flat=True))
    assert {name for name, s in made.items() if s.pk in live} == {"fresh", "refreshed lately"}
    assert {name for name, s in made.items() if s.is_live} == {"fresh", "refreshed lately"}
