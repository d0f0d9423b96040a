"""Races of recurrence and reminders: concurrent completions advance once, concurrent schedulers deliver once.

Needs PostgreSQL: the row locks (FOR UPDATE, FOR UPDATE SKIP LOCKED) are what keep the work apart, and only a
server database lets several threads hold real connections at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.models import Event
from config.jobs.tests.test_worker_processes import start_worker, wait_until  # noqa: F401 (a fixture)
from config.jobs.worker import Worker
from config.tests.concurrency import all_at_once
from tasks import jobs
from tasks.models import Notification, Reminder, ReminderDelivery, Task
from tasks.services.reminders import reminders_fire_due
from tasks.tests.factories import TaskFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)


def test_two_concurrent_completions_of_a_recurring_task_advance_it_once(
    user: Any, client_for: Callable[[Any], Any]
) -> None:
    with time_machine.travel(NOW, tick=False):
        first, second = client_for(user), client_for(user)
        body = {"title": "Standup", "due_at": "2026-03-20T09:00:00Z", "recurrence": "FREQ=DAILY", "timezone": "UTC"}
        task_id = first.post("/api/v1/tasks/", body, format="json").json()["id"]
        answers = all_at_once(
            [
                lambda: first.post(f"/api/v1/tasks/{task_id}/complete"),
                lambda: second.post(f"/api/v1/tasks/{task_id}/complete"),
            ]
        )
    assert [answer.status_code for answer in answers] == [200, 200]
    assert Task.objects.get(pk=task_id).due_at == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    assert Event.objects.filter(event="task.completed").count() == 1


def _due_reminders(user: Any, count: int) -> None:
    tasks = TaskFactory.create_batch(count, owner=user, due_at=NOW + timedelta(hours=1))
    Reminder.objects.bulk_create(
        Reminder(task=task, before_due=60, next_fire_at=NOW, occurrence=task.due_at) for task in tasks
    )
    Task.objects.update(reminders=[{"id": 0, "before_due": 60}])


def test_two_schedulers_at_once_deliver_each_reminder_once(user: Any) -> None:
    _due_reminders(user, 250)  # more than two batches
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        delivered = all_at_once([reminders_fire_due, reminders_fire_due, reminders_fire_due])
    assert sum(delivered) == 250
    assert ReminderDelivery.objects.count() == 250
    assert Notification.objects.count() == 250
    assert not Reminder.objects.filter(next_fire_at__isnull=False).exists()


def test_two_workers_running_the_scheduler_send_one_notification_and_one_email(user: Any) -> None:
    _due_reminders(user, 1)
    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        jobs.fire_reminders.enqueue()
        jobs.fire_reminders.enqueue()
        all_at_once([Worker(worker_id="a").run_pending, Worker(worker_id="b").run_pending])
        Worker(worker_id="c").run_pending()
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_scheduler_finds_due_reminders_by_its_index_among_many_pending(user: Any) -> None:
    # With many reminders pending later, the planner walks the partial index on next_fire_at and stops at
    # the first row past now: a tick's cost does not grow with what is pending (100,000 in docs/architecture).
    later = NOW + timedelta(days=30)
    tasks = TaskFactory.create_batch(20, owner=user, due_at=later)
    Reminder.objects.bulk_create(
        (
            Reminder(task=tasks[i % 20], before_due=i % 40_000, next_fire_at=later, occurrence=later)
            for i in range(20_000)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_reminder")
    query = Reminder.objects.filter(next_fire_at__lte=NOW).order_by("next_fire_at")[:100]
    plan = query.explain()
    assert "reminder_next_fire_idx" in plan, plan
    assert reminders_fire_due(now=NOW) == 0


def test_with_two_real_workers_a_reminder_arrives_within_a_minute_once(user: Any, request: Any) -> None:
    # `manage.py worker` processes, on the real clock: the periodic scheduler (every 20 s) picks it up.
    from audit.context import SYSTEM
    from tasks.services.tasks import task_create

    fire_at = timezone.now() + timedelta(seconds=2)
    task_create(user=user, data={"title": "Real time", "reminders": [{"at": fire_at}]}, meta=SYSTEM)
    start = request.getfixturevalue("start_worker")  # config/jobs/tests/test_worker_processes.py
    start()
    start()
    emails = DBTaskResult.objects.filter(task_path="tasks.jobs.send_notification_email", status="SUCCESSFUL")
    wait_until(lambda: emails.exists(), timeout=60)
    (notification,) = Notification.objects.all()
    assert notification.created_at - fire_at < timedelta(seconds=60)
    time.sleep(3)  # and nothing more comes
    assert Notification.objects.count() == 1
    assert emails.count() == 1


def test_a_reminder_whose_task_another_change_holds_is_left_for_the_next_tick(user: Any) -> None:
    # A bulk completion locks its tasks, then disarms their reminders. The scheduler must not take the reminder
    # and then wait on the task (committing a delivery locks the task it points at): that was a deadlock.
    _due_reminders(user, 2)
    held, free = Task.objects.order_by("pk")
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        from django.db import connection as own
        from django.db import transaction

        with transaction.atomic():
            list(Task.objects.select_for_update().filter(pk=held.pk))
            locked.set()
            release.wait(10)
        own.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
            assert reminders_fire_due() == 1  # the free task's; the held one's is skipped, without waiting
        assert time.monotonic() - started < 5
        assert Reminder.objects.get(task=held).next_fire_at is not None
        assert Reminder.objects.get(task=free).next_fire_at is None
    finally:
        release.set()
        holder.join()
    with time_machine.travel(NOW + timedelta(seconds=2), tick=False):
        assert reminders_fire_due() == 1
    assert Notification.objects.count() == 2
