"""The job queue's figures for /metrics (named in settings.METRICS_COLLECTORS), read from the queue's table at
each scrape: one aggregate query, whichever process answers, so they hold for every worker and machine."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client.core import GaugeMetricFamily, Metric


def collect() -> Iterable[Metric]:
    now = timezone.now()
    unscheduled = Q(run_after=get_date_max())
    due = Q(status=TaskResultStatus.READY) & (unscheduled | Q(run_after__lte=now))
    row = DBTaskResult.objects.aggregate(
        waiting=Count("pk", filter=due),
        scheduled=Count("pk", filter=Q(status=TaskResultStatus.READY, run_after__gt=now) & ~unscheduled),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        # Waiting after a failed attempt: their last error is kept until they succeed.
        retrying=Count("pk", filter=Q(status=TaskResultStatus.READY) & ~Q(exception_class_path="")),
        dead=Count("pk", filter=Q(status=TaskResultStatus.FAILED)),
        # A due job waits since it was enqueued, or since its run-after time when it had one.
        oldest_enqueued=Min("enqueued_at", filter=due & unscheduled),
        oldest_run_after=Min("run_after", filter=due & ~unscheduled),
    )
    starts = [moment for moment in (row["oldest_enqueued"], row["oldest_run_after"]) if moment is not None]
    oldest_wait = max(0.0, (now - min(starts)).total_seconds()) if starts else 0.0
    gauges = {
        "taskdesk_jobs_waiting": ("Jobs due to run and not yet claimed by a worker.", row["waiting"]),
        "taskdesk_jobs_scheduled": ("Jobs waiting for a later time (retries, scheduled jobs).", row["scheduled"]),
        "taskdesk_jobs_running": ("Jobs claimed by a worker and running.", row["running"]),
        "taskdesk_jobs_retrying": ("Jobs whose last attempt failed, waiting for the next.", row["retrying"]),
        "taskdesk_jobs_dead": ("Jobs that failed their last attempt (retry them from the admin).", row["dead"]),
        "taskdesk_jobs_oldest_wait_seconds": ("How long the oldest due job has been waiting.", oldest_wait),
    }
    return [GaugeMetricFamily(name, help_text, value=value) for name, (help_text, value) in gauges.items()]
