"""The migration that puts tasks in projects: every existing task stays, personal, in its creation order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.tests.factories import UserFactory

BEFORE = ("tasks", "0002_projects")
AFTER = ("tasks", "0003_tasks_in_projects")


def test_existing_tasks_become_personal_tasks_with_nothing_lost(migrate: Any) -> None:
    Task = migrate(BEFORE).get_model("tasks", "Task")
    ada: Any = UserFactory()  # the accounts app stays where it is
    bob: Any = UserFactory()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = {}
    for n, owner in enumerate([ada, bob, ada, ada]):
        task = Task.objects.create(
            owner_id=owner.pk,
            title=f"Task {n}",
            description="x" * n,
            status="completed" if n == 1 else "pending",
            priority=n % 4 + 1,
            tags=["home", f"t{n}"],
            due_at=start + timedelta(days=n),
            created_at=start + timedelta(hours=n),
            updated_at=start + timedelta(hours=n),
            deleted_at=start if n == 3 else None,
            version=n + 1,
        )
        rows[task.pk] = (owner.pk, task.title, task.description, task.status, task.priority, task.tags, task.due_at)

    new = migrate(AFTER).get_model("tasks", "Task")

    fields = ("owner_id", "title", "description", "status", "priority", "tags", "due_at")
    after = {row[0]: tuple(row[1:]) for row in new.objects.values_list("pk", *fields)}
    assert after == rows
    assert set(new.objects.values_list("project_id", "parent_id", "comments_count")) == {(None, None, 0)}
    assert list(new.objects.filter(owner_id=ada.pk).values_list("assignee_ids", flat=True)) == [[], [], []]
    # Creation order is the manual order, and every position differs.
    by_position = list(new.objects.filter(owner_id=ada.pk).order_by("position").values_list("pk", flat=True))
    assert by_position == sorted(by_position)
    assert new.objects.filter(deleted_at__isnull=False).count() == 1
