"""The shape of a task list: subtasks (at most 4 levels, no cycles) and the manual order among siblings.

Siblings are the live tasks of one project (or one user's personal tasks) under one parent, ordered by
`position` then id. Changes to the shape take the tree lock first: the project's row (SELECT ... FOR UPDATE),
or for personal tasks the user's row; on SQLite the IMMEDIATE transaction holds the database's write lock.
So two clients moving tasks of one project at the same moment queue: the second sees where the first put
things, and neither a cycle (A under B while B goes under A) nor a fifth level nor two tasks in one place can
come out of the race. Creating a task takes no lock: its position is the time in microseconds, after every
sibling.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from config.http.errors import ValidationFailed
from tasks.models import LIVE, MAX_DEPTH, MAX_ID, Membership, Project, Role, Task

# Room left between neighbours when siblings are renumbered: 2^20 moves between two tasks before the next.
GAP = 1 << 20


def new_position(now: datetime | None = None) -> int:
    """After every existing sibling: renumbered positions stay far below the clock in microseconds."""
    return int((now or timezone.now()).timestamp() * 1_000_000)


def lock_tree(*, project_id: int | None, owner_id: Any) -> None:
    """Takes the lock that serialises shape changes of a project's tasks (or of a user's personal ones)."""
    if project_id is not None:
        list(Project.objects.select_for_update().filter(pk=project_id).values_list("pk"))
    else:
        list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk"))


def lock_trees(pairs: Iterable[tuple[int | None, Any]]) -> None:
    """Several tree locks, always in the same order (projects by id, then users), so two movers cannot
    deadlock on each other's."""
    unique = set(pairs)
    for project_id in sorted(p for p, _ in unique if p is not None):
        lock_tree(project_id=project_id, owner_id=None)
    for owner_id in sorted(str(o) for p, o in unique if p is None):
        lock_tree(project_id=None, owner_id=owner_id)


def siblings_of(*, project_id: int | None, owner_id: Any, parent_id: int | None) -> Any:
    scope = Task.objects.filter(LIVE, parent_id=parent_id)
    scope = (
        scope.filter(project_id=project_id)
        if project_id is not None
        else scope.filter(project__isnull=True, owner_id=owner_id)
    )
    return scope.order_by("position", "id")


def ancestors_of(task_id: int | None) -> list[int]:
    """The task and its parents up to the top, at most MAX_DEPTH + 1 of them (one query per level): its depth
    is their number (a top-level task is 1)."""
    chain: list[int] = []
    current = task_id
    while current is not None and len(chain) <= MAX_DEPTH:
        chain.append(current)
        current = Task.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return chain


def descendants_of(ids: Iterable[int], *, condition: Q | None = None) -> list[list[int]]:
    """The subtasks of `ids` (never one of `ids` itself), level by level (one query per level, at most
    MAX_DEPTH levels), among the rows matching `condition` (e.g. live only)."""
    levels: list[list[int]] = []
    frontier = list(ids)
    seen = set(frontier)
    while frontier and len(levels) < MAX_DEPTH:
        children = Task.objects.filter(parent_id__in=frontier)
        if condition is not None:
            children = children.filter(condition)
        frontier = [pk for pk in children.values_list("pk", flat=True) if pk not in seen]
        seen.update(frontier)
        if frontier:
            levels.append(frontier)
    return levels


def flatten(levels: list[list[int]]) -> list[int]:
    return [pk for level in levels for pk in level]


def check_parent(
    *, user: Any, parent_id: int, project_id: int | None, task_id: int | None = None, height: int = 1
) -> Task:
    """The parent a task (whose own subtree is `height` levels tall) may go under: a live task the caller can
    see, in the same project, not the task itself nor one of its subtasks, and shallow enough that nothing
    ends up deeper than MAX_DEPTH. Anything else is 400 on `parent` (never a hint of what others hold)."""
    parent = Task.objects.visible_to(user).live().filter(pk=parent_id if 0 < parent_id <= MAX_ID else 0).first()
    if parent is None:
        raise ValidationFailed.on("parent", "No such task among those you can see.")
    if parent.project_id != project_id:
        raise ValidationFailed.on("parent", "A subtask belongs to its parent's project.")
    chain = ancestors_of(parent.pk)
    if task_id is not None and task_id in chain:
        raise ValidationFailed.on("parent", "A task cannot go under itself or one of its subtasks.")
    if len(chain) + height > MAX_DEPTH:
        raise ValidationFailed.on("parent", f"Subtasks nest at most {MAX_DEPTH} levels deep.")
    return parent


def height_of(task_id: int) -> int:
    """How many levels the task's live subtree spans (1: no subtasks)."""
    return 1 + len(descendants_of([task_id], condition=LIVE))


def place_after(*, task: Task, after_id: int | None) -> int:
    """The position that puts `task` right after its sibling `after_id` (None: first), renumbering the
    siblings when there is no room between the two neighbours. Call with the tree lock held."""
    siblings = list(
        siblings_of(project_id=task.project_id, owner_id=task.owner_id, parent_id=task.parent_id)
        .exclude(pk=task.pk)
        .values_list("pk", "position")
    )
    if after_id is None:
        index = 0
    else:
        index = next((i + 1 for i, (pk, _) in enumerate(siblings) if pk == after_id), -1)
        if index < 0:
            raise ValidationFailed.on("after", "Not a task at the place you are moving to (same project and parent).")
    before = siblings[index - 1][1] if index > 0 else None
    following = siblings[index][1] if index < len(siblings) else None
    if before is None and following is None:
        return GAP
    if before is None:
        return following - GAP  # type: ignore[operator]
    if following is None:
        return max(before + GAP, new_position())
    if following - before >= 2:
        return (before + following) // 2
    return _renumber(siblings, index)


def _renumber(siblings: list[tuple[int, int]], index: int) -> int:
    """Spreads the siblings GAP apart, leaving the slot at `index` free; answers that slot's position."""
    updates = []
    for i, (pk, _) in enumerate(siblings):
        slot = i + 1 if i < index else i + 2
        updates.append(Task(pk=pk, position=slot * GAP))
    Task.objects.bulk_update(updates, ["position"])
    return (index + 1) * GAP


def role_in(*, user: Any, project_id: int) -> str | None:
    """The caller's role in the project (None: not a member). One query on membership's unique index."""
    return Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()


def can_write(role: str | None) -> bool:
    return role in (Role.OWNER, Role.EDITOR)
