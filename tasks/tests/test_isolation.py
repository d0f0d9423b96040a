"""Another user's task is a 404 on every path, and never shows in a list, export, stats or bulk result."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

PATHS = [
    ("get", "/api/v1/tasks/{id}", None),
    ("put", "/api/v1/tasks/{id}", {"title": "mine now"}),
    ("patch", "/api/v1/tasks/{id}", {"title": "mine now"}),
    ("delete", "/api/v1/tasks/{id}", None),
    ("post", "/api/v1/tasks/{id}/complete", None),
    ("post", "/api/v1/tasks/{id}/reopen", None),
    ("post", "/api/v1/tasks/{id}/restore", None),
]


def snapshot(task: Any) -> tuple[Any, ...]:
    task = Task.objects.get(pk=task.pk)
    return (task.title, task.status, task.deleted_at, task.version, task.owner_id)


@pytest.mark.parametrize(("method", "path", "body"), PATHS)
def test_another_users_task_is_a_404_that_changes_nothing(
    owner_client: Any, foreign_task: Any, method: str, path: str, body: Any
) -> None:
    before = snapshot(foreign_task)
    response = getattr(owner_client, method)(path.format(id=foreign_task.id), body, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert snapshot(foreign_task) == before


@pytest.mark.parametrize(("method", "path", "body"), PATHS)
def test_it_answers_a_foreign_task_exactly_like_a_missing_one(
    owner_client: Any, foreign_task: Any, method: str, path: str, body: Any
) -> None:
    foreign = getattr(owner_client, method)(path.format(id=foreign_task.id), body, format="json").json()
    missing = getattr(owner_client, method)(path.format(id=foreign_task.id + 1000), body, format="json").json()
    del foreign["request_id"], missing["request_id"]
    assert foreign == missing


def test_a_foreign_task_in_its_owners_trash_cannot_be_restored(owner_client: Any, outsider: Any) -> None:
    trashed = TaskFactory(owner=outsider, deleted_at=timezone.now())
    assert owner_client.post(f"/api/v1/tasks/{trashed.id}/restore").status_code == 404
    assert Task.objects.get(pk=trashed.pk).deleted_at is not None


def test_foreign_tasks_never_appear_anywhere(owner_client: Any, user: Any, outsider: Any) -> None:
    mine = TaskFactory(owner=user, title="mine", tags=["shared"])
    TaskFactory(owner=outsider, title="theirs", tags=["shared"], description="mine")
    TaskFactory(owner=outsider, title="their trash", deleted_at=timezone.now())

    listed = owner_client.get("/api/v1/tasks/?tag=shared&search=mine").json()
    assert [t["id"] for t in listed["results"]] == [mine.id]
    assert owner_client.get("/api/v1/tasks/trash/").json()["count"] == 0
    assert owner_client.get("/api/v1/tasks/stats/").json()["total"] == 1
    exported = json.loads(b"".join(owner_client.get("/api/v1/tasks/export/").streaming_content))
    assert [t["id"] for t in exported] == [mine.id]
    csv_text = b"".join(owner_client.get("/api/v1/tasks/export/?format=csv").streaming_content).decode()
    assert "theirs" not in csv_text


def test_a_bulk_action_with_one_foreign_id_changes_nothing(owner_client: Any, user: Any, foreign_task: Any) -> None:
    mine = TaskFactory.create_batch(3, owner=user)
    before = [snapshot(t) for t in [*mine, foreign_task]]
    for action, fields in [("complete", None), ("delete", None), ("update", {"priority": "urgent"})]:
        body: dict[str, Any] = {"action": action, "ids": [t.id for t in mine] + [foreign_task.id]}
        if fields:
            body["fields"] = fields
        response = owner_client.post("/api/v1/tasks/bulk/", body, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert [snapshot(t) for t in [*mine, foreign_task]] == before


def test_a_user_can_do_anything_with_their_own_tasks_and_the_outsider_with_theirs(
    owner_client: Any, outsider_api: Any, task: Any, foreign_task: Any
) -> None:
    assert owner_client.get(f"/api/v1/tasks/{task.id}").status_code == 200
    assert outsider_api.get(f"/api/v1/tasks/{foreign_task.id}").status_code == 200
    assert outsider_api.get(f"/api/v1/tasks/{task.id}").status_code == 404
