"""Periodic jobs without cron: every worker offers to enqueue each due job, and one offer per period wins.

`settings.PERIODIC_JOBS` maps a name to `{"job": "<dotted path of a @task>", "every": timedelta}`. Periods
are aligned on the Unix epoch (an hourly job is due at every full hour, a daily one at midnight UTC). A
period missed while no worker ran is made up once when one starts, never once per missed period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from config.jobs.models import PeriodicRun

logger = logging.getLogger("taskdesk.jobs")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_of(now: datetime, every: timedelta) -> datetime:
    """The start of the period `now` falls in."""
    return EPOCH + every * ((now - EPOCH) // every)


def schedule_due(*, now: datetime | None = None) -> list[str]:
    """Enqueues each periodic job whose current period has no run yet; answers the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for name, spec in settings.PERIODIC_JOBS.items():
        every = cast(timedelta, spec["every"])
        job: Any = import_string(str(spec["job"]))
        slot = slot_of(now, every)
        if PeriodicRun.objects.filter(name=name, slot=slot).exists():
            continue
        try:
            # The run row and the job commit together; a concurrent worker's insert of the same (name,
            # slot) fails on the unique constraint, so the job is enqueued once per period.
            with transaction.atomic():
                run = PeriodicRun.objects.create(name=name, slot=slot)
                result = job.enqueue()
                run.job_id = str(result.id)
                run.save(update_fields=["job_id"])
        except IntegrityError:
            continue
        logger.info("periodic job %s enqueued for %s", name, slot.isoformat())
        enqueued.append(name)
    return enqueued
