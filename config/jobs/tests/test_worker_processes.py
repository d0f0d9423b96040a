"""`manage.py worker` as real processes on PostgreSQL: one killed with SIGKILL mid-job (the job runs again,
its effect happens once), two sharing a queue (each job runs once), and a graceful stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.models import QuerySet
from django_tasks_db.models import DBTaskResult

from config.jobs.models import Effect, WorkerHeartbeat
from config.jobs.tests.sample_jobs import note, visit
from config.tests.tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[3]


def wait_until(condition: Callable[[], bool], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not met within {timeout}s")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        # Dead after six silent seconds instead of thirty, so the test need not wait long.
        "JOBS_HEARTBEAT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        output = (tmp_path / f"worker-{len(processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker"], cwd=BASE_DIR, env=env, stdout=output, stderr=output
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def jobs_of(path: str) -> QuerySet[DBTaskResult]:
    # The workers enqueue and run the periodic jobs too: look at the test's own.
    return DBTaskResult.objects.filter(task_path=f"config.jobs.tests.sample_jobs.{path}")


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("pause", ["before", "after"])
def test_a_worker_killed_mid_job_leaves_it_to_another_and_its_effect_happens_once(
    tmp_path: Path, start_worker: Callable[[], subprocess.Popen[bytes]], pause: str
) -> None:
    log = tmp_path / "visits.log"
    visit.enqueue(key="visit-1", log=str(log), pause=pause, seconds=120)

    first = start_worker()
    # Killed while it pauses: before the effect, or after it (and its mark) and before the job is marked done.
    wait_until(lambda: len(lines(log)) == (1 if pause == "before" else 2))
    if pause == "after":
        wait_until(lambda: Effect.objects.filter(key="visit-1").exists())
    first.kill()
    first.wait()
    assert jobs_of("visit").get().status == "RUNNING"

    start_worker()
    wait_until(lambda: jobs_of("visit").get().status == "SUCCESSFUL")

    done = lines(log)
    assert done.count("effect") == 1
    starts = [line.split()[1] for line in done if line.startswith("start ")]
    job = jobs_of("visit").get()
    assert starts == job.worker_ids
    assert len(set(starts)) == 2


def test_two_workers_share_one_queue_and_run_each_job_once(
    tmp_path: Path, start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "notes.log"
    for n in range(200):
        note.enqueue(n=n, log=str(log))

    workers = [start_worker(), start_worker()]
    wait_until(lambda: not jobs_of("note").exclude(status="SUCCESSFUL").exists(), timeout=90)

    notes = [line.split() for line in lines(log)]
    assert sorted(int(n) for n, _ in notes) == list(range(200))
    assert len({worker for _, worker in notes}) == 2  # both took a share
    assert all(len(job.worker_ids) == 1 for job in jobs_of("note"))

    for worker in workers:
        worker.terminate()  # SIGTERM: finish the job in hand, say goodbye, exit
    assert [worker.wait(timeout=20) for worker in workers] == [0, 0]
    assert not WorkerHeartbeat.objects.exists()


def test_a_worker_rides_out_a_database_outage_and_runs_what_was_queued(tmp_path: Path) -> None:
    """The queue's store cut for a few seconds through a proxy: the worker keeps polling, no restart needed."""
    db = connection.settings_dict
    log = tmp_path / "notes.log"
    with tcp_proxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy:
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        env = {
            **os.environ,
            "DJANGO_ENV": "development",
            "DATABASE_URL": f"postgres://{credentials}@127.0.0.1:{proxy.port}/{db['NAME']}",
            "JOBS_HEARTBEAT_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
        output = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker"], cwd=BASE_DIR, env=env, stdout=output, stderr=output
        )
        try:
            note.enqueue(n=1, log=str(log))
            wait_until(lambda: lines(log) != [])
            proxy.cut()
            note.enqueue(n=2, log=str(log))  # queued while the worker cannot reach the database
            time.sleep(4)
            assert worker.poll() is None  # still alive, polling
            assert len(lines(log)) == 1
            proxy.restore()
            wait_until(lambda: len(lines(log)) == 2, timeout=30)
            assert [line.split()[0] for line in lines(log)] == ["1", "2"]
            assert set(jobs_of("note").values_list("status", flat=True)) == {"SUCCESSFUL"}
        finally:
            worker.terminate()
            worker.wait(timeout=15)
