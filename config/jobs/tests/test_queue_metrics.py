"""The job queue's figures in /metrics: waiting, oldest wait, scheduled, retrying and dead jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.jobs.tests import sample_jobs
from config.jobs.worker import Worker
from config.tests.test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def test_the_queue_shows_in_metrics(time_machine: Any, settings: Any, tmp_path: Any) -> None:
    settings.JOBS_MAX_ATTEMPTS = 1
    time_machine.move_to("2030-01-01T12:00:00Z", tick=False)
    for n in range(3):
        sample_jobs.note.enqueue(n=n, log=str(tmp_path / "log"))
    sample_jobs.note.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(n=9, log=str(tmp_path / "log"))
    time_machine.shift(timedelta(seconds=90))

    text = scrape()
    assert value(text, "taskdesk_jobs_waiting") == 3
    assert value(text, "taskdesk_jobs_scheduled") == 1
    assert value(text, "taskdesk_jobs_oldest_wait_seconds") == 90
    assert value(text, "taskdesk_jobs_dead") == 0

    sample_jobs.always_fails.enqueue()
    Worker(worker_id="metrics-test").run_pending()
    text = scrape()
    assert value(text, "taskdesk_jobs_waiting") == 0
    assert value(text, "taskdesk_jobs_oldest_wait_seconds") == 0
    assert value(text, "taskdesk_jobs_dead") == 1
    assert value(text, "taskdesk_jobs_scheduled") == 1
