from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running worker, written every few seconds by a thread beside the jobs.

    A job claimed by a worker whose row went stale is put back in the queue (the worker died mid-job), and
    `/health/worker` answers from the freshest row.
    """

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class PeriodicRun(models.Model):
    """One row per periodic job and period: the unique key lets one worker among many enqueue it."""

    name = models.CharField(max_length=100)
    slot = models.DateTimeField(help_text="Start of the period this run belongs to.")
    job_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot.isoformat()}"


class Effect(models.Model):
    """An outside effect a job has had (a mail sent), so a second run of the job does not repeat it."""

    key = models.CharField(max_length=200, primary_key=True)
    done_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.key
