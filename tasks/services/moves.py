"""Moving a task: to another project (or out of every project, to the caller's personal tasks), under another
parent, to another place among its siblings. Its subtasks move along."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.context import RequestContext
from audit.models import EventType
from config.http.errors import Conflict
from tasks.models import LIVE, Task
from tasks.selectors.tasks import task_get_for
from tasks.services import tree
from tasks.services.assignments import assignments_drop_outsiders
from tasks.services.tasks import audit_task, lock_rows, lock_task, writable_project

UNSET: Any = object()


def task_move(
    *, user: Any, task_id: int, meta: RequestContext, project: Any = UNSET, parent: Any = UNSET, after: Any = None
) -> Task:
    """Moves the task, placed right after its new sibling `after` (None: first).

    `project` (an id, or None for the caller's personal tasks; left out: where it is) needs the right to edit
    tasks in the project it leaves and the one it joins; `parent` (an id or None; left out: None when the
    project changes, else unchanged) must be a task of the destination. The subtasks follow into the new
    project; assignees who are not members there are taken off. The tree locks of both places are taken
    first, in a fixed order, then the task's row.
    """
    current = task_get_for(user=user, task_id=task_id)
    source = current.project_id
    target = source if project is UNSET else project
    if parent is UNSET:
        parent = current.parent_id if target == source else None
    with transaction.atomic():
        if target is not None and target != source:
            writable_project(user=user, project_id=target)
        tree.lock_trees([(source, user.pk), (target, user.pk)])
        task = lock_task(user=user, task_id=task_id)
        if task.project_id != source:
            raise Conflict("The task was moved meanwhile: read it again and retry.", code="conflict")
        subtree = tree.descendants_of([task.pk], condition=LIVE)
        if parent is not None:
            tree.check_parent(user=user, parent_id=parent, project_id=target, task_id=task.pk, height=1 + len(subtree))
        before = {"project_id": task.project_id, "parent_id": task.parent_id, "position": task.position}
        task.project_id = target
        task.parent_id = parent
        if target is None and task.owner_id != user.pk:
            task.owner = user  # a personal task is its owner's: the mover takes it
        task.position = tree.place_after(task=task, after_id=after)
        fields = ["project", "parent", "position", "owner"]
        descendants = tree.flatten(subtree)
        if target != source:
            lock_rows(descendants)
            followers = Task.objects.filter(pk__in=descendants)
            followers.update(project_id=target, version=F("version") + 1)
            if target is None:
                followers.update(owner=user)
            assignments_drop_outsiders(task_ids=[task.pk, *descendants], project_id=target, owner=user)
            task.refresh_from_db(fields=["assignee_ids", "version"])
            fields.append("assignee_ids")
        now = timezone.now()
        task.version += 1
        task.updated_at = now
        task.save(update_fields=[*fields, "version", "updated_at"])
        audit_task(
            EventType.TASK_MOVED,
            user=user,
            meta=meta,
            task_id=task.pk,
            project_id=target,
            from_project_id=before["project_id"],
            parent_id=parent,
            from_parent_id=before["parent_id"],
            after=after,
            subtasks=descendants,
        )
    return task
