"""POST /api/v1/tasks/bulk/: one action on many tasks, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tasks.models import Priority, Status, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def bulk(client: Any, **body: Any) -> Any:
    return client.post("/api/v1/tasks/bulk/", body, format="json")


@pytest.fixture
def three(user: Any) -> list[Any]:
    return TaskFactory.create_batch(3, owner=user)


def test_bulk_complete_completes_every_task(owner_client: Any, three: list[Any]) -> None:
    response = bulk(owner_client, action="complete", ids=[t.id for t in three])
    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    for task in Task.objects.filter(pk__in=[t.id for t in three]):
        assert task.status == Status.COMPLETED
        assert task.completed_at is not None
        assert task.version == 2


def test_bulk_complete_keeps_earlier_completion_times(owner_client: Any, user: Any) -> None:
    done = TaskFactory(owner=user, status=Status.COMPLETED)
    fresh = TaskFactory(owner=user)
    assert bulk(owner_client, action="complete", ids=[done.id, fresh.id]).json() == {"updated": 2}
    assert Task.objects.get(pk=done.pk).completed_at == done.completed_at
    assert Task.objects.get(pk=fresh.pk).completed_at is not None


def test_bulk_reopen(owner_client: Any, user: Any) -> None:
    tasks = TaskFactory.create_batch(2, owner=user, status=Status.COMPLETED)
    assert bulk(owner_client, action="reopen", ids=[t.id for t in tasks]).json() == {"updated": 2}
    assert set(Task.objects.values_list("status", "completed_at")) == {(Status.PENDING, None)}


def test_bulk_delete_then_restore(owner_client: Any, three: list[Any]) -> None:
    ids = [t.id for t in three]
    assert bulk(owner_client, action="delete", ids=ids).json() == {"updated": 3}
    assert owner_client.get("/api/v1/tasks/").json()["count"] == 0
    assert owner_client.get("/api/v1/tasks/trash/").json()["count"] == 3
    assert bulk(owner_client, action="restore", ids=ids).json() == {"updated": 3}
    assert owner_client.get("/api/v1/tasks/").json()["count"] == 3


def test_restore_needs_every_id_in_the_callers_trash(owner_client: Any, user: Any) -> None:
    trashed = TaskFactory(owner=user, deleted_at=timezone.now())
    live = TaskFactory(owner=user)
    assert bulk(owner_client, action="restore", ids=[trashed.id, live.id]).status_code == 404
    assert Task.objects.get(pk=trashed.pk).deleted_at is not None


def test_delete_needs_every_id_live(owner_client: Any, user: Any) -> None:
    trashed = TaskFactory(owner=user, deleted_at=timezone.now())
    live = TaskFactory(owner=user)
    assert bulk(owner_client, action="delete", ids=[trashed.id, live.id]).status_code == 404
    assert Task.objects.get(pk=live.pk).deleted_at is None


def test_bulk_update_changes_only_the_given_fields(owner_client: Any, user: Any) -> None:
    a = TaskFactory(owner=user, title="a", priority=Priority.LOW, tags=["old"])
    b = TaskFactory(owner=user, title="b", priority=Priority.HIGH, status=Status.COMPLETED)
    response = bulk(
        owner_client,
        action="update",
        ids=[a.id, b.id],
        fields={"priority": "urgent", "tags": ["new", "new"], "due_at": "2030-01-01"},
    )
    assert response.json() == {"updated": 2}
    for task in Task.objects.filter(pk__in=[a.id, b.id]):
        assert task.priority == Priority.URGENT
        assert task.tags == ["new"]
        assert task.due_at is not None and task.due_at.isoformat() == "2030-01-01T00:00:00+00:00"
    assert Task.objects.get(pk=a.pk).title == "a"
    assert Task.objects.get(pk=b.pk).status == Status.COMPLETED


def test_bulk_update_of_status_keeps_completed_at_consistent(owner_client: Any, user: Any) -> None:
    done = TaskFactory(owner=user, status=Status.COMPLETED)
    todo = TaskFactory(owner=user)
    bulk(owner_client, action="update", ids=[done.id, todo.id], fields={"status": "completed"})
    assert Task.objects.get(pk=done.pk).completed_at == done.completed_at
    assert Task.objects.get(pk=todo.pk).completed_at is not None
    bulk(owner_client, action="update", ids=[done.id, todo.id], fields={"status": "in_progress"})
    assert set(Task.objects.values_list("status", "completed_at")) == {(Status.IN_PROGRESS, None)}


def test_duplicate_ids_count_once(owner_client: Any, three: list[Any]) -> None:
    ids = [three[0].id, three[0].id, three[1].id]
    assert bulk(owner_client, action="complete", ids=ids).json() == {"updated": 2}


def test_an_unknown_id_changes_nothing(owner_client: Any, three: list[Any]) -> None:
    response = bulk(owner_client, action="delete", ids=[t.id for t in three] + [10**12])
    assert response.status_code == 404
    assert Task.objects.filter(deleted_at__isnull=True).count() == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [1]}, "action"),
        ({"action": "archive", "ids": [1]}, "action"),
        ({"action": "complete"}, "ids"),
        ({"action": "complete", "ids": []}, "ids"),
        ({"action": "complete", "ids": "1,2"}, "ids"),
        ({"action": "complete", "ids": ["x"]}, "ids"),
        ({"action": "complete", "ids": [0]}, "ids"),
        ({"action": "complete", "ids": [-3]}, "ids"),
        ({"action": "complete", "ids": [2**63]}, "ids"),
        ({"action": "complete", "ids": list(range(1, 502))}, "ids"),
        ({"action": "update", "ids": [1]}, "fields"),
        ({"action": "update", "ids": [1], "fields": {}}, "fields"),
        ({"action": "update", "ids": [1], "fields": {"title": "x"}}, "fields.title"),
        ({"action": "update", "ids": [1], "fields": {"owner": "x"}}, "fields.owner"),
        ({"action": "update", "ids": [1], "fields": {"priority": "huge"}}, "fields.priority"),
        ({"action": "update", "ids": [1], "fields": {"due_at": "soon"}}, "fields.due_at"),
        ({"action": "update", "ids": [1], "fields": {"tags": ["a;b"]}}, "fields.tags"),
    ],
)
def test_a_malformed_bulk_request_is_a_400(
    owner_client: Any, three: list[Any], body: dict[str, Any], field: str
) -> None:
    response = owner_client.post("/api/v1/tasks/bulk/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert Task.objects.filter(version=1).count() == 3


def test_500_ids_is_the_most_accepted(owner_client: Any, user: Any) -> None:
    ids = [t.id for t in TaskFactory.create_batch(500, owner=user)]
    assert bulk(owner_client, action="complete", ids=ids).json() == {"updated": 500}
