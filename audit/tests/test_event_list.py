"""GET /api/v1/audit/events/: own events for users, everyone's for staff, filters, and no way to write."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import User
from audit.context import RequestContext
from audit.models import Event, EventType
from audit.services import audit_record

URL = "/api/v1/audit/events/"
FIELDS = {"id", "event", "user", "email", "actor", "ip_address", "user_agent", "request_id", "created_at", "details"}


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(UTC)


def record_at(stamp: str, event: EventType, user: User | None, **kwargs: Any) -> Event:
    with time_machine.travel(at(stamp), tick=False):
        return audit_record(event=event, user=user, **kwargs)


@pytest.fixture
def timeline(user: User, outsider: User) -> dict[str, Event]:
    """Events of two users over two days, recorded before anyone signs in for the test."""
    meta = RequestContext(ip_address="198.51.100.4", user_agent="Browser/1\nforged line", request_id="req-timeline")
    return {
        "failed": record_at("2026-01-10T08:00:00+00:00", EventType.LOGIN_FAILED, user, meta=meta),
        "profile": record_at(
            "2026-01-10T23:30:00+00:00", EventType.PROFILE_UPDATED, user, meta=meta, details={"fields": ["bio"]}
        ),
        "outsider": record_at("2026-01-10T23:45:00+00:00", EventType.LOGIN_SUCCEEDED, outsider, meta=meta),
        "created": record_at(
            "2026-01-11T00:30:00+00:00", EventType.TASK_CREATED, user, meta=meta, details={"task_id": 7}
        ),
    }


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def own_logins(user: User) -> list[int]:
    return list(
        Event.objects.filter(user=user, event="auth.login_succeeded", created_at__gt=at("2026-02-01T00:00:00+00:00"))
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )


# Who sees what ---------------------------------------------------------------------------------------


def test_a_user_sees_only_their_own_events_newest_first(
    timeline: dict[str, Event], auth_client: APIClient, user: User
) -> None:
    response = auth_client.get(URL)

    assert ids(response) == [
        *own_logins(user),
        timeline["created"].id,
        timeline["profile"].id,
        timeline["failed"].id,
    ]
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4


def test_an_event_is_shown_with_exactly_the_documented_fields(
    timeline: dict[str, Event], auth_client: APIClient, user: User
) -> None:
    item = next(e for e in auth_client.get(URL).json()["results"] if e["id"] == timeline["profile"].id)

    assert set(item) == FIELDS
    assert item == {
        "id": timeline["profile"].id,
        "event": "account.profile_updated",
        "user": str(user.pk),
        "email": "owner@example.com",
        "actor": None,
        "ip_address": "198.51.100.4",
        # Stored and answered as data: the newline is escaped JSON, not a new line of anything.
        "user_agent": "Browser/1\nforged line",
        "request_id": "req-timeline",
        "created_at": "2026-01-10T23:30:00Z",
        "details": {"fields": ["bio"]},
    }


def test_staff_see_everyone_s_events(timeline: dict[str, Event], staff_client: APIClient) -> None:
    shown = ids(staff_client.get(URL, {"page_size": 100}))

    assert {event.id for event in timeline.values()} <= set(shown)
    assert shown == list(Event.objects.order_by("-created_at", "-id").values_list("id", flat=True))


def test_a_user_asking_for_someone_else_s_events_still_sees_only_their_own(
    timeline: dict[str, Event], auth_client: APIClient, user: User, outsider: User
) -> None:
    mine = ids(auth_client.get(URL))

    assert ids(auth_client.get(URL, {"user": str(outsider.pk)})) == mine
    assert timeline["outsider"].id not in mine


def test_the_list_needs_a_signed_in_user(timeline: dict[str, Event], api_client: APIClient) -> None:
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_list_is_paginated(timeline: dict[str, Event], auth_client: APIClient) -> None:
    first = auth_client.get(URL, {"page_size": 2}).json()
    second = auth_client.get(URL, {"page_size": 2, "page": 2}).json()

    assert first["count"] == 4
    assert len(first["results"]) == 2 and first["previous"] is None and first["next"]
    assert [e["id"] for e in second["results"]] == [timeline["profile"].id, timeline["failed"].id]


def test_the_trailing_slash_is_optional(timeline: dict[str, Event], auth_client: APIClient) -> None:
    assert ids(auth_client.get(URL.rstrip("/"))) == ids(auth_client.get(URL))
    event_id = timeline["failed"].id
    assert auth_client.get(f"{URL}{event_id}").status_code == 200
    assert auth_client.get(f"{URL}{event_id}/").status_code == 200


def test_the_list_costs_two_queries(
    timeline: dict[str, Event], auth_client: APIClient, django_assert_num_queries: Any
) -> None:
    # 1. the token's session joined to its user, 2. the page of events with the total as a window count.
    with django_assert_num_queries(2):
        assert auth_client.get(URL).status_code == 200


def test_the_staff_list_costs_two_queries(
    timeline: dict[str, Event], staff_client: APIClient, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        assert staff_client.get(URL, {"event": "auth.login_failed,task.created"}).status_code == 200


# Staff filters ---------------------------------------------------------------------------------------


def test_staff_filter_by_user(timeline: dict[str, Event], staff_client: APIClient, outsider: User) -> None:
    shown = ids(staff_client.get(URL, {"user": str(outsider.pk)}))

    assert shown == [*own_logins(outsider), timeline["outsider"].id]


def test_staff_filter_by_one_event_type(timeline: dict[str, Event], staff_client: APIClient) -> None:
    assert ids(staff_client.get(URL, {"event": "auth.login_failed"})) == [timeline["failed"].id]


def test_staff_filter_by_several_event_types_comma_separated_or_repeated(
    timeline: dict[str, Event], staff_client: APIClient
) -> None:
    wanted = [timeline["created"].id, timeline["failed"].id]

    assert ids(staff_client.get(URL, {"event": "task.created,auth.login_failed"})) == wanted
    assert ids(staff_client.get(f"{URL}?event=task.created&event=auth.login_failed")) == wanted


def test_staff_filter_by_a_datetime_range(timeline: dict[str, Event], staff_client: APIClient) -> None:
    response = staff_client.get(URL, {"since": "2026-01-10T10:00:00+01:00", "until": "2026-01-10T23:45:00Z"})

    assert ids(response) == [timeline["outsider"].id, timeline["profile"].id]


def test_since_and_until_dates_mean_whole_days_in_utc(timeline: dict[str, Event], staff_client: APIClient) -> None:
    day = ids(staff_client.get(URL, {"since": "2026-01-10", "until": "2026-01-10"}))

    assert day == [timeline["outsider"].id, timeline["profile"].id, timeline["failed"].id]
    assert ids(staff_client.get(URL, {"since": "2026-01-11", "until": "2026-01-11"})) == [timeline["created"].id]


def test_a_range_from_a_time_to_the_end_of_that_day_is_valid(
    timeline: dict[str, Event], staff_client: APIClient
) -> None:
    response = staff_client.get(URL, {"since": "2026-01-10T23:00:00Z", "until": "2026-01-10"})

    assert ids(response) == [timeline["outsider"].id, timeline["profile"].id]


def test_a_naive_datetime_is_taken_as_utc(timeline: dict[str, Event], staff_client: APIClient) -> None:
    assert ids(staff_client.get(URL, {"until": "2026-01-10T08:00:00"})) == [timeline["failed"].id]


def test_an_offset_whose_plus_arrived_as_a_space_still_parses(
    timeline: dict[str, Event], staff_client: APIClient
) -> None:
    # `+01:00` unencoded in a query string reads as ` 01:00`.
    assert ids(staff_client.get(f"{URL}?until=2026-01-10T09:00:00+01:00")) == [timeline["failed"].id]


def test_filters_combine(timeline: dict[str, Event], staff_client: APIClient, user: User) -> None:
    response = staff_client.get(
        URL, {"user": str(user.pk), "event": "auth.login_failed,account.profile_updated", "since": "2026-01-10T12:00Z"}
    )

    assert ids(response) == [timeline["profile"].id]


def test_the_far_ends_of_the_calendar_are_accepted(timeline: dict[str, Event], staff_client: APIClient) -> None:
    assert staff_client.get(URL, {"since": "0001-01-01", "until": "9999-12-31"}).status_code == 200
    assert staff_client.get(URL, {"until": "9999-12-31T23:59:59.999999Z"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"user": "not-a-uuid"}, "user"),
        ({"event": "auth.nonsense"}, "event"),
        ({"event": "auth.login_failed,,DROP TABLE"}, "event"),
        ({"event": "auth.login_failed\x00"}, "event"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-01"}, "since"),
        ({"until": "2026-01-10T25:00:00Z"}, "until"),
        ({"until": "10000-01-01"}, "until"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),
        ({"until": "\x00"}, "until"),
        ({"since": "2026-01-11", "until": "2026-01-10"}, "until"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(
    timeline: dict[str, Event], staff_client: APIClient, auth_client: APIClient, params: dict[str, str], field: str
) -> None:
    for client in (staff_client, auth_client):
        response = client.get(URL, params)

        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "validation_error"
        assert field in body["errors"]
        assert body["request_id"]


# One event -------------------------------------------------------------------------------------------


def test_a_user_reads_one_of_their_events(timeline: dict[str, Event], auth_client: APIClient) -> None:
    response = auth_client.get(f"{URL}{timeline['created'].id}")

    assert response.status_code == 200
    assert set(response.json()) == FIELDS
    assert response.json()["details"] == {"task_id": 7}


def test_someone_else_s_event_is_a_404(timeline: dict[str, Event], auth_client: APIClient) -> None:
    response = auth_client.get(f"{URL}{timeline['outsider'].id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_read_anyone_s_event(timeline: dict[str, Event], staff_client: APIClient) -> None:
    assert staff_client.get(f"{URL}{timeline['outsider'].id}").status_code == 200


@pytest.mark.parametrize("event_id", ["0", "999999999", "9" * 18, "9" * 30, "abc", "-1"])
def test_an_unknown_event_id_is_a_404(timeline: dict[str, Event], staff_client: APIClient, event_id: str) -> None:
    response = staff_client.get(f"{URL}{event_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# No writes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("who", ["staff_client", "auth_client", "api_client"])
def test_no_write_method_exists(timeline: dict[str, Event], request: Any, method: str, who: str) -> None:
    client = request.getfixturevalue(who)
    event = timeline["failed"]
    before = list(Event.objects.order_by("id").values())

    for path in (URL, f"{URL}{event.id}", URL.rstrip("/"), f"{URL}{event.id}/"):
        response = getattr(client, method)(path, {"event": "auth.registered", "email": "x@example.com"}, format="json")

        assert response.status_code == 405, (path, response.content)
        assert response.json()["code"] == "method_not_allowed"
        assert "GET" in response["Allow"] and method.upper() not in response["Allow"]
    assert list(Event.objects.order_by("id").values()) == before
