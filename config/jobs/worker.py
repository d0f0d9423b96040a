"""The worker: claims ready jobs one at a time, runs them, and retries failures with growing delays.

At least once: a job is claimed (status RUNNING, the worker's id appended to `worker_ids`) in a short
transaction that takes the row with `SELECT ... FOR UPDATE SKIP LOCKED`, so workers on any number of
machines share one queue and never claim the same job. The job then runs outside any transaction. If its
worker dies (kill -9, a lost machine), its heartbeat goes stale and any other worker puts the job back in
the queue; handlers make a second run harmless (see `config.jobs.effects.once`).

Attempts are the length of `worker_ids`. A failure before the last attempt goes back to READY with
`run_after` pushed out (10 s, 20 s, 40 s, ... capped at an hour by default) and its traceback kept for the
admin to show; the last one leaves the job FAILED: dead, listed in the admin with its error, retried from
there by staff.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from traceback import format_exception

from django.conf import settings
from django.db import DatabaseError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django_tasks import DEFAULT_TASK_QUEUE_NAME, TaskContext, TaskResultStatus
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from config.jobs.models import WorkerHeartbeat
from config.jobs.periodic import schedule_due

logger = logging.getLogger("taskdesk.jobs")


class WorkerLost(Exception):
    """The worker running the job stopped before finishing it (killed, crashed, its machine lost)."""


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failure: doubling from the base, capped."""
    seconds = settings.JOBS_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.JOBS_RETRY_MAX_SECONDS))


def lost_after() -> timedelta:
    """A worker silent this long is gone: several missed heartbeats, so a slow write is not a death."""
    return timedelta(seconds=settings.JOBS_HEARTBEAT_SECONDS * 6)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def _error_fields(exc: BaseException) -> dict[str, str]:
    return {
        "exception_class_path": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "traceback": "".join(format_exception(exc)),
    }


def requeue(job_ids: Sequence[str], *, reset_attempts: bool = False) -> int:
    """Puts jobs back in the queue to run now (staff's retry of a dead job gives it a fresh set of tries)."""
    changes: dict[str, object] = {"status": TaskResultStatus.READY, "run_after": timezone.now(), "finished_at": None}
    if reset_attempts:
        changes["worker_ids"] = []
    return DBTaskResult.objects.filter(pk__in=job_ids).exclude(status=TaskResultStatus.RUNNING).update(**changes)


def recover_lost() -> int:
    """Puts back in the queue the jobs whose worker stopped reporting; answers how many."""
    moment = timezone.now()
    cutoff = moment - lost_after()
    live = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    recovered = 0
    # Only jobs claimed before the heartbeats were read: a worker beats before it claims, so a job claimed
    # since then may belong to a worker that has just started and is missing from `live`.
    running = DBTaskResult.objects.running().filter(started_at__lt=moment)
    for job in running.only("id", "worker_ids", "started_at", "task_path"):
        if job.worker_ids and job.worker_ids[-1] in live:
            continue
        attempts = len(job.worker_ids)
        lost = WorkerLost(f"worker {job.worker_ids[-1] if job.worker_ids else '?'} stopped during attempt {attempts}")
        still_running = DBTaskResult.objects.filter(
            pk=job.pk, status=TaskResultStatus.RUNNING, started_at=job.started_at
        )
        if attempts >= settings.JOBS_MAX_ATTEMPTS:
            still_running.update(status=TaskResultStatus.FAILED, finished_at=moment, **_error_fields(lost))
            logger.error("job %s (%s) lost its worker on its last attempt: dead", job.pk, job.task_path)
        elif still_running.update(status=TaskResultStatus.READY, run_after=moment, **_error_fields(lost)):
            logger.warning("job %s (%s) lost its worker; queued again", job.pk, job.task_path)
            recovered += 1
    return recovered


class Worker:
    def __init__(self, *, worker_id: str | None = None, queues: Sequence[str] = (DEFAULT_TASK_QUEUE_NAME,)) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.queues = list(queues)
        self.started_at = timezone.now()

    # One job ---------------------------------------------------------------------------------------------

    def claim(self) -> DBTaskResult | None:
        ready = DBTaskResult.objects.ready().filter(queue_name__in=self.queues)
        try:
            with exclusive_transaction(ready.db):
                job = ready.get_locked()
                if job is not None:
                    job.claim(self.worker_id)
                return job
        except OperationalError as exc:
            if is_locked_database_exception(exc):  # SQLite busy: try again on the next poll
                return None
            raise

    def run(self, job: DBTaskResult) -> None:
        attempt = len(job.worker_ids)
        try:
            task = job.task
            result = job.task_result
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)  # type: ignore[arg-type]
            else:
                value = task.call(*result.args, **result.kwargs)
            job.set_successful(value)
        except (KeyboardInterrupt, SystemExit):
            # Stopped by force half-way: back in the queue at once, the attempt not held against the job.
            DBTaskResult.objects.filter(pk=job.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY, run_after=timezone.now(), worker_ids=job.worker_ids[:-1]
            )
            raise
        except Exception as exc:
            self._failed(job, exc, attempt)
        else:
            logger.info("job %s (%s) done on attempt %d", job.pk, job.task_path, attempt)

    def _failed(self, job: DBTaskResult, exc: Exception, attempt: int) -> None:
        if attempt >= settings.JOBS_MAX_ATTEMPTS:
            job.set_failed(exc)
            logger.error(
                "job %s (%s) failed on its last attempt (%d): %s; dead, retry it from the admin",
                job.pk,
                job.task_path,
                attempt,
                type(exc).__name__,
            )
            return
        delay = retry_delay(attempt)
        DBTaskResult.objects.filter(pk=job.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, run_after=timezone.now() + delay, **_error_fields(exc)
        )
        logger.warning(
            "job %s (%s) failed on attempt %d of %d: %s; retrying in %d s",
            job.pk,
            job.task_path,
            attempt,
            settings.JOBS_MAX_ATTEMPTS,
            type(exc).__name__,
            delay.total_seconds(),
        )

    def run_one(self) -> bool:
        job = self.claim()
        if job is None:
            return False
        self.run(job)
        return True

    def run_pending(self, *, limit: int | None = None) -> int:
        """Runs ready jobs until none is left (or `limit`); answers how many ran."""
        ran = 0
        while (limit is None or ran < limit) and self.run_one():
            ran += 1
        return ran

    # The long-running process ----------------------------------------------------------------------------

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"seen_at": timezone.now()},
            create_defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": timezone.now(),
            },
        )

    def maintain(self) -> None:
        recover_lost()
        schedule_due()

    def _heartbeat(self, stop: threading.Event) -> None:
        # Its own thread (and so its own connection): a long job must not make the worker look dead.
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    close_old_connections()
                    self.beat()
                except DatabaseError:
                    logger.warning("worker %s could not write its heartbeat", self.worker_id, exc_info=True)
        finally:
            connections.close_all()

    def serve(self, stop: threading.Event) -> None:
        """Runs jobs until `stop` is set; the job in hand is finished first."""
        logger.info("worker %s serving queues %s", self.worker_id, ",".join(self.queues))
        self.beat()
        heart = threading.Thread(target=self._heartbeat, args=(stop,), name="heartbeat", daemon=True)
        heart.start()
        next_maintenance = 0.0
        try:
            while not stop.is_set():
                close_old_connections()
                ran = False
                try:
                    if time.monotonic() >= next_maintenance:
                        next_maintenance = time.monotonic() + settings.JOBS_HEARTBEAT_SECONDS
                        self.maintain()
                    ran = self.run_one()
                except Exception:
                    # The database went away, most likely: keep polling, it comes back by itself.
                    logger.exception("worker %s could not reach the queue", self.worker_id)
                if not ran:
                    stop.wait(settings.JOBS_POLL_SECONDS)
        finally:
            stop.set()
            heart.join(timeout=5)
            with contextlib.suppress(DatabaseError):
                WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            logger.info("worker %s stopped", self.worker_id)
