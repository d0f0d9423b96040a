"""Complete, reopen, the trash and restore."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tasks.models import Status, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_complete_sets_the_status_and_completed_at(owner_client: Any, task: Any) -> None:
    response = owner_client.post(f"/api/v1/tasks/{task.id}/complete")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed"
    assert body["completed_at"] is not None
    assert response.headers["ETag"] == Task.objects.get(pk=task.pk).etag


def test_completing_twice_keeps_the_first_completion_time(owner_client: Any, task: Any) -> None:
    first = owner_client.post(f"/api/v1/tasks/{task.id}/complete").json()
    second = owner_client.post(f"/api/v1/tasks/{task.id}/complete").json()
    assert second["completed_at"] == first["completed_at"]


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.IN_PROGRESS])
def test_reopen_sets_pending_and_clears_completed_at(owner_client: Any, user: Any, status: str) -> None:
    task = TaskFactory(owner=user, status=status)
    body = owner_client.post(f"/api/v1/tasks/{task.id}/reopen").json()
    assert body["status"] == "pending"
    assert body["completed_at"] is None


def test_complete_ignores_any_body(owner_client: Any, task: Any) -> None:
    response = owner_client.post(
        f"/api/v1/tasks/{task.id}/complete", {"status": "pending", "title": "x"}, format="json"
    )
    assert response.json()["status"] == "completed"
    assert response.json()["title"] == task.title


def test_the_trash_lists_deleted_tasks_newest_deletion_first(owner_client: Any, user: Any) -> None:
    a, b, live = TaskFactory(owner=user), TaskFactory(owner=user), TaskFactory(owner=user)
    owner_client.delete(f"/api/v1/tasks/{a.id}")
    owner_client.delete(f"/api/v1/tasks/{b.id}")
    body = owner_client.get("/api/v1/tasks/trash/").json()
    assert body["count"] == 2
    assert [t["id"] for t in body["results"]] == [b.id, a.id]
    assert all(t["deleted_at"] for t in body["results"])
    assert live.id not in [t["id"] for t in body["results"]]


def test_a_trashed_task_is_hidden_from_every_other_endpoint(owner_client: Any, task: Any) -> None:
    owner_client.delete(f"/api/v1/tasks/{task.id}")
    assert owner_client.get(f"/api/v1/tasks/{task.id}").status_code == 404
    assert owner_client.get("/api/v1/tasks/").json()["count"] == 0
    assert owner_client.get("/api/v1/tasks/?tag=work").json()["count"] == 0
    assert owner_client.get("/api/v1/tasks/stats/").json()["total"] == 0
    assert b"".join(owner_client.get("/api/v1/tasks/export/").streaming_content) == b"[]"
    for action in ("complete", "reopen"):
        assert owner_client.post(f"/api/v1/tasks/{task.id}/{action}").status_code == 404
    response = owner_client.post("/api/v1/tasks/bulk/", {"action": "complete", "ids": [task.id]}, format="json")
    assert response.status_code == 404


def test_restore_brings_a_task_back_as_it_was(owner_client: Any, task: Any) -> None:
    before = owner_client.get(f"/api/v1/tasks/{task.id}").json()
    owner_client.delete(f"/api/v1/tasks/{task.id}")
    response = owner_client.post(f"/api/v1/tasks/{task.id}/restore")
    assert response.status_code == 200
    assert response.json() == before
    assert owner_client.get(f"/api/v1/tasks/{task.id}").status_code == 200
    assert owner_client.get("/api/v1/tasks/trash/").json()["count"] == 0


def test_restoring_a_task_not_in_the_trash_is_a_404(owner_client: Any, task: Any) -> None:
    response = owner_client.post(f"/api/v1/tasks/{task.id}/restore")
    assert response.status_code == 404
    assert Task.objects.get(pk=task.pk).deleted_at is None


def test_the_trash_is_paginated_like_every_list(owner_client: Any, user: Any) -> None:
    TaskFactory.create_batch(25, owner=user, deleted_at=timezone.now())
    body = owner_client.get("/api/v1/tasks/trash/?page_size=10&page=3").json()
    assert body["count"] == 25
    assert len(body["results"]) == 5
