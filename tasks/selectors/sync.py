"""Sync reads: what changed for a user since a position of the change log (tasks/changelog.py), and the pages
of a full sync. See docs/architecture.md, "Sync", for why nothing is missed.

A `Position` names the transactions a reader has seen the whole of: on PostgreSQL those below the snapshot's
xmax that were not in flight (`pg_snapshot_xip`), on SQLite (serialised writers) the log's ids so far.
`change_position()` takes one; reading the rows not covered by a position taken earlier is complete, whatever
committed late. Reads here are raw SQL where they run on every poll, prepared once per connection (their SQL is
fixed but for the number of transactions in flight), so a sync with nothing new costs two small indexed
queries and no ORM compilation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router

from accounts.authentication import PendingSession
from accounts.selectors import session_beside
from config.db.cursors import prepared_cursor
from tasks.changelog import Change, ChangeKind, Position, position_from, position_sql
from tasks.models import Task
from tasks.selectors.projects import project_list_for
from tasks.selectors.tasks import task_list_for
from tasks.serializers.projects import project_to_dict
from tasks.serializers.tasks import TASK_COLUMNS, task_row_to_dict

# The rows that concern a user since a position: their own (personal tasks, their memberships) and those of
# the projects they are in now. Two index ranges, (user_id, xid) and (project_id, xid) walked once per
# membership (a nested loop from the membership's user index, whatever the planner thinks of the log's xid
# spread); a UNION rather than an OR so each branch keeps its index. `own` marks the first branch.
_SINCE = """
    SELECT kind, object_id, project_id, 1 FROM tasks_change WHERE user_id = %s AND {since}
    UNION ALL
    SELECT change.kind, change.object_id, change.project_id, 0
    FROM tasks_membership AS member CROSS JOIN LATERAL (
        SELECT kind, object_id, project_id FROM tasks_change
        WHERE project_id = member.project_id AND {since}) AS change
    WHERE member.user_id = %s
"""
# SQLite has no LATERAL; its planner walks the same two indexes from the IN list.
_SQLITE_SINCE = """
    SELECT kind, object_id, project_id, 1 FROM tasks_change WHERE user_id = %s AND {since}
    UNION ALL
    SELECT kind, object_id, project_id, 0 FROM tasks_change
    WHERE {since} AND project_id IN (SELECT project_id FROM tasks_membership WHERE user_id = %s)
"""
_CHANGED = """
    SELECT EXISTS (SELECT 1 FROM tasks_change WHERE user_id = %s AND {since})
        OR EXISTS (SELECT 1 FROM tasks_membership AS member WHERE member.user_id = %s
                   AND EXISTS (SELECT 1 FROM tasks_change WHERE project_id = member.project_id AND {since}))
"""
# IN lists are read in chunks: a delta may name many ids (a project just joined).
_CHUNK = 500


def _alias() -> str:
    return router.db_for_read(Change)


def _user_param(user: Any, alias: str) -> Any:
    return Change._meta.get_field("user_id").get_db_prep_value(user.pk, connections[alias])


def change_position(*, session: PendingSession | None = None) -> Position:
    """The position of now: take it *before* the read it vouches for. One query, which reads no table on PostgreSQL
    and checks the request's `session` too when it is still to check (PendingSession)."""
    alias = _alias()
    connection = connections[alias]
    sql, params = f"SELECT {position_sql(connection.vendor)}", []
    if session is not None:
        sql, params = session_beside(sql, connection), [session.param(alias)]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if session is not None:
        session.check_columns(alias, row[1:])
    return position_from(row[0], connection.vendor)


def changed_since(*, user: Any, position: Position, session: PendingSession | None = None) -> bool:
    """Whether anything the user sees (or saw) was written from `position` on. One query, which checks the
    request's `session` too when it is still to check (PendingSession)."""
    alias = _alias()
    connection = connections[alias]
    who = _user_param(user, alias)
    since, params = position.since()
    sql, values = _CHANGED.format(since=since), [who, *params, who, *params]
    if session is not None:
        sql = session_beside(sql, connection)
        values.insert(0, session.param(alias))
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if session is not None:
        session.check_columns(alias, row[1:])
    return bool(row[0])


@dataclass
class SyncBatch:
    projects: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    removed_projects: list[int] = field(default_factory=list)
    removed_tasks: list[int] = field(default_factory=list)


@dataclass
class Page:
    batch: SyncBatch
    # Where the next page starts: ("projects", after id) or ("tasks", after id); None once done.
    next_key: tuple[str, int] | None


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _current(*, user: Any, project_ids: set[int], task_ids: set[int]) -> SyncBatch:
    """Each id as the caller sees it now: its current shape if visible, else in `removed`."""
    batch = SyncBatch()
    seen: set[int] = set()
    for chunk in _chunks(project_ids):
        for project in project_list_for(user=user).filter(pk__in=chunk).order_by("pk"):
            seen.add(project.pk)
            batch.projects.append(project_to_dict(project))
    batch.removed_projects = sorted(project_ids - seen)
    seen = set()
    for chunk in _chunks(task_ids):
        for row in task_list_for(user=user).filter(pk__in=chunk).order_by("pk").values_list(*TASK_COLUMNS):
            seen.add(row[0])
            batch.tasks.append(task_row_to_dict(row))
    batch.removed_tasks = sorted(task_ids - seen)
    return batch


def sync_changes_since(
    *, user: Any, position: Position, after: tuple[str, int] | None = None, limit: int | None = None
) -> Page:
    """What changed for the caller since `position` (taken with `change_position()` by an earlier call), in
    pages of `limit` ids ordered (kind, id) and starting after `after`.

    Every task or project a log row names is answered as it stands now (visible: its shape; else: removed).
    A row of the caller's own membership (joined, left, removed, role changed, project deleted) also names
    every task the project holds now and every task the log shows leaving it since `position`: the tasks
    the caller may hold from it. Duplicates with later answers are possible; omissions are not. Each page
    reads the log again from `position`: ids named since the first page and ordered before `after` are the
    next delta's (they are outside the position the first page took).
    """
    alias = _alias()
    who = _user_param(user, alias)
    since, params = position.since()
    connection = connections[alias]
    query = _SINCE if connection.vendor == "postgresql" else _SQLITE_SINCE
    with prepared_cursor(connection) as cursor:
        cursor.execute(query.format(since=since), [who, *params, *params, who])
        rows = cursor.fetchall()
    if not rows:
        return Page(SyncBatch(), None)
    task_ids: set[int] = set()
    project_ids: set[int] = set()
    own_projects: set[int] = set()
    for kind, object_id, project_id, own in rows:
        if kind == ChangeKind.TASK:
            task_ids.add(object_id)
        else:
            project_ids.add(project_id)
            if kind == ChangeKind.MEMBERSHIP and own:
                own_projects.add(project_id)
    for chunk in _chunks(own_projects):
        task_ids.update(Task.objects.filter(project_id__in=chunk).values_list("pk", flat=True))
        task_ids.update(
            Change.objects.filter(position.q(), kind=ChangeKind.TASK, project_id__in=chunk).values_list(
                "object_id", flat=True
            )
        )
    keys = [("projects", pk) for pk in sorted(project_ids)] + [("tasks", pk) for pk in sorted(task_ids)]
    if after is not None:
        keys = [key for key in keys if key > after]
    next_key = None
    if limit is not None and len(keys) > limit:
        keys = keys[:limit]
        next_key = keys[-1]
    batch = _current(
        user=user,
        project_ids={pk for phase, pk in keys if phase == "projects"},
        task_ids={pk for phase, pk in keys if phase == "tasks"},
    )
    return Page(batch, next_key)


def sync_full_page(*, user: Any, key: tuple[str, int], limit: int) -> Page:
    """One page of a full sync: the caller's projects, then their live tasks, each by id (a keyset)."""
    batch = SyncBatch()
    phase, after = key
    if phase == "projects":
        projects = list(project_list_for(user=user).filter(pk__gt=after).order_by("pk")[: limit + 1])
        batch.projects = [project_to_dict(project) for project in projects[:limit]]
        if len(projects) > limit:
            return Page(batch, ("projects", projects[limit - 1].pk))
        limit -= len(projects)
        phase, after = "tasks", 0
        if limit == 0:
            return Page(batch, ("tasks", 0))
    rows = list(task_list_for(user=user).filter(pk__gt=after).order_by("pk").values_list(*TASK_COLUMNS)[: limit + 1])
    batch.tasks = [task_row_to_dict(row) for row in rows[:limit]]
    if len(rows) > limit:
        return Page(batch, ("tasks", rows[limit - 1][0]))
    return Page(batch, None)
