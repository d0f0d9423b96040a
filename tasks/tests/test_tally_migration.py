"""The migration of the live-task counters counts what exists, and its triggers count what comes after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks.models import Project, Tally, Task

BEFORE = ("tasks", "0006_change_log")
AFTER = ("tasks", "0007_task_tallies")


def counts() -> dict[Any, int]:
    return {row.project_id or row.user_id: row.live for row in Tally.objects.all()}


def test_existing_tasks_are_counted_and_later_writes_move_the_counts(migrate: Any) -> None:
    old = migrate(BEFORE)
    ada: Any = UserFactory()
    OldTask, OldProject = old.get_model("tasks", "Task"), old.get_model("tasks", "Project")
    project = OldProject.objects.create(name="P")
    for n in range(3):
        OldTask.objects.create(owner_id=ada.pk, title=f"mine {n}")
    OldTask.objects.create(owner_id=ada.pk, title="trashed", deleted_at=timezone.now() - timedelta(days=1))
    for n in range(2):
        OldTask.objects.create(owner_id=ada.pk, project_id=project.pk, title=f"shared {n}")

    migrate(AFTER)
    assert counts() == {ada.pk: 3, project.pk: 2}
    Task.objects.create(owner=ada, project=Project.objects.get(pk=project.pk), title="after")
    Task.objects.filter(title="trashed").update(deleted_at=None)
    assert counts() == {ada.pk: 4, project.pk: 3}

    migrate(BEFORE)
    OldTask.objects.create(owner_id=ada.pk, title="no trigger left to count it")
    migrate(AFTER)
    assert counts() == {ada.pk: 5, project.pk: 3}
