"""The soak's reconciliation fails on each fault it is there to find (and holds when there is none): a check
that cannot fail would let a soak pass whatever the app did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.context import SYSTEM
from config.jobs.effects import message_id
from soak import checks
from soak.load import Ack, Recorder
from soak.processes import Inbox, Mail
from tasks.models import Reminder, Task
from tasks.services.comments import comment_create
from tasks.services.notifications import notification_create
from tasks.services.tasks import task_create
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def since() -> datetime:
    return timezone.now() - timedelta(minutes=1)


def failing(results: list[checks.Check]) -> list[str]:
    return [check.name for check in results if not check.ok]


def made(user: Any, title: str = "Soaked", **data: Any) -> Task:
    return task_create(user=user, data={"title": title, **data}, meta=SYSTEM)


def test_tasks_made_through_the_services_pass_every_task_check(user: Any, since: datetime) -> None:
    task = made(user, assignees=[user.pk])
    comment_create(user=user, task_id=task.pk, body="First", meta=SYSTEM)
    made(user, parent=None)
    assert failing(checks.task_invariants(since)) == []


def test_a_task_written_without_its_audit_event_fails(user: Any, since: datetime) -> None:
    made(user)
    TaskFactory(owner=user)  # straight into the table, as a half-done create would leave it
    assert failing(checks.task_invariants(since)) == ["audit"]


def test_counts_copies_and_positions_that_drift_from_their_rows_fail(user: Any, since: datetime) -> None:
    first, second = made(user, "One", assignees=[user.pk]), made(user, "Two")
    Task.objects.filter(pk=first.pk).update(comments_count=F("comments_count") + 1, assignee_ids=[])
    Task.objects.filter(pk=second.pk).update(position=first.position)
    assert failing(checks.task_invariants(since)) == ["comments_count", "assignees", "positions"]


def test_an_acknowledged_create_must_exist_once_under_its_key(user: Any) -> None:
    recorder = Recorder()
    task = made(user, "Acknowledged")
    recorder.acks.append(Ack(str(user.pk), "key-1", task.pk, "Acknowledged"))
    assert not checks.creates(recorder).ok  # no Idempotency-Key row: not the create the client was told of

    from tasks.models import IdempotencyKey

    IdempotencyKey.objects.create(user=user, key="key-1", fingerprint="f")
    assert checks.creates(recorder).ok
    made(user, "Acknowledged")
    assert not checks.creates(recorder).ok


def test_a_job_left_running_or_dead_fails(since: datetime, run_jobs: Callable[[], int], user: Any) -> None:
    notification_create(recipient=user, kind="assigned", text="Yours")
    assert not checks.jobs(since).ok  # queued and due
    run_jobs()
    assert checks.jobs(since).ok
    DBTaskResult.objects.update(status="FAILED")
    assert not checks.jobs(since).ok


def test_mail_and_its_record_must_match_one_to_one(
    since: datetime, run_jobs: Callable[[], int], user: Any, settings: Any
) -> None:
    recorder, inbox = Recorder(), Inbox()
    notification = notification_create(recipient=user, kind="assigned", text="Yours")
    assert notification is not None
    run_jobs()
    mailed = Mail([user.email], message_id(f"notification-email:{notification.pk}"), "Assigned", "")
    assert failing(checks.emails(recorder, inbox, since)) == ["emails", "emails owed"]  # nothing arrived

    inbox.messages.append(mailed)
    assert failing(checks.emails(recorder, inbox, since)) == []
    inbox.messages.append(mailed)  # the same message again: a repeat, told apart, not a second mail
    result = checks.emails(recorder, inbox, since)
    assert failing(result) == []
    assert "same Message-ID (a kill between the send and its record): 1" in result[0].detail

    inbox.messages.append(Mail([user.email], "<unrecorded@taskdesk.local>", "Assigned", ""))
    assert failing(checks.emails(recorder, inbox, since)) == ["emails"]


def test_every_account_opened_is_owed_one_verification_mail(since: datetime, user: Any) -> None:
    recorder, inbox = Recorder(), Inbox()
    recorder.registered.append(user.email)
    assert failing(checks.emails(recorder, inbox, since)) == ["emails owed"]
    verification = Mail([user.email], "<a@taskdesk.local>", "Confirm your Taskdesk email address", "")
    inbox.messages.append(verification)
    assert "emails owed" not in failing(checks.emails(recorder, inbox, since))
    inbox.messages.append(Mail([user.email], "<b@taskdesk.local>", "Confirm your Taskdesk email address", ""))
    assert "emails owed" in failing(checks.emails(recorder, inbox, since))


def test_a_reminder_left_armed_past_its_time_fails(user: Any, since: datetime) -> None:
    made(user, reminders=[{"at": timezone.now() + timedelta(minutes=5)}])
    assert checks.reminders(since, load_end=timezone.now()).ok  # not due yet
    Reminder.objects.update(at=timezone.now() - timedelta(seconds=1), next_fire_at=timezone.now())
    assert not checks.reminders(since, load_end=timezone.now()).ok
