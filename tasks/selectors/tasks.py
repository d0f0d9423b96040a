"""Task reads, always from the caller's side: their personal tasks and those of their projects (one condition,
`TaskQuerySet.visible_to`). Trashed tasks appear only in the trash."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Count, OuterRef, Q, Subquery, Window

from config.http.compiled import CompiledQuery
from config.http.errors import NotFound
from config.http.pagination import PAGE_TOTAL
from tasks.models import MAX_ID, Membership, Role, Status, Task, TaskQuerySet

# Newest first; the id breaks ties so pages never repeat or skip a task.
DEFAULT_ORDERING = ("-created_at", "-id")


NONE = "none"


def project_q(value: int | str | None) -> Q:
    """`project=<id>`: the tasks of that project (none if the caller is not in it); `project=none`: personal;
    None: every project."""
    if value is None:
        return Q()
    return Q(project__isnull=True) if value == NONE else Q(project_id=value)


def overdue_q(now: datetime) -> Q:
    """Due in the past and not completed."""
    return Q(due_at__lt=now) & ~Q(status=Status.COMPLETED)


def task_list_for(*, user: Any) -> TaskQuerySet:
    return Task.objects.visible_to(user).live().order_by(*DEFAULT_ORDERING)


def task_not_found() -> NotFound:
    return NotFound("Task not found.")


def with_role(tasks: TaskQuerySet, *, user: Any) -> TaskQuerySet:
    """Annotates `role`: the caller's role in each task's project (null for a personal task, which is the
    caller's own by visibility). A correlated lookup on membership's unique (user, project) index."""
    return tasks.annotate(
        role=Subquery(Membership.objects.filter(project=OuterRef("project"), user=user).values("role")[:1])
    )


def role_of(task: Task) -> str:
    """The caller's role for a task read with `with_role`: a personal task is its creator's to do anything with."""
    return getattr(task, "role", None) or Role.OWNER


@cache
def _default_page_query(columns: tuple[str, ...]) -> CompiledQuery:
    return CompiledQuery(
        f"task_default_page_{abs(hash(columns))}",
        lambda: (
            task_list_for(user=uuid.UUID(int=0))
            .annotate(**{PAGE_TOTAL: Window(Count("*"))})
            .values_list(*columns, PAGE_TOTAL)
        ),
        # The user's id twice: their personal tasks, and their memberships.
        param_count=2,
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
            using=alias, params=[owner, owner], suffix=" LIMIT %s OFFSET %s", suffix_params=[limit, offset]
        )

    def count(self) -> int:
        return task_list_for(user=self.user).count()


def task_trash_for(*, user: Any) -> TaskQuerySet:
    """The trash of every task the caller can see: their personal ones and their projects'."""
    return Task.objects.visible_to(user).trashed().order_by("-deleted_at", "-id")


def task_get_for(*, user: Any, task_id: int) -> Task:
    """A live task the caller can see; anything else (another user's, a project they are not in, trashed,
    absent) is the same 404. Reads need no role: a write takes it with the row lock (`with_role`)."""
    if not 0 < task_id <= MAX_ID:
        raise task_not_found()
    task = task_list_for(user=user).filter(pk=task_id).first()
    if task is None:
        raise task_not_found()
    return task
