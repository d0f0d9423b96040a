"""A row and its audit event written together (`audit.services.insert_recorded`): on PostgreSQL one statement, so
a plain task create costs one round trip for its writes; both or neither, and the event exactly as
`audit_record` writes it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.context import RequestContext
from audit.models import Event, EventType
from audit.services import audit_event, audit_record, insert_recorded
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

META = RequestContext(ip_address="2001:db8::7", user_agent="UA \u00e9", request_id="req-1")


def comparable(event: Event) -> dict[str, Any]:
    return {key: value for key, value in model_to_dict(event).items() if key not in {"id", "created_at"}}


def new_task(owner: Any) -> Task:
    now = timezone.now()
    return Task(owner=owner, title="Call the plumber", created_at=now, updated_at=now, position=1)


def test_the_row_and_its_event_as_two_saves_would_write_them(user: Any) -> None:
    task = new_task(user)
    insert_recorded(
        task,
        event=audit_event(event=EventType.TASK_CREATED, user=user, meta=META, details={"project_id": None}),
        id_detail="task_id",
    )
    assert task.pk is not None and not task._state.adding
    stored = Task.objects.get(pk=task.pk)
    assert (stored.title, stored.owner_id, stored.position) == ("Call the plumber", user.pk, 1)
    written = Event.objects.get(event=EventType.TASK_CREATED)
    expected = audit_record(
        event=EventType.TASK_CREATED, user=user, meta=META, details={"task_id": task.pk, "project_id": None}
    )
    assert comparable(written) == comparable(expected)
    assert written.details == {"task_id": task.pk, "project_id": None}


def test_both_or_neither(user: Any) -> None:
    # An event naming a user that does not exist: its insert fails, and the row's with it.
    event = audit_event(event=EventType.TASK_CREATED, user=user, meta=META, details={})
    event.user_id = uuid.uuid4()
    before = Task.objects.count()
    with pytest.raises(IntegrityError):
        insert_recorded(new_task(user), event=event, id_detail="task_id")
    assert Task.objects.count() == before
    assert not Event.objects.exists()


def test_a_plain_create_writes_in_one_statement_on_postgresql(auth_client: APIClient, user: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        answer = auth_client.post(
            "/api/v1/tasks/", {"title": "Buy milk", "tags": ["home"], "due_at": "2027-01-15T09:00:00Z"}, format="json"
        )
    assert answer.status_code == 201
    task_id = answer.json()["id"]
    writes = [query["sql"] for query in queries.captured_queries if "tasks_task" in query["sql"]]
    if connection.vendor == "postgresql":
        # The session's lookup, then the task with its event: no BEGIN, no COMMIT, one INSERT statement.
        assert len(queries.captured_queries) == 2, [query["sql"][:80] for query in queries.captured_queries]
        assert len(writes) == 1 and "audit_event" in writes[0]
    assert Event.objects.get(event=EventType.TASK_CREATED).details == {"task_id": task_id, "project_id": None}
    assert auth_client.get(f"/api/v1/tasks/{task_id}").json()["title"] == "Buy milk"
    assert auth_client.get("/api/v1/tasks/").json()["count"] == 1
