"""GET /health/worker: 200 while a background worker reported within the last 60 s, else 503."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from config.jobs.models import WorkerHeartbeat
from config.jobs.worker import Worker

pytestmark = pytest.mark.django_db


def test_it_answers_200_while_a_worker_reported_in_the_last_minute(time_machine: Any) -> None:
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    response = Client().get("/health/worker")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["checks"]["worker"]["status"] == "error"
    assert response.json()["checks"]["worker"]["error"] == "NoWorker"

    Worker(worker_id="w1").beat()
    time_machine.shift(timedelta(seconds=59))
    response = Client().get("/health/worker")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "ok"
    assert body["checks"]["worker"]["workers"] == 1
    assert body["checks"]["worker"]["last_seen_seconds_ago"] == 59.0

    time_machine.shift(timedelta(seconds=2))
    assert Client().get("/health/worker").status_code == 503
    assert WorkerHeartbeat.objects.count() == 1


def test_it_counts_every_live_worker_and_ignores_the_stale_ones(time_machine: Any) -> None:
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    Worker(worker_id="gone").beat()
    time_machine.shift(timedelta(minutes=5))
    Worker(worker_id="a").beat()
    Worker(worker_id="b").beat()

    worker = Client().get("/health/worker").json()["checks"]["worker"]
    assert worker["workers"] == 2
    assert worker["last_seen_seconds_ago"] == 0.0
