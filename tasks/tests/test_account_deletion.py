"""Deleting an account deletes its tasks (the trash included) and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.factories import PASSWORD
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_deleting_the_account_deletes_its_tasks_and_trash_only(
    user: Any, outsider: Any, owner_client: Any, login_as: Any
) -> None:
    TaskFactory.create_batch(3, owner=user)
    trashed = TaskFactory(owner=user)
    assert owner_client.delete(f"/api/v1/tasks/{trashed.pk}").status_code == 204
    kept = TaskFactory(owner=outsider)

    response = login_as(user).delete("/api/v1/auth/me", {"password": PASSWORD}, format="json")

    assert response.status_code == 204
    assert list(Task.objects.values_list("pk", flat=True)) == [kept.pk]
