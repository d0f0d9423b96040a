"""Who a task is assigned to. The Assignment rows are the truth (the `assignee` filter reads them); the task's
`assignee_ids` is their copy in the task's own row, rewritten in the same transaction, so a list shows
assignees without a query of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import F, QuerySet

from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import ValidationFailed
from tasks.models import Assignment, Membership, Task
from tasks.services.notifications import notify_assigned


def _ids(values: Iterable[Any]) -> list[str]:
    return sorted({str(value) for value in values})


def check_assignees(*, user: Any, project_id: int | None, assignees: list[uuid.UUID]) -> list[str]:
    """The assignees a task of this project may have: members of it (for a personal task, only its creator).
    Anyone else is 400 on `assignees`, named by the id the caller sent, whether or not such a user exists."""
    wanted = _ids(assignees)
    if project_id is None:
        allowed = {str(user.pk)} & set(wanted)
    else:
        allowed = {
            str(pk)
            for pk in Membership.objects.filter(project_id=project_id, user_id__in=wanted).values_list(
                "user_id", flat=True
            )
        }
    strangers = [pk for pk in wanted if pk not in allowed]
    if strangers:
        where = "this project's members" if project_id is not None else "yourself, on a personal task"
        raise ValidationFailed.on("assignees", f"Only {where} can be assigned: {', '.join(strangers)}.")
    return wanted


def assignees_set(*, user: Any, task: Task, assignees: list[str], meta: RequestContext) -> bool:
    """Makes `assignees` (checked ids) the task's assignees; answers whether anything changed. Call inside the
    transaction holding the task's row lock; the caller saves `assignee_ids` with the task."""
    current = set(task.assignee_ids)
    wanted = set(assignees)
    if current == wanted:
        return False
    removed, added = sorted(current - wanted), sorted(wanted - current)
    if removed:
        Assignment.objects.filter(task=task, user_id__in=removed).delete()
    if added:
        Assignment.objects.bulk_create([Assignment(task=task, user_id=pk) for pk in added], ignore_conflicts=True)
    task.assignee_ids = sorted(wanted)
    audit_record(
        event=EventType.TASK_ASSIGNED,
        user=user,
        meta=meta,
        details={"task_id": task.pk, "project_id": task.project_id, "added": added, "removed": removed},
    )
    notify_assigned(task=task, user_ids=[pk for pk in added if pk != str(user.pk)], actor=user)
    return True


def assignments_drop(*, user_id: Any, project_ids: Iterable[int] | None = None) -> int:
    """Takes `user_id` off the tasks of these projects (a member removed or leaving; None: of every task, for
    an account being deleted), keeping each task's copy in step. Answers how many tasks changed."""
    rows = Assignment.objects.filter(user_id=user_id)
    if project_ids is not None:
        rows = rows.filter(task__project_id__in=list(project_ids))
    return _drop(rows)


def assignments_drop_outsiders(*, task_ids: list[int], project_id: int | None, owner: Any) -> int:
    """Takes off these tasks (just moved) whoever cannot be assigned where they now are: a non-member of
    `project_id`, or on a personal task anyone but its `owner`. Answers how many tasks changed."""
    rows = Assignment.objects.filter(task_id__in=task_ids)
    if project_id is None:
        rows = rows.exclude(user=owner)
    else:
        rows = rows.exclude(user_id__in=Membership.objects.filter(project_id=project_id).values("user_id"))
    return _drop(rows)


def _drop(rows: QuerySet[Assignment]) -> int:
    """Deletes these assignments and rewrites the copy of each task they were on."""
    affected = list(rows.values_list("task_id", flat=True).distinct())
    if affected:
        rows.delete()
        refresh_assignee_ids(affected)
    return len(affected)


def refresh_assignee_ids(task_ids: Iterable[int]) -> None:
    """Rewrites the copy of the assignees of these tasks from the Assignment rows (two queries whatever the count)."""
    task_ids = list(task_ids)
    by_task: dict[int, list[str]] = {pk: [] for pk in task_ids}
    for task_id, user_id in Assignment.objects.filter(task_id__in=task_ids).values_list("task_id", "user_id"):
        by_task[task_id].append(str(user_id))
    tasks = [Task(pk=pk, assignee_ids=sorted(ids)) for pk, ids in by_task.items()]
    Task.objects.bulk_update(tasks, ["assignee_ids"])
    # The representation changed: so does the ETag.
    Task.objects.filter(pk__in=task_ids).update(version=F("version") + 1)
