"""GET /api/v1/tasks/stats/: counts over every live task the caller sees, cached per (user, project filter).

The answer is an aggregate over all of the caller's tasks; an SPA asks for it on every dashboard load. The
cache entry keeps it with

- the change-log position taken *before* the aggregate was read (tasks/selectors/sync.py): while nothing the
  user sees was written from that position on (`changed_since`: one EXISTS on two indexes, the query the
  lists' ETags use), the counts are still exact. A write in flight during the read is outside the position, so
  it invalidates the entry when it commits, however late. A member of a shared project writing, a task moved
  in or out, a membership gained or lost: all are rows of the log, written by triggers.
- the moment the answer stops being true by the clock alone: `overdue` grows when the earliest future
  `due_at` of an open task passes, `completed_last_7_days` shrinks when the earliest completion in the window
  turns 7 days old. Both come from the same aggregate query.

A hit costs one query instead of the aggregate; a miss costs one more than before (the position). Redis is
only a cache here: when it fails, the counts are computed directly (and Redis left alone for a second).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.utils import timezone
from redis.exceptions import RedisError

from config.http import metrics
from tasks.models import PRIORITY_NAME, STATUSES, Status
from tasks.selectors.sync import Position, change_position, changed_since
from tasks.selectors.tasks import overdue_q, project_q, task_list_for

logger = logging.getLogger(__name__)

COMPLETED_WINDOW = timedelta(days=7)
# Only for eviction: an entry is exact for as long as its position and moment say, however old.
CACHE_SECONDS = 10 * 60
# After Redis fails, compute directly for this long before trying it again.
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class _Entry:
    stats: dict[str, Any]
    position: list[int]
    computed_at: datetime
    # The last moment before the clock alone changes the answer; None: it never does.
    valid_until: datetime | None

    def cached(self) -> tuple[Any, ...]:
        # Stored as builtins, not as this class: an entry written by another release still reads (or is ignored).
        return (self.stats, self.position, self.computed_at, self.valid_until)

    @classmethod
    def from_cached(cls, value: Any) -> _Entry | None:
        if not (isinstance(value, tuple) and len(value) == 4 and isinstance(value[2], datetime)):
            return None
        return cls(*value)

    def answers(self, *, user: Any, now: datetime) -> bool:
        # Both moments are the last instant the answer holds: overdue is `due_at < now`, the window `>=`.
        if not self.computed_at <= now or (self.valid_until is not None and now > self.valid_until):
            return False
        position = Position.from_list(self.position)
        return position is not None and not changed_since(user=user, position=position)


class _SharedCache:
    """The default cache, skipped for a moment after a Redis error so an outage costs no request a timeout."""

    skip_until = 0.0

    def get(self, key: str) -> Any:
        return self._call(lambda: cache.get(key))

    def set(self, key: str, value: Any) -> None:
        self._call(lambda: cache.set(key, value, CACHE_SECONDS))

    def _call(self, action: Any) -> Any:
        if time.monotonic() < self.skip_until:
            return None
        try:
            return action()
        except RedisError as exc:
            logger.warning("Redis unavailable (%s: %s): task stats computed without the cache", type(exc).__name__, exc)
            metrics.redis_error(use="stats_cache")
            self.skip_until = time.monotonic() + RETRY_SECONDS
            return None


shared_cache = _SharedCache()


def _key(user: Any, project: int | str | None) -> str:
    return f"tasks.stats:v1:{user.pk}:{'*' if project is None else project}"


def task_stats_for(*, user: Any, project: int | str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Counts over the live tasks the caller sees (of one project, or personal ones: `project_q`), exact at
    `now`: from the cache while it still holds, else in one aggregate query."""
    now = now or timezone.now()
    key = _key(user, project)
    entry = _Entry.from_cached(shared_cache.get(key))
    if entry is not None and entry.answers(user=user, now=now):
        return entry.stats
    position = change_position()
    stats, valid_until = task_stats_uncached(user=user, project=project, now=now)
    shared_cache.set(key, _Entry(stats, position.to_list(), now, valid_until).cached())
    return stats


def task_stats_uncached(
    *, user: Any, project: int | str | None = None, now: datetime
) -> tuple[dict[str, Any], datetime | None]:
    """(the counts, the last moment before the clock alone changes them), in one aggregate query."""
    window_start = now - COMPLETED_WINDOW
    aggregates: dict[str, Any] = {"total": Count("pk")}
    for status in STATUSES:
        aggregates[f"status_{status}"] = Count("pk", filter=Q(status=status))
    for rank, name in PRIORITY_NAME.items():
        aggregates[f"priority_{name}"] = Count("pk", filter=Q(priority=rank))
    aggregates["overdue"] = Count("pk", filter=overdue_q(now))
    completed_in_window = Q(status=Status.COMPLETED, completed_at__gte=window_start)
    aggregates["completed_last_7_days"] = Count("pk", filter=completed_in_window)
    # The next open task to fall overdue, and the completion that leaves the window first.
    aggregates["next_due"] = Min("due_at", filter=Q(due_at__gte=now) & ~Q(status=Status.COMPLETED))
    aggregates["first_completed"] = Min("completed_at", filter=completed_in_window)
    row = task_list_for(user=user).filter(project_q(project)).order_by().aggregate(**aggregates)
    stats = {
        "total": row["total"],
        "by_status": {status: row[f"status_{status}"] for status in STATUSES},
        "by_priority": {name: row[f"priority_{name}"] for name in PRIORITY_NAME.values()},
        "overdue": row["overdue"],
        "completed_last_7_days": row["completed_last_7_days"],
    }
    moments = [row["next_due"], row["first_completed"] and row["first_completed"] + COMPLETED_WINDOW]
    return stats, min((moment for moment in moments if moment is not None), default=None)
