"""Retention of the change log behind sync (tasks/changelog.py); the log itself is written by triggers."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Min
from django.utils import timezone

from tasks.changelog import Change

# A sync cursor lives 30 days (the trash's retention: after it a client must start over); the log keeps a day
# more, so a cursor within its 30 days never points past what has been pruned.
KEEP = timedelta(days=31)


def changes_prune(*, now: datetime | None = None, batch_size: int = 10_000) -> int:
    """Deletes change-log rows past `KEEP`, by ranges of ids (short transactions on a large log)."""
    cutoff = (now or timezone.now()) - KEEP
    old = Change.objects.filter(created_at__lt=cutoff)
    bounds = old.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return 0
    pruned = 0
    for start in range(bounds["first"], bounds["last"] + 1, batch_size):
        pruned += old.filter(pk__gte=start, pk__lt=start + batch_size).delete()[0]
    return pruned
