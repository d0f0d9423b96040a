"""The queue's own upkeep, run as a periodic job."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from config.jobs.models import Effect, PeriodicRun, WorkerHeartbeat


@task()
def prune_jobs() -> dict[str, int]:
    """Forgets finished jobs after their retention; dead ones are kept longer, for staff to look into."""
    now = timezone.now()
    done = timedelta(days=settings.JOBS_KEEP_DONE_DAYS)
    dead = timedelta(days=settings.JOBS_KEEP_FAILED_DAYS)
    return {
        "succeeded": DBTaskResult.objects.successful().filter(finished_at__lt=now - done).delete()[0],
        "failed": DBTaskResult.objects.failed().filter(finished_at__lt=now - dead).delete()[0],
        "periodic_runs": PeriodicRun.objects.filter(slot__lt=now - done).delete()[0],
        # A mark must outlive every retry of its job, which ends within a day or so.
        "effects": Effect.objects.filter(done_at__lt=now - dead).delete()[0],
        "heartbeats": WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()[0],
    }
