"""The job queue: enqueued in the caller's transaction, retried with growing delays, dead jobs in the admin,
jobs of a lost worker run again, periodic jobs once per period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from config.jobs.models import PeriodicRun
from config.jobs.periodic import schedule_due
from config.jobs.tests.sample_jobs import always_fails, visit
from config.jobs.worker import Worker, recover_lost

pytestmark = pytest.mark.django_db

START = "2026-03-02 09:00:00+00:00"


class Boom(Exception):
    pass


def test_a_rolled_back_change_enqueues_nothing_and_a_committed_one_its_job() -> None:
    with pytest.raises(Boom), transaction.atomic():
        always_fails.enqueue()
        assert DBTaskResult.objects.count() == 1  # a row of this very transaction
        raise Boom
    assert not DBTaskResult.objects.exists()

    with transaction.atomic():
        always_fails.enqueue()
    (job,) = DBTaskResult.objects.all()
    assert job.status == "READY"
    assert job.task_path == "config.jobs.tests.sample_jobs.always_fails"


def test_a_failing_job_is_retried_with_growing_delays_then_left_dead_with_its_error(
    settings: Any, time_machine: Any, run_jobs: Callable[[], int]
) -> None:
    settings.JOBS_MAX_ATTEMPTS = 4
    time_machine.move_to(START, tick=False)
    always_fails.enqueue()

    waits = []
    for _ in range(3):
        assert run_jobs() == 1
        job = DBTaskResult.objects.get()
        assert job.status == "READY"
        assert job.exception_class_path == "builtins.RuntimeError"
        assert "the mail server said no" in job.traceback
        waits.append(job.run_after - timezone.now())
        assert run_jobs() == 0  # not before its time
        time_machine.move_to(job.run_after)
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]

    assert run_jobs() == 1
    job = DBTaskResult.objects.get()
    assert job.status == "FAILED"
    assert len(job.worker_ids) == 4
    assert "the mail server said no" in job.traceback
    time_machine.shift(timedelta(days=1))
    assert run_jobs() == 0  # dead: only staff bring it back


def test_a_job_scheduled_for_a_time_waits_for_it_and_then_runs_once(
    time_machine: Any, tmp_path: Path, run_jobs: Callable[[], int]
) -> None:
    time_machine.move_to(START, tick=False)
    log = tmp_path / "visits.log"
    at = timezone.now() + timedelta(hours=2)
    visit.using(run_after=at).enqueue(key="visit-1", log=str(log), pause="", seconds=0)

    time_machine.shift(timedelta(hours=2) - timedelta(seconds=1))
    assert run_jobs() == 0
    time_machine.shift(timedelta(seconds=1))
    assert run_jobs() == 1
    assert run_jobs() == 0
    assert log.read_text().splitlines() == ["start test-worker", "effect"]


def test_staff_see_a_dead_job_with_its_error_and_retry_it_from_the_admin(
    settings: Any, staff: User, run_jobs: Callable[[], int]
) -> None:
    settings.JOBS_MAX_ATTEMPTS = 1
    always_fails.enqueue()
    run_jobs()
    job = DBTaskResult.objects.get()
    assert job.status == "FAILED"
    client = Client()
    client.force_login(staff)  # staff, not a superuser, with no model permissions

    listing = client.get("/admin/django_tasks_database/dbtaskresult/?status__exact=FAILED")
    assert listing.status_code == 200
    assert b"always_fails" in listing.content
    assert b"RuntimeError" in listing.content
    index = client.get("/admin/").content
    assert b"Background jobs" in index
    assert b"Background workers" in index
    page = client.get(f"/admin/django_tasks_database/dbtaskresult/{job.pk}/change/")
    assert page.status_code == 200
    assert b"the mail server said no" in page.content

    response = client.post(
        "/admin/django_tasks_database/dbtaskresult/", {"action": "retry", "_selected_action": [str(job.pk)]}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "READY"
    assert job.worker_ids == []
    assert run_jobs() == 1


def test_outsiders_do_not_see_the_queue(user: User) -> None:
    client = Client()
    client.force_login(user)
    assert client.get("/admin/django_tasks_database/dbtaskresult/").status_code == 302


def test_the_job_of_a_worker_that_stopped_reporting_runs_again(
    settings: Any, time_machine: Any, tmp_path: Path, run_jobs: Callable[[], int]
) -> None:
    time_machine.move_to(START, tick=False)
    log = tmp_path / "visits.log"
    visit.enqueue(key="visit-1", log=str(log), pause="", seconds=0)
    dying = Worker(worker_id="dying")
    dying.beat()
    assert dying.claim() is not None  # ...and the process is killed before it runs the job

    assert recover_lost() == 0  # its heartbeat is fresh: it may still be working
    assert run_jobs() == 0
    time_machine.shift(timedelta(seconds=settings.JOBS_HEARTBEAT_SECONDS * 6 + 1))
    assert recover_lost() == 1

    assert run_jobs() == 1
    job = DBTaskResult.objects.get()
    assert job.status == "SUCCESSFUL"
    assert job.worker_ids == ["dying", "test-worker"]
    assert log.read_text().splitlines() == ["start test-worker", "effect"]


def test_a_job_lost_on_its_last_attempt_is_left_dead(settings: Any, time_machine: Any) -> None:
    settings.JOBS_MAX_ATTEMPTS = 1
    time_machine.move_to(START, tick=False)
    always_fails.enqueue()
    Worker(worker_id="dying").claim()
    time_machine.shift(timedelta(minutes=5))

    assert recover_lost() == 0
    job = DBTaskResult.objects.get()
    assert job.status == "FAILED"
    assert job.exception_class_path == "config.jobs.worker.WorkerLost"


def test_each_periodic_job_is_enqueued_once_per_period_however_many_workers_offer(
    time_machine: Any, settings: Any
) -> None:
    time_machine.move_to("2026-03-02 09:10:00+00:00", tick=False)

    assert sorted(schedule_due()) == sorted(settings.PERIODIC_JOBS)
    assert schedule_due() == []  # a second worker, the same period
    assert DBTaskResult.objects.count() == len(settings.PERIODIC_JOBS)

    time_machine.move_to("2026-03-02 10:00:00+00:00", tick=False)
    # hourly (and the reminders' scheduler, every 20 s); the daily ones wait
    assert sorted(schedule_due()) == ["fire_reminders", "prune_mfa_challenges", "purge_idempotency_keys", "purge_trash"]
    assert PeriodicRun.objects.filter(name="purge_trash").count() == 2


def test_the_periodic_maintenance_jobs_run(
    time_machine: Any, user: User, run_jobs: Callable[[], int], settings: Any
) -> None:
    from tasks.models import Task

    time_machine.move_to(START, tick=False)
    old = Task.objects.create(owner=user, title="old", deleted_at=timezone.now() - timedelta(days=31))
    kept = Task.objects.create(owner=user, title="kept", deleted_at=timezone.now() - timedelta(days=29))
    schedule_due()

    assert run_jobs() == len(settings.PERIODIC_JOBS)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert not Task.objects.filter(pk=old.pk).exists()
    assert Task.objects.filter(pk=kept.pk).exists()
