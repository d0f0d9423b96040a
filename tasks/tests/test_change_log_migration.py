"""The migration of the change log: its triggers come and go with it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from accounts.tests.factories import UserFactory
from tasks.changelog import Change, ChangeKind
from tasks.models import Membership, Project, Role, Task

BEFORE = ("tasks", "0005_recurrence_reminders_notifications")
AFTER = ("tasks", "0006_change_log")


def test_the_triggers_log_every_write_and_go_away_when_the_migration_is_reversed(migrate: Any) -> None:
    old = migrate(BEFORE)
    assert "tasks_change" not in {model._meta.db_table for model in old.get_models()}
    ada: Any = UserFactory()
    OldTask = old.get_model("tasks", "Task")
    OldTask.objects.create(owner_id=ada.pk, title="Before the log")  # no table to log it in: no trigger

    migrate(AFTER)
    project = Project.objects.create(name="P")
    membership = Membership.objects.create(project=project, user=ada, role=Role.OWNER)
    member_id = membership.pk
    task = Task.objects.create(owner=ada, title="Logged")
    Task.objects.filter(pk=task.pk).update(project=project)  # a move: both sides
    Task.objects.filter(pk=task.pk).delete()
    membership.delete()

    rows = list(Change.objects.order_by("id").values_list("kind", "object_id", "project_id", "user_id"))
    assert rows == [
        (ChangeKind.PROJECT, project.pk, project.pk, None),
        (ChangeKind.MEMBERSHIP, member_id, project.pk, ada.pk),
        (ChangeKind.TASK, task.pk, None, ada.pk),
        (ChangeKind.TASK, task.pk, None, ada.pk),
        (ChangeKind.TASK, task.pk, project.pk, None),
        (ChangeKind.TASK, task.pk, project.pk, None),
        (ChangeKind.MEMBERSHIP, member_id, project.pk, ada.pk),
    ]
    xids = list(Change.objects.order_by("id").values_list("xid", flat=True))
    assert xids == sorted(xids)
