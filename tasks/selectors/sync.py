"""Sync reads: what changed for a user since a position of the change log (tasks/changelog.py), and the pages
of a full sync. See docs/architecture.md, "Sync", for why nothing is missed.

A *position* is a value of `Change.xid`. `change_bound()` answers a position such that every write of a
transaction below it has finished (committed or rolled back) before the call: reading the log from a bound
taken earlier is complete. Reads here are raw SQL where they run on every poll, so a sync with nothing new
costs two small indexed queries and no ORM compilation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router

from tasks.changelog import Change, ChangeKind
from tasks.models import Task
from tasks.selectors.projects import project_list_for
from tasks.selectors.tasks import task_list_for
from tasks.serializers.projects import project_to_dict
from tasks.serializers.tasks import TASK_COLUMNS, task_row_to_dict

# PostgreSQL: the oldest transaction still in flight (every one below it has finished).
_PG_BOUND = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
# SQLite: writers are serialised, so the next id of the log is the bound.
_SQLITE_BOUND = "SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'tasks_change'"

# The rows that concern a user since a position: their own (personal tasks, their memberships) and those of
# the projects they are in now. Two index ranges, (user_id, xid) and (project_id, xid) per membership; a UNION
# rather than an OR so each branch keeps its index. `own` marks the first branch.
_SINCE = """
    SELECT kind, object_id, project_id, 1 FROM tasks_change WHERE user_id = %s AND xid >= %s
    UNION ALL
    SELECT kind, object_id, project_id, 0 FROM tasks_change
    WHERE xid >= %s AND project_id IN (SELECT project_id FROM tasks_membership WHERE user_id = %s)
"""
_CHANGED = """
    SELECT EXISTS (SELECT 1 FROM tasks_change WHERE user_id = %s AND xid >= %s)
        OR EXISTS (SELECT 1 FROM tasks_change WHERE xid >= %s
                   AND project_id IN (SELECT project_id FROM tasks_membership WHERE user_id = %s))
"""
# IN lists are read in chunks: a delta may name many ids (a project just joined).
_CHUNK = 500


def _alias() -> str:
    return router.db_for_read(Change)


def _user_param(user: Any, alias: str) -> Any:
    return Change._meta.get_field("user_id").get_db_prep_value(user.pk, connections[alias])


def change_bound() -> int:
    """A position below which every transaction has finished: read it *before* what it bounds."""
    alias = _alias()
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_PG_BOUND if connection.vendor == "postgresql" else _SQLITE_BOUND)
        return int(cursor.fetchone()[0])


def changed_since(*, user: Any, position: int) -> bool:
    """Whether anything the user sees (or saw) was written at or after `position`. One query."""
    alias = _alias()
    who = _user_param(user, alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(_CHANGED, [who, position, position, who])
        return bool(cursor.fetchone()[0])


@dataclass
class SyncBatch:
    projects: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    removed_projects: list[int] = field(default_factory=list)
    removed_tasks: list[int] = field(default_factory=list)


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


def sync_changes_since(*, user: Any, position: int) -> SyncBatch:
    """What changed for the caller since `position` (taken with `change_bound()` by an earlier call).

    Every task or project a log row names is answered as it stands now (visible: its shape; else: removed).
    A row of the caller's own membership (joined, left, removed, role changed, project deleted) also names
    every task the project holds now and every task the log shows leaving it since `position`: the tasks
    the caller may hold from it. Duplicates with later answers are possible; omissions are not.
    """
    alias = _alias()
    who = _user_param(user, alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(_SINCE, [who, position, position, who])
        rows = cursor.fetchall()
    if not rows:
        return SyncBatch()
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
            Change.objects.filter(kind=ChangeKind.TASK, project_id__in=chunk, xid__gte=position).values_list(
                "object_id", flat=True
            )
        )
    return _current(user=user, project_ids=project_ids, task_ids=task_ids)


@dataclass
class FullPage:
    batch: SyncBatch
    # Where the next page starts: ("projects", after id) or ("tasks", after id); None once done.
    next_key: tuple[str, int] | None


def sync_full_page(*, user: Any, key: tuple[str, int], limit: int) -> FullPage:
    """One page of a full sync: the caller's projects, then their live tasks, each by id (a keyset)."""
    batch = SyncBatch()
    phase, after = key
    if phase == "projects":
        projects = list(project_list_for(user=user).filter(pk__gt=after).order_by("pk")[: limit + 1])
        batch.projects = [project_to_dict(project) for project in projects[:limit]]
        if len(projects) > limit:
            return FullPage(batch, ("projects", projects[limit - 1].pk))
        limit -= len(projects)
        phase, after = "tasks", 0
        if limit == 0:
            return FullPage(batch, ("tasks", 0))
    rows = list(task_list_for(user=user).filter(pk__gt=after).order_by("pk").values_list(*TASK_COLUMNS)[: limit + 1])
    batch.tasks = [task_row_to_dict(row) for row in rows[:limit]]
    if len(rows) > limit:
        return FullPage(batch, ("tasks", rows[limit - 1][0]))
    return FullPage(batch, None)
