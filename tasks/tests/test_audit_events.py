"""Each task action records exactly one audit event, in its transaction; a rolled-back one records none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from audit.models import Event, EventType
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def only_event(event: EventType) -> Event:
    events = list(Event.objects.all())
    assert [e.event for e in events] == [event], [e.event for e in events]
    return events[0]


def test_create_records_task_created(owner_client: Any, user: Any) -> None:
    body = owner_client.post(
        "/api/v1/tasks/", {"title": "Secret plan", "description": "very secret"}, format="json"
    ).json()
    event = only_event(EventType.TASK_CREATED)
    assert event.user == user
    assert event.details == {"task_id": body["id"], "project_id": None}
    assert event.request_id


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("patch", "/api/v1/tasks/{id}", {"title": "Secret"}, ["title"]),
        ("put", "/api/v1/tasks/{id}", {"title": "Secret", "tags": ["work"]}, ["title"]),
        ("post", "/api/v1/tasks/{id}/complete", None, ["completed_at", "status"]),
    ],
)
def test_an_update_records_task_updated_with_field_names_only(
    owner_client: Any, task: Any, method: str, path: str, body: Any, fields: list[str]
) -> None:
    getattr(owner_client, method)(path.format(id=task.id), body, format="json")
    event = only_event(EventType.TASK_UPDATED)
    assert event.details == {"task_id": task.id, "project_id": None, "fields": fields}
    assert "Secret" not in str(event.details)


def test_reopen_records_task_updated(owner_client: Any, user: Any) -> None:
    task = TaskFactory(owner=user, status="completed")
    owner_client.post(f"/api/v1/tasks/{task.id}/reopen")
    assert only_event(EventType.TASK_UPDATED).details == {
        "task_id": task.id,
        "project_id": None,
        "fields": ["completed_at", "status"],
    }


def test_a_change_of_nothing_records_nothing(owner_client: Any, task: Any) -> None:
    owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": task.title}, format="json")
    owner_client.post(f"/api/v1/tasks/{task.id}/reopen")
    assert not Event.objects.exists()


def test_delete_and_restore_record_their_events(owner_client: Any, task: Any) -> None:
    owner_client.delete(f"/api/v1/tasks/{task.id}")
    assert only_event(EventType.TASK_DELETED).details == {"task_id": task.id, "project_id": None}
    owner_client.post(f"/api/v1/tasks/{task.id}/restore")
    events = list(Event.objects.order_by("id").values_list("event", "details"))
    ids = {"task_id": task.id, "project_id": None}
    assert events == [(EventType.TASK_DELETED, ids), (EventType.TASK_RESTORED, ids)]


def test_bulk_records_one_event_for_all_the_tasks(owner_client: Any, user: Any) -> None:
    ids = sorted(t.id for t in TaskFactory.create_batch(3, owner=user))
    owner_client.post(
        "/api/v1/tasks/bulk/", {"action": "update", "ids": ids, "fields": {"tags": ["secret"]}}, format="json"
    )
    event = only_event(EventType.TASK_BULK)
    assert event.details == {"action": "update", "count": 3, "task_ids": ids, "fields": ["tags"]}


def test_export_records_tasks_exported(owner_client: Any, task: Any) -> None:
    b"".join(owner_client.get("/api/v1/tasks/export/?format=csv").streaming_content)
    assert only_event(EventType.TASKS_EXPORTED).details == {"format": "csv"}


def test_refused_actions_record_nothing(owner_client: Any, task: Any, foreign_task: Any) -> None:
    owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": "x"}, format="json", HTTP_IF_MATCH='"stale"')
    owner_client.patch(f"/api/v1/tasks/{foreign_task.id}", {"title": "x"}, format="json")
    owner_client.post("/api/v1/tasks/bulk/", {"action": "delete", "ids": [task.id, foreign_task.id]}, format="json")
    owner_client.post("/api/v1/tasks/", {"title": ""}, format="json")
    owner_client.post(f"/api/v1/tasks/{task.id}/restore")
    assert not Event.objects.exists()


def test_an_idempotent_replay_records_nothing_more(owner_client: Any) -> None:
    for _ in range(3):
        owner_client.post("/api/v1/tasks/", {"title": "t"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    only_event(EventType.TASK_CREATED)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/tasks/", {"title": "t"}),
        ("patch", "/api/v1/tasks/{id}", {"title": "t"}),
        ("delete", "/api/v1/tasks/{id}", None),
        ("post", "/api/v1/tasks/bulk/", {"action": "complete", "ids": ["{id}"]}),
    ],
)
def test_when_recording_fails_the_change_rolls_back_with_it(
    owner_client: Any, task: Any, method: str, path: str, body: Any
) -> None:
    """The event is written inside the change's transaction: if it cannot be, neither is the change."""
    before = (Task.objects.count(), Task.objects.get(pk=task.pk).version)
    if body and body.get("ids"):
        body = {**body, "ids": [task.id]}
    down = RuntimeError("audit down")
    # A plain create writes its event with the row (audit_event + insert_recorded); every other change records.
    with (
        mock.patch("tasks.services.tasks.audit_record", side_effect=down),
        mock.patch("tasks.services.tasks.audit_event", side_effect=down),
    ):
        response = getattr(owner_client, method)(path.format(id=task.id), body, format="json")
    assert response.status_code == 500
    assert (Task.objects.count(), Task.objects.get(pk=task.pk).version) == before
    assert Task.objects.get(pk=task.pk).deleted_at is None
    assert not Event.objects.exists()


def test_a_trashed_task_purged_leaves_its_events(owner_client: Any, task: Any) -> None:
    from tasks.services.tasks import tasks_purge_deleted

    owner_client.delete(f"/api/v1/tasks/{task.id}")
    tasks_purge_deleted(days=0, now=timezone.now() + timedelta(seconds=1))
    assert Event.objects.filter(event=EventType.TASK_DELETED).count() == 1
