"""GET /api/v1/tasks/export/?format=csv|json: a streamed download whose contents match the list."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from audit.models import Event, EventType
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def content(response: Any) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def all_listed(client: Any, query: str = "") -> list[dict[str, Any]]:
    body = client.get(f"/api/v1/tasks/?page_size=100{query}").json()
    assert body["next"] is None
    return body["results"]


@pytest.fixture
def tasks(user: Any) -> None:
    TaskFactory(owner=user, title="=SUM(A1:A9)", description="+cmd", tags=["-x", "work"])
    TaskFactory(owner=user, title='Quote "and", comma', description="line one\nline two", tags=[])
    TaskFactory(owner=user, title="Café ✓", tags=["ünï", "@home"], status="completed")
    TaskFactory.create_batch(40, owner=user, tags=["bulk"])


def test_json_export_is_the_list_as_the_api_shows_it(owner_client: Any, tasks: None) -> None:
    response = owner_client.get("/api/v1/tasks/export/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="tasks.json"'
    assert json.loads(content(response)) == all_listed(owner_client)


def test_json_is_the_default_format(owner_client: Any, tasks: None) -> None:
    assert owner_client.get("/api/v1/tasks/export").headers["Content-Disposition"].endswith('tasks.json"')


def test_csv_export_has_a_header_row_and_the_same_tasks(owner_client: Any, tasks: None) -> None:
    response = owner_client.get("/api/v1/tasks/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tasks.csv"'
    rows = list(csv.reader(io.StringIO(content(response))))
    listed = all_listed(owner_client)
    assert rows[0] == list(listed[0].keys())
    assert len(rows) == len(listed) + 1
    by_id = {int(row[0]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert [int(row[0]) for row in rows[1:]] == [t["id"] for t in listed]
    for task in listed:
        row = by_id[task["id"]]
        assert row["status"] == task["status"]
        assert row["priority"] == task["priority"]
        assert row["created_at"] == task["created_at"]
        assert row["due_at"] == (task["due_at"] or "")
        assert row["completed_at"] == (task["completed_at"] or "")


def test_csv_cells_are_defused_against_formula_injection_and_tags_joined(owner_client: Any, tasks: None) -> None:
    rows = {
        row["id"]: row
        for row in csv.DictReader(io.StringIO(content(owner_client.get("/api/v1/tasks/export/?format=csv"))))
    }
    by_title = {row["title"]: row for row in rows.values()}
    risky = by_title["'=SUM(A1:A9)"]
    assert risky["description"] == "'+cmd"
    assert risky["tags"] == "'-x;work"
    assert by_title["Café ✓"]["tags"] == "ünï;@home"
    quoted = by_title['Quote "and", comma']
    assert quoted["description"] == "line one\nline two"
    assert quoted["tags"] == ""


def test_export_takes_the_list_filters(owner_client: Any, tasks: None) -> None:
    exported = json.loads(content(owner_client.get("/api/v1/tasks/export/?tag=bulk&ordering=title")))
    assert exported == all_listed(owner_client, "&tag=bulk&ordering=title")
    assert len(exported) == 40


def test_a_bad_format_or_filter_is_a_400(owner_client: Any) -> None:
    response = owner_client.get("/api/v1/tasks/export/?format=xml")
    assert response.status_code == 400
    assert "format" in response.json()["errors"]
    assert owner_client.get("/api/v1/tasks/export/?due_before=yesterday").status_code == 400
    assert not Event.objects.filter(event=EventType.TASKS_EXPORTED).exists()


def test_an_empty_export(owner_client: Any) -> None:
    assert content(owner_client.get("/api/v1/tasks/export/")) == "[]"
    assert content(owner_client.get("/api/v1/tasks/export/?format=csv")).splitlines() == [
        "id,owner,title,description,status,priority,due_at,tags,completed_at,created_at,updated_at,"
        "project,parent,assignees,position,created_by,comments_count,"
        "recurrence,recurrence_basis,timezone,reminders"
    ]


def test_a_large_export_streams_in_several_chunks(owner_client: Any, user: Any) -> None:
    TaskFactory.create_batch(600, owner=user, description="x" * 300)
    response = owner_client.get("/api/v1/tasks/export/")
    chunks = list(response.streaming_content)
    assert len(chunks) > 2
    assert len(json.loads(b"".join(chunks))) == 600
