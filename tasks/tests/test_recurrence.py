"""Recurring tasks (SPEC 4c): rules, time zones, completion by every route, exhaustion, and bad input."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import Event
from tasks.models import Status, Task
from tasks.tests.conftest import CLOCK_START

pytestmark = pytest.mark.django_db

NOW = CLOCK_START


def create(client: APIClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tasks/", {"title": "Water the plants", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def complete(client: APIClient, task_id: int) -> dict[str, Any]:
    response = client.post(f"/api/v1/tasks/{task_id}/complete")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_daily_paris_task_stays_at_nine_across_the_march_change(
    next_client: Callable[[], APIClient], clock: Any
) -> None:
    # The clocks go forward in Paris on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
    task = create(next_client(), due_at="2026-03-27T08:00:00Z", recurrence="FREQ=DAILY", timezone="Europe/Paris")
    assert task["recurrence"] == "FREQ=DAILY"
    assert task["recurrence_basis"] == "due"
    assert task["timezone"] == "Europe/Paris"
    seen = []
    for _ in range(3):
        task = complete(next_client(), task["id"])
        seen.append(task["due_at"])
    assert seen == ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    assert task["status"] == "pending"
    assert task["completed_at"] is None


def test_a_daily_paris_task_stays_at_nine_across_the_october_change(
    next_client: Callable[[], APIClient], clock: Any
) -> None:
    # Back to winter time on Sunday 25 October 2026: 09:00 Paris is 07:00 UTC before, 08:00 UTC after.
    clock.move_to(datetime(2026, 10, 23, 5, 0, tzinfo=UTC))
    task = create(next_client(), due_at="2026-10-24T07:00:00Z", recurrence="FREQ=DAILY", timezone="Europe/Paris")
    assert complete(next_client(), task["id"])["due_at"] == "2026-10-25T08:00:00Z"
    assert complete(next_client(), task["id"])["due_at"] == "2026-10-26T08:00:00Z"


def test_monthly_on_the_31st_skips_the_short_months(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-31T12:00:00Z", recurrence="FREQ=MONTHLY;BYMONTHDAY=31", timezone="UTC")
    dues = [complete(next_client(), task["id"])["due_at"][:10] for _ in range(4)]
    assert dues == ["2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31"]


def test_count_ends_the_series_and_the_last_completion_is_for_good(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=WEEKLY;COUNT=2", timezone="UTC")
    assert complete(next_client(), task["id"])["due_at"] == "2026-03-28T09:00:00Z"
    final = complete(next_client(), task["id"])
    assert final["status"] == "completed"
    assert final["completed_at"] is not None
    assert final["due_at"] == "2026-03-28T09:00:00Z"
    # Completed for good: completing again changes nothing.
    assert complete(next_client(), task["id"])["due_at"] == "2026-03-28T09:00:00Z"


def test_until_ends_the_series(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY;UNTIL=20260322", timezone="UTC")
    assert complete(next_client(), task["id"])["due_at"] == "2026-03-22T09:00:00Z"
    assert complete(next_client(), task["id"])["status"] == "completed"


def test_an_overdue_task_moves_to_the_first_occurrence_after_now(
    next_client: Callable[[], APIClient], clock: Any
) -> None:
    task = create(next_client(), due_at="2026-03-10T09:00:00Z", recurrence="FREQ=DAILY", timezone="UTC")
    assert complete(next_client(), task["id"])["due_at"] == "2026-03-20T09:00:00Z"  # now is 06:00 on the 20th


def test_basis_completion_counts_from_the_completion(next_client: Callable[[], APIClient], clock: Any) -> None:
    task = create(
        next_client(),
        due_at="2026-03-10T09:00:00Z",
        recurrence="FREQ=DAILY;INTERVAL=3",
        recurrence_basis="completion",
        timezone="UTC",
    )
    clock.move_to(datetime(2026, 3, 20, 15, 0, tzinfo=UTC))
    assert complete(next_client(), task["id"])["due_at"] == "2026-03-23T09:00:00Z"


def test_the_time_zone_defaults_to_the_profile_then_utc(
    user: Any, next_client: Callable[[], APIClient], outsider: Any, client_for: Callable[[Any], APIClient]
) -> None:
    user.timezone = "America/New_York"
    user.save(update_fields=["timezone"])
    assert create(next_client())["timezone"] == "America/New_York"
    assert create(client_for(outsider))["timezone"] == "UTC"


@pytest.mark.parametrize(
    "route",
    ["patch", "put", "bulk_complete", "bulk_update", "compat_post", "compat_patch"],
)
def test_every_route_that_completes_advances(next_client: Callable[[], APIClient], user: Any, route: str) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY", timezone="UTC")
    client, task_id = next_client(), task["id"]
    if route == "patch":
        response = client.patch(f"/api/v1/tasks/{task_id}", {"status": "completed"}, format="json")
    elif route == "put":
        body = {"title": "Water", "status": "completed", "due_at": task["due_at"], "recurrence": "FREQ=DAILY"}
        response = client.put(f"/api/v1/tasks/{task_id}", body, format="json")
    elif route == "bulk_complete":
        response = client.post("/api/v1/tasks/bulk/", {"action": "complete", "ids": [task_id]}, format="json")
    elif route == "bulk_update":
        body = {"action": "update", "ids": [task_id], "fields": {"status": "completed"}}
        response = client.post("/api/v1/tasks/bulk/", body, format="json")
    elif route == "compat_post":
        response = client.post(f"/api/{user.pk}/tasks/{task_id}/complete")
    else:
        response = client.patch(f"/api/{user.pk}/tasks/{task_id}/complete")
    assert response.status_code == 200, response.content
    stored = Task.objects.get(pk=task_id)
    assert stored.due_at == datetime(2026, 3, 22, 9, 0, tzinfo=UTC)
    assert stored.status == Status.PENDING
    assert stored.completed_at is None


def test_bulk_complete_advances_recurring_tasks_and_completes_the_others(next_client: Callable[[], APIClient]) -> None:
    recurring = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY", timezone="UTC")
    plain = create(next_client(), due_at="2026-03-21T09:00:00Z")
    body = {"action": "complete", "ids": [recurring["id"], plain["id"]]}
    assert next_client().post("/api/v1/tasks/bulk/", body, format="json").json() == {"updated": 2}
    assert Task.objects.get(pk=recurring["id"]).status == Status.PENDING
    assert Task.objects.get(pk=plain["id"]).status == Status.COMPLETED


def test_the_audit_event_carries_the_occurrence_completed(next_client: Callable[[], APIClient], user: Any) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY;COUNT=2", timezone="UTC")
    complete(next_client(), task["id"])
    complete(next_client(), task["id"])
    events = list(Event.objects.filter(event="task.completed").order_by("created_at", "id"))
    assert [event.details for event in events] == [
        {
            "task_id": task["id"],
            "project_id": None,
            "occurrence": "2026-03-21T09:00:00Z",
            "next_due_at": "2026-03-22T09:00:00Z",
        },
        {"task_id": task["id"], "project_id": None, "occurrence": "2026-03-22T09:00:00Z", "next_due_at": None},
    ]
    assert all(event.user_id == user.pk for event in events)


def test_a_repeated_completion_at_the_same_moment_advances_once(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY", timezone="UTC")
    client = next_client()
    first = complete(client, task["id"])
    second = complete(client, task["id"])  # a double click: the clock has not moved
    assert first["due_at"] == second["due_at"] == "2026-03-22T09:00:00Z"
    assert Event.objects.filter(event="task.completed").count() == 1


def test_a_completion_with_a_matching_if_match_always_advances(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY", timezone="UTC")
    client = next_client()
    etag = client.post(f"/api/v1/tasks/{task['id']}/complete")["ETag"]
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", HTTP_IF_MATCH=etag)
    assert response.json()["due_at"] == "2026-03-23T09:00:00Z"
    # The old ETag is stale now: 412, and nothing moves.
    stale = client.post(f"/api/v1/tasks/{task['id']}/complete", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Task.objects.get(pk=task["id"]).due_at == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)


def test_reopen_after_the_end_of_the_series_reopens(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY;COUNT=1", timezone="UTC")
    assert complete(next_client(), task["id"])["status"] == "completed"
    reopened = next_client().post(f"/api/v1/tasks/{task['id']}/reopen").json()
    assert reopened["status"] == "pending"
    assert reopened["completed_at"] is None


def test_changing_the_rule_or_clearing_it(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="rrule:freq=weekly;byday=sa", timezone="UTC")
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=SA"
    client = next_client()
    cleared = client.patch(f"/api/v1/tasks/{task['id']}", {"recurrence": None}, format="json").json()
    assert cleared["recurrence"] is None
    assert complete(client, task["id"])["status"] == "completed"


def test_an_idempotent_create_of_a_recurring_task_replays(next_client: Callable[[], APIClient]) -> None:
    body = {"title": "Standup", "due_at": "2026-03-23T09:00:00Z", "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE"}
    client = next_client()
    first = client.post("/api/v1/tasks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/tasks/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Task.objects.count() == 1


# Bad input: 400 validation_error naming the field -------------------------------------------------------------

BAD_RULES = {
    "FREQ=SECONDLY": "FREQ=SECONDLY is not supported",
    "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO": "BYSETPOS is not supported",
    "FREQ=DAILY;INTERVAL=0": "INTERVAL must be",
    "FREQ=DAILY;COUNT=-1": "COUNT must be",
    "FREQ=DAILY;COUNT=0": "COUNT must be",
    "FREQ=DAILY;COUNT=2;UNTIL=20300101": "COUNT and UNTIL",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30": "never yields",
    "FREQ=DAILY;INTERVAL=7;BYDAY=MO": "never yields",  # from a Saturday, every 7 days is a Saturday
    "FREQ=DAILY;UNTIL=20260101": "never yields",
    "FREQ=WEEKLY;BYDAY=1MO": "needs FREQ=MONTHLY",
    "FREQ=WEEKLY;BYMONTHDAY=3": "cannot be used with FREQ=WEEKLY",
    "FREQ=MONTHLY;BYMONTHDAY=32": "BYMONTHDAY must be",
    "FREQ=YEARLY;BYMONTH=13": "BYMONTH must be",
    "FREQ=DAILY;UNTIL=tomorrow": "UNTIL must be",
    "INTERVAL=2": "FREQ is required",
    "FREQ=DAILY;FREQ=WEEKLY": "given twice",
    "garbage": "is not a NAME=VALUE part",
}


@pytest.mark.parametrize("rule", list(BAD_RULES))
def test_a_bad_rule_is_a_400_naming_recurrence(next_client: Callable[[], APIClient], rule: str) -> None:
    response = next_client().post(
        "/api/v1/tasks/", {"title": "x", "due_at": "2026-03-21T09:00:00Z", "recurrence": rule}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert BAD_RULES[rule] in body["errors"]["recurrence"][0]
    assert Task.objects.count() == 0


def test_a_rule_that_never_matches_answers_quickly(next_client: Callable[[], APIClient]) -> None:
    # dateutil alone would walk every day up to the year 9999 looking for a 30 February.
    body = {"title": "x", "due_at": "2026-03-21T09:00:00Z", "recurrence": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}
    client = next_client()
    started = time.perf_counter()
    assert client.post("/api/v1/tasks/", body, format="json").status_code == 400
    assert time.perf_counter() - started < 2


def test_a_recurrence_needs_a_due_at(next_client: Callable[[], APIClient]) -> None:
    response = next_client().post("/api/v1/tasks/", {"title": "x", "recurrence": "FREQ=DAILY"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"recurrence": ["A recurring task needs a due_at."]}


def test_clearing_the_due_at_of_a_recurring_task_is_refused(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at="2026-03-21T09:00:00Z", recurrence="FREQ=DAILY")
    response = next_client().patch(f"/api/v1/tasks/{task['id']}", {"due_at": None}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"due_at": ["A recurring task needs a due_at."]}
    body = {"action": "update", "ids": [task["id"]], "fields": {"due_at": None}}
    assert next_client().post("/api/v1/tasks/bulk/", body, format="json").status_code == 400
    assert Task.objects.get(pk=task["id"]).due_at is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("timezone", ""),
        ("timezone", 5),
        ("recurrence_basis", "whenever"),
        ("recurrence", 7),
    ],
)
def test_a_bad_zone_or_basis_is_a_400_naming_it(next_client: Callable[[], APIClient], field: str, value: Any) -> None:
    body = {"title": "x", "due_at": "2026-03-21T09:00:00Z", "recurrence": "FREQ=DAILY", field: value}
    response = next_client().post("/api/v1/tasks/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
