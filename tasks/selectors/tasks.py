"""Task reads, always from the caller's side: their personal tasks and those of their projects (one condition,
`TaskQuerySet.visible_to`). Trashed tasks appear only in the trash."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import DateTimeField, OuterRef, Q, Subquery

from accounts.authentication import PendingSession
from accounts.selectors import session_beside, session_cte
from config.http.compiled import CompiledQuery
from config.http.errors import NotFound
from tasks.changelog import Position, position_from, position_sql
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


# The default list's page, its total and the change-log position, in one statement. The page merges the
# caller's personal tasks and each of their projects' tasks, every branch walking its own index newest first
# and stopping after the rows the page can need (PostgreSQL: a LATERAL branch per membership), so its cost
# follows the page and the number of projects, not the number of tasks. The total is the caller's tallies
# (tasks/tallies.py), not a count of their rows. `head` always yields one row, so an empty page still brings
# the total and the position.
_HEAD = """
    SELECT COALESCE((SELECT live FROM tasks_tally WHERE user_id = %s), 0)
           + COALESCE((SELECT SUM(live) FROM tasks_tally
                       WHERE project_id IN (SELECT project_id FROM tasks_membership WHERE user_id = %s)), 0) AS total,
           {position} AS position
"""
_PG_PAGE = """
    SELECT {columns} FROM (
        (SELECT * FROM tasks_task WHERE owner_id = %s AND project_id IS NULL AND deleted_at IS NULL
         ORDER BY created_at DESC, id DESC LIMIT %s)
        UNION ALL
        (SELECT branch.* FROM tasks_membership AS member CROSS JOIN LATERAL (
            SELECT * FROM tasks_task WHERE project_id = member.project_id AND deleted_at IS NULL
            ORDER BY created_at DESC, id DESC LIMIT %s) AS branch
         WHERE member.user_id = %s)
    ) AS merged ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s
"""
# SQLite (development, tests): the same rows, from the one condition of `visible_to`.
_SQLITE_PAGE = """
    SELECT {columns} FROM tasks_task WHERE deleted_at IS NULL
        AND ((project_id IS NULL AND owner_id = %s)
             OR project_id IN (SELECT project_id FROM tasks_membership WHERE user_id = %s))
    ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s
"""
# The caller's session (`session_cte`) rides on the first row only: the rest of the page does not carry it.
_DEFAULT_PAGE = """
    WITH {session}
    SELECT {outer}, head.total, head.position, signed_in.* FROM ({head}) AS head
    LEFT JOIN (SELECT numbered.*, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n
               FROM ({page}) AS numbered) AS page ON 1 = 1
    LEFT JOIN signed_in ON page.n IS NULL OR page.n = 1
    ORDER BY page.created_at DESC, page.id DESC
"""
# PostgreSQL writes a timestamp in the API's format (config/http/formats.py `iso`: ISO 8601 in UTC with `Z`,
# microseconds only when there are some) faster than Python can parse it into a datetime and format it back.
_PG_ISO = """CASE WHEN mod(EXTRACT(MICROSECONDS FROM {column})::bigint, 1000000) = 0
    THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    ELSE to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""


def _compact(sql: str) -> str:
    """One space for each run of whitespace (these templates hold no literal that has any): psycopg caches its
    parsing of a statement only under 4 KiB, and the task list's is just over that once indented."""
    return " ".join(sql.split())


def _default_page_sql(columns: tuple[str, ...], connection: Any) -> str:
    fields = {field.attname: field for field in Task._meta.concrete_fields}
    quote = connection.ops.quote_name
    names = ", ".join(quote(fields[name].column) for name in columns)
    outer = []
    for name in columns:
        column = f"page.{quote(fields[name].column)}"
        postgres_text = connection.vendor == "postgresql" and isinstance(fields[name], DateTimeField)
        outer.append(_PG_ISO.format(column=column) if postgres_text else column)
    page = _PG_PAGE if connection.vendor == "postgresql" else _SQLITE_PAGE
    return _compact(_DEFAULT_PAGE).format(
        session=session_cte(connection),
        outer=", ".join(_compact(column) for column in outer),
        head=_compact(_HEAD).format(position=position_sql(connection.vendor)),
        page=_compact(page).format(columns=names),
    )


@cache
def _default_page_query(columns: tuple[str, ...]) -> CompiledQuery:
    if not {"created_at", "id"} <= set(columns):
        raise ValueError("the default page is ordered by created_at and id: read both")
    return CompiledQuery(
        f"task_default_page_{abs(hash(columns))}",
        # What the rows' first columns are and how the ORM converts them.
        lambda: task_list_for(user=uuid.UUID(int=0)).values_list(*columns),
        param_count=2,
        sql=lambda connection: _default_page_sql(columns, connection),
    )


class TaskListRows:
    """The plain list (no filter, default order) for the paginator: each page, the total and the change-log
    position in one query, whatever the size of the caller's history.

    This is the request an SPA makes most: its SQL is fixed and prepared once per connection
    (config/http/compiled.py), the page walks indexes newest first and the total comes from counters. Rows are
    `columns` plus the total, as `task_list_for(...).annotate(total=Window(Count("*"))).values_list(*columns,
    "total")` would give, except that on PostgreSQL the timestamps come already written in the API's format
    (`iso` passes them through); `position` is the change log's position of the page's own snapshot (for its
    ETag).
    """

    ordered = True

    def __init__(self, *, user: Any, columns: tuple[str, ...], session: PendingSession | None = None) -> None:
        self.user = user
        self.columns = columns
        self.session = session
        self.total: int | None = None
        self.position: Position | None = None

    def page_rows(self, *, offset: int, limit: int) -> list[tuple[Any, ...]]:
        alias = router.db_for_read(Task)
        connection = connections[alias]
        user = Task._meta.get_field("owner").get_db_prep_value(self.user.pk, connection)
        session = self.session.param(alias) if self.session is not None else None
        if connection.vendor == "postgresql":
            page = [user, offset + limit, offset + limit, user, limit, offset]
        else:
            page = [user, user, limit, offset]
        rows = _default_page_query(self.columns).rows(using=alias, params=[session, user, user, *page])
        head = rows[0]
        width = len(self.columns)
        if self.session is not None:
            # Before anything of the page is used: an ended session sees nothing of it (401).
            self.session.check_columns(alias, head[width + 2 :])
        self.total = int(head[width])
        self.position = position_from(head[width + 1], connection.vendor)
        if head[0] is None:  # the head alone: no task on this page
            return []
        return [row[: width + 1] for row in rows]

    def count(self) -> int:
        if self.total is None:
            return task_list_for(user=self.user).count()
        return self.total


def task_trash_for(*, user: Any) -> TaskQuerySet:
    """The trash of every task the caller can see: their personal ones and their projects'."""
    return Task.objects.visible_to(user).trashed().order_by("-deleted_at", "-id")


_TASK_FIELDS = [field.attname for field in Task._meta.concrete_fields]
_task_query = CompiledQuery(
    "task_get_for",
    lambda: Task.objects.visible_to(uuid.UUID(int=0)).live().filter(pk=0),
    # The user's id twice (their personal tasks, their memberships), then the task's.
    param_count=3,
)


# The same read with the caller's session beside it (PendingSession): always one row, the task's columns null
# when there is no such task.
_task_query_signed_in = CompiledQuery(
    "task_get_for_signed_in",
    lambda: Task.objects.visible_to(uuid.UUID(int=0)).live().filter(pk=0),
    param_count=3,
    sql=lambda connection: session_beside(_task_query.sql(connection), connection),
)


def task_get_for(*, user: Any, task_id: int, session: PendingSession | None = None) -> Task:
    """A live task the caller can see; anything else (another user's, a project they are not in, trashed,
    absent) is the same 404. Reads need no role: a write takes it with the row lock (`with_role`).

    The same instance as `task_list_for(user=user).get(pk=task_id)`, from SQL compiled once per connection
    (config/http/compiled.py): every read of one task, and every write before its lock, starts here. With the
    request's `session` still to check, the same statement checks it first (401 before any 404)."""
    if not 0 < task_id <= MAX_ID:
        raise task_not_found()
    alias = router.db_for_read(Task)
    who = Task._meta.get_field("owner").get_db_prep_value(user.pk, connections[alias])
    if session is None:
        rows = _task_query.rows(using=alias, params=[who, who, task_id])
    else:
        found = _task_query_signed_in.rows(using=alias, params=[session.param(alias), who, who, task_id])[0]
        width = len(_TASK_FIELDS)
        session.check_columns(alias, found[width:])
        rows = [found[:width]] if found[0] is not None else []
    if not rows:
        raise task_not_found()
    return Task.from_db(alias, _TASK_FIELDS, rows[0])
