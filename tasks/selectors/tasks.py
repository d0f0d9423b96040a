"""Task reads, always scoped to one owner. Trashed tasks appear only in the trash."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Count, Q, Window
from django.utils import timezone

from config.http.compiled import CompiledQuery
from config.http.errors import NotFound
from config.http.pagination import PAGE_TOTAL
from tasks.models import MAX_ID, PRIORITY_NAME, STATUSES, Status, Task, TaskQuerySet

# Newest first; the id breaks ties so pages never repeat or skip a task.
DEFAULT_ORDERING = ("-created_at", "-id")


def overdue_q(now: datetime) -> Q:
    """Due in the past and not completed."""
    return Q(due_at__lt=now) & ~Q(status=Status.COMPLETED)


def task_list_for(*, user: Any) -> TaskQuerySet:
    return Task.objects.owned_by(user).live().order_by(*DEFAULT_ORDERING)


@cache
def _default_page_query(columns: tuple[str, ...]) -> CompiledQuery:
    return CompiledQuery(
        f"task_default_page_{abs(hash(columns))}",
        lambda: (
            task_list_for(user=uuid.UUID(int=0))
            .annotate(**{PAGE_TOTAL: Window(Count("*"))})
            .values_list(*columns, PAGE_TOTAL)
        ),
        param_count=1,
    )


class TaskListRows:
    """The plain list (no filter, default order) for the paginator: each page and the total in one query.

    This is the request an SPA makes most, so its SQL is compiled once per connection (config/http/compiled.py)
    instead of being rebuilt by the ORM on every request. Rows are `columns` plus the total, as
    `task_list_for(...).annotate(total=Window(Count("*"))).values_list(*columns, "total")` would give.
    """

    ordered = True

    def __init__(self, *, user: Any, columns: tuple[str, ...]) -> None:
        self.user = user
        self.columns = columns

    def page_rows(self, *, offset: int, limit: int) -> list[tuple[Any, ...]]:
        alias = router.db_for_read(Task)
        owner = Task._meta.get_field("owner").get_db_prep_value(self.user.pk, connections[alias])
        return _default_page_query(self.columns).rows(
            using=alias, params=[owner], suffix=" LIMIT %s OFFSET %s", suffix_params=[limit, offset]
        )

    def count(self) -> int:
        return task_list_for(user=self.user).count()


def task_trash_for(*, user: Any) -> TaskQuerySet:
    return Task.objects.owned_by(user).trashed().order_by("-deleted_at", "-id")


def task_get_for(*, user: Any, task_id: int) -> Task:
    """One of the user's live tasks; anything else (another user's, trashed, absent) is the same 404."""
    if not 0 < task_id <= MAX_ID:
        raise NotFound("Task not found.")
    task = task_list_for(user=user).filter(pk=task_id).first()
    if task is None:
        raise NotFound("Task not found.")
    return task


def task_stats_for(*, user: Any, now: datetime | None = None) -> dict[str, Any]:
    """Counts over the user's live tasks, in one aggregate query."""
    now = now or timezone.now()
    aggregates: dict[str, Any] = {"total": Count("pk")}
    for status in STATUSES:
        aggregates[f"status_{status}"] = Count("pk", filter=Q(status=status))
    for rank, name in PRIORITY_NAME.items():
        aggregates[f"priority_{name}"] = Count("pk", filter=Q(priority=rank))
    aggregates["overdue"] = Count("pk", filter=overdue_q(now))
    aggregates["completed_last_7_days"] = Count(
        "pk", filter=Q(status=Status.COMPLETED, completed_at__gte=now - timedelta(days=7))
    )
    row = task_list_for(user=user).order_by().aggregate(**aggregates)
    return {
        "total": row["total"],
        "by_status": {status: row[f"status_{status}"] for status in STATUSES},
        "by_priority": {name: row[f"priority_{name}"] for name in PRIORITY_NAME.values()},
        "overdue": row["overdue"],
        "completed_last_7_days": row["completed_last_7_days"],
    }
