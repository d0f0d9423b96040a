"""Reminders (SPEC 4c): kept on the task, armed for their time, delivered once per occurrence in-app and by email."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tasks import jobs
from tasks.models import Notification, Reminder, ReminderDelivery, Task
from tasks.services import reminders as reminder_services
from tasks.services.reminders import reminders_fire_due
from tasks.tests.conftest import CLOCK_START
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

NOW = CLOCK_START
DUE = "2026-03-20T10:00:00Z"


def create(client: APIClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tasks/", {"title": "Call the plumber", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def inbox(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/notifications/", params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def fire_at(clock: Any, moment: datetime, run_jobs: Callable[[], int]) -> None:
    """The clock at `moment`, then the scheduler job and the jobs it queued, as a worker runs them."""
    clock.move_to(moment)
    jobs.fire_reminders.enqueue()
    run_jobs()


def test_reminders_are_written_and_shown_with_their_ids(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"at": "2026-03-20T08:00:00Z"}, {"before_due": 30}])
    first, second = task["reminders"]
    assert first == {"id": first["id"], "at": "2026-03-20T08:00:00Z"}
    assert second == {"id": second["id"], "before_due": 30}
    rows = {row.pk: row for row in Reminder.objects.all()}
    assert rows[first["id"]].next_fire_at == datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    assert rows[second["id"]].next_fire_at == datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
    # The list shows them too, from the task's own row.
    assert next_client().get("/api/v1/tasks/").json()["results"][0]["reminders"] == task["reminders"]


def test_sending_the_list_back_keeps_ids_and_drops_what_is_left_out(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"before_due": 30}, {"before_due": 60}])
    keep, drop = task["reminders"]
    body = {"reminders": [{"id": keep["id"], "before_due": 15}, {"at": "2026-03-21T08:00:00Z"}]}
    updated = next_client().patch(f"/api/v1/tasks/{task['id']}", body, format="json").json()
    assert updated["reminders"][0] == {"id": keep["id"], "before_due": 15}
    assert "at" in updated["reminders"][1]
    assert not Reminder.objects.filter(pk=drop["id"]).exists()
    assert Reminder.objects.get(pk=keep["id"]).next_fire_at == datetime(2026, 3, 20, 9, 45, tzinfo=UTC)
    cleared = next_client().patch(f"/api/v1/tasks/{task['id']}", {"reminders": None}, format="json").json()
    assert cleared["reminders"] == []
    assert Reminder.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"due_at": DUE, "reminders": [{"before_due": 5}] * 6}, "no more than 5"),
        ({"reminders": [{"before_due": 5}]}, "before_due needs the task to have a due_at"),
        ({"reminders": [{"at": "2026-03-19T08:00:00Z"}]}, "at must be in the future"),
        ({"due_at": DUE, "reminders": [{"at": "2026-03-21T08:00:00Z", "before_due": 5}]}, "either at or before_due"),
        ({"due_at": DUE, "reminders": [{}]}, "either at or before_due"),
        ({"due_at": DUE, "reminders": [{"before_due": 40_321}]}, "40320"),
        ({"due_at": DUE, "reminders": [{"before_due": -1}]}, "0"),
        ({"due_at": DUE, "reminders": [{"at": "soon"}]}, ""),
        ({"due_at": DUE, "reminders": [{"id": 999, "before_due": 5}]}, "no reminder 999"),
        ({"due_at": DUE, "reminders": "often"}, ""),
    ],
)
def test_bad_reminders_are_a_400_naming_reminders(
    next_client: Callable[[], APIClient], fields: dict[str, Any], message: str
) -> None:
    response = next_client().post("/api/v1/tasks/", {"title": "x", **fields}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    # Named down to the reminder's own field where one is at fault ("reminders.before_due").
    assert {key.split(".")[0] for key in errors} == {"reminders"}
    assert message in str(errors)
    assert Task.objects.count() == 0


def test_a_reminder_arrives_in_the_inbox_and_by_email_once(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int], user: Any
) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    fire_at(clock, datetime(2026, 3, 20, 8, 59, 59, tzinfo=UTC), run_jobs)
    assert Notification.objects.count() == 0  # a second early: nothing
    fire_at(clock, datetime(2026, 3, 20, 9, 0, 5, tzinfo=UTC), run_jobs)
    fire_at(clock, datetime(2026, 3, 20, 9, 0, 30, tzinfo=UTC), run_jobs)
    (notification,) = inbox(next_client())
    assert notification["kind"] == "reminder"
    assert notification["task"] == task["id"]
    assert notification["actor"] is None
    assert notification["read_at"] is None
    assert notification["text"] == 'Reminder: "Call the plumber" is due 2026-03-20 10:00 (UTC).'
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert "Call the plumber" in message.subject
    assert "Call the plumber" in message.body


def test_a_reminder_missed_while_workers_were_down_arrives_late_once(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int]
) -> None:
    create(next_client(), due_at=DUE, reminders=[{"at": "2026-03-20T07:00:00Z"}])
    # No worker from 06:00 to 09:00; it starts again after the reminder's time (and after its due time).
    fire_at(clock, datetime(2026, 3, 20, 11, 0, tzinfo=UTC), run_jobs)
    fire_at(clock, datetime(2026, 3, 20, 11, 1, tzinfo=UTC), run_jobs)
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_scheduler_run_twice_delivers_once(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int]
) -> None:
    create(next_client(), due_at=DUE, reminders=[{"before_due": 60}, {"at": "2026-03-20T09:00:00Z"}])
    clock.move_to(datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC))
    jobs.fire_reminders.enqueue()
    jobs.fire_reminders.enqueue()
    run_jobs()
    assert Notification.objects.count() == 2  # two reminders, each once
    assert ReminderDelivery.objects.count() == 2
    assert len(mail.outbox) == 2


def test_a_delivery_already_recorded_is_not_repeated(next_client: Callable[[], APIClient], clock: Any) -> None:
    # A run whose reminder was re-armed for an occurrence already delivered (a stale read, a second worker):
    # the unique key on (reminder, occurrence) turns the second delivery away.
    create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    clock.move_to(datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC))
    assert reminders_fire_due() == 1
    Reminder.objects.update(next_fire_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC))
    assert reminders_fire_due() == 0
    assert Notification.objects.count() == 1
    assert Reminder.objects.get().next_fire_at is None


def test_a_worker_killed_mid_delivery_leaves_it_for_the_next_run(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int]
) -> None:
    create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    clock.move_to(datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC))
    with (
        mock.patch.object(reminder_services, "notify_all", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        reminders_fire_due()
    assert ReminderDelivery.objects.count() == 0  # rolled back with the rest
    assert Reminder.objects.get().next_fire_at is not None
    jobs.fire_reminders.enqueue()
    run_jobs()
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_relative_reminder_follows_a_moved_due_at(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int]
) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    next_client().patch(f"/api/v1/tasks/{task['id']}", {"due_at": "2026-03-21T10:00:00Z"}, format="json")
    assert Reminder.objects.get().next_fire_at == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    fire_at(clock, datetime(2026, 3, 20, 9, 30, tzinfo=UTC), run_jobs)
    assert Notification.objects.count() == 0
    body = {"action": "update", "ids": [task["id"]], "fields": {"due_at": "2026-03-22T10:00:00Z"}}
    assert next_client().post("/api/v1/tasks/bulk/", body, format="json").status_code == 200
    assert Reminder.objects.get().next_fire_at == datetime(2026, 3, 22, 9, 0, tzinfo=UTC)


def test_a_relative_reminder_re_arms_for_each_occurrence(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int]
) -> None:
    task = create(next_client(), due_at=DUE, recurrence="FREQ=DAILY", timezone="UTC", reminders=[{"before_due": 60}])
    fire_at(clock, datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC), run_jobs)
    assert next_client().post(f"/api/v1/tasks/{task['id']}/complete").json()["due_at"] == "2026-03-21T10:00:00Z"
    assert Reminder.objects.get().next_fire_at == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    fire_at(clock, datetime(2026, 3, 21, 9, 0, 1, tzinfo=UTC), run_jobs)
    texts = [n["text"] for n in inbox(next_client())]
    assert texts == [
        'Reminder: "Call the plumber" is due 2026-03-21 10:00 (UTC).',
        'Reminder: "Call the plumber" is due 2026-03-20 10:00 (UTC).',
    ]
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("how", ["complete", "bulk_complete", "delete", "bulk_delete"])
def test_completing_or_deleting_cancels_what_is_pending(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int], how: str
) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"before_due": 60}, {"at": "2026-03-20T08:00:00Z"}])
    client = next_client()
    if how == "complete":
        client.post(f"/api/v1/tasks/{task['id']}/complete")
    elif how == "delete":
        client.delete(f"/api/v1/tasks/{task['id']}")
    else:
        client.post("/api/v1/tasks/bulk/", {"action": how.removeprefix("bulk_"), "ids": [task["id"]]}, format="json")
    assert not Reminder.objects.filter(next_fire_at__isnull=False).exists()
    fire_at(clock, datetime(2026, 3, 20, 12, 0, tzinfo=UTC), run_jobs)
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_restoring_re_arms_what_is_still_ahead(next_client: Callable[[], APIClient]) -> None:
    task = create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    client = next_client()
    client.delete(f"/api/v1/tasks/{task['id']}")
    client.post(f"/api/v1/tasks/{task['id']}/restore")
    assert Reminder.objects.get().next_fire_at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def test_email_notifications_off_keeps_the_inbox_only(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int], user: Any
) -> None:
    response = next_client().patch("/api/v1/auth/me", {"email_notifications": False}, format="json")
    assert response.status_code == 200
    assert response.json()["email_notifications"] is False
    create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    fire_at(clock, datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC), run_jobs)
    assert Notification.objects.count() == 1
    assert mail.outbox == []


def test_turning_email_off_after_the_job_was_queued_still_sends_nothing(
    next_client: Callable[[], APIClient], clock: Any, run_jobs: Callable[[], int], user: Any
) -> None:
    create(next_client(), due_at=DUE, reminders=[{"before_due": 60}])
    clock.move_to(datetime(2026, 3, 20, 9, 0, 1, tzinfo=UTC))
    reminders_fire_due()
    user.email_notifications = False
    user.save(update_fields=["email_notifications"])
    run_jobs()
    assert mail.outbox == []


def test_a_scheduler_tick_costs_the_same_whatever_the_number_of_pending_reminders(
    user: Any, django_assert_num_queries: Any
) -> None:
    future = NOW + timedelta(days=30)

    def pend(count: int) -> None:
        tasks = TaskFactory.create_batch(count // 5, owner=user, due_at=future + timedelta(hours=1))
        Reminder.objects.bulk_create(
            Reminder(task=task, before_due=10 * i + 1, next_fire_at=future, occurrence=task.due_at)
            for task in tasks
            for i in range(5)
        )

    def tick_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert reminders_fire_due(now=NOW) == 0
        return [query["sql"] for query in queries.captured_queries]

    pend(100)
    few = tick_queries()
    pend(5000)
    many = tick_queries()
    assert len(few) == len(many)
    # 1. SAVEPOINT  2. SELECT ... WHERE next_fire_at <= now ORDER BY next_fire_at LIMIT 100  3. RELEASE
    with django_assert_num_queries(3):
        reminders_fire_due(now=NOW)
    assert "LIMIT 100" in few[1]
