"""Create, read, replace, update and delete one task; validation of every field in the SPEC's error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tasks.models import Priority, Status, Task

pytestmark = pytest.mark.django_db

TASK_KEYS = {
    *("id", "owner", "title", "description", "status", "priority", "due_at", "tags"),
    *("completed_at", "created_at", "updated_at"),
    *("project", "parent", "assignees", "position", "created_by", "comments_count"),
    *("recurrence", "recurrence_basis", "timezone", "reminders"),
}


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def assert_validation_error(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body) == {"detail", "code", "request_id", "errors"}
    assert field in body["errors"], body
    assert all(isinstance(message, str) for message in body["errors"][field])


def test_it_creates_a_task_with_the_defaults(owner_client: Any, user: Any) -> None:
    response = owner_client.post("/api/v1/tasks/", {"title": "Buy milk"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == TASK_KEYS
    assert body["title"] == "Buy milk"
    assert body["description"] == ""
    assert body["status"] == "pending"
    assert body["priority"] == "medium"
    assert body["due_at"] is None
    assert body["tags"] == []
    assert body["completed_at"] is None
    assert body["owner"] == body["created_by"] == str(user.pk)
    assert (body["project"], body["parent"], body["assignees"], body["comments_count"]) == (None, None, [], 0)
    assert body["created_at"].endswith("Z")
    assert response.headers["ETag"] == f'"{body["id"]}-1"'
    task = Task.objects.get(pk=body["id"])
    assert task.owner == user
    assert task.priority == Priority.MEDIUM


def test_it_creates_a_task_with_every_field(owner_client: Any) -> None:
    response = owner_client.post(
        "/api/v1/tasks",
        {
            "title": "  File taxes  ",
            "description": "  keep the receipts\n",
            "status": "in_progress",
            "priority": "urgent",
            "due_at": "2030-04-15T17:00:00+02:00",
            "tags": ["money", "  home   admin ", "money"],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "File taxes"
    assert body["description"] == "  keep the receipts\n"
    assert body["status"] == "in_progress"
    assert body["priority"] == "urgent"
    assert body["due_at"] == "2030-04-15T15:00:00Z"
    assert body["tags"] == ["money", "home admin"]


def test_a_task_created_completed_has_completed_at(owner_client: Any) -> None:
    body = owner_client.post("/api/v1/tasks/", {"title": "Done", "status": "completed"}, format="json").json()
    assert body["completed_at"] is not None


def test_a_bare_date_is_midnight_utc_and_a_naive_datetime_is_utc(owner_client: Any) -> None:
    a = owner_client.post("/api/v1/tasks/", {"title": "a", "due_at": "2030-01-31"}, format="json").json()
    b = owner_client.post("/api/v1/tasks/", {"title": "b", "due_at": "2030-01-31T08:30:00"}, format="json").json()
    assert a["due_at"] == "2030-01-31T00:00:00Z"
    assert b["due_at"] == "2030-01-31T08:30:00Z"


def test_a_past_due_date_is_allowed(owner_client: Any) -> None:
    response = owner_client.post("/api/v1/tasks/", {"title": "Late", "due_at": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 201


def test_read_only_fields_are_never_written(owner_client: Any, user: Any, outsider: Any) -> None:
    body = owner_client.post(
        "/api/v1/tasks/",
        {
            "title": "Mine",
            "id": 999_999,
            "owner": str(outsider.pk),
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
            "completed_at": "2000-01-01T00:00:00Z",
            "deleted_at": "2000-01-01T00:00:00Z",
            "version": 77,
        },
        format="json",
    ).json()
    task = Task.objects.get(pk=body["id"])
    assert task.pk != 999_999
    assert task.owner == user
    assert task.created_at.year > 2000
    assert task.completed_at is None
    assert task.deleted_at is None
    assert task.version == 1

    response = owner_client.patch(
        f"/api/v1/tasks/{task.id}",
        {"owner": str(outsider.pk), "created_at": "2000-01-01T00:00:00Z", "completed_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.owner == user
    assert task.created_at.year > 2000
    assert task.completed_at is None
    assert task.version == 1  # nothing writable changed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": "ok", "description": "x" * 10_001}, "description"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "priority": "critical"}, "priority"),
        ({"title": "ok", "priority": 3}, "priority"),
        ({"title": "ok", "due_at": "tomorrow"}, "due_at"),
        ({"title": "ok", "due_at": "2030-02-30"}, "due_at"),
        ({"title": "ok", "due_at": 1234567890}, "due_at"),
        ({"title": "ok", "tags": "work"}, "tags"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"title": "ok", "tags": ["x" * 51]}, "tags"),
        ({"title": "ok", "tags": [""]}, "tags"),
        ({"title": "ok", "tags": ["a;b"]}, "tags"),
        ({"title": "ok", "tags": ["bell\x07"]}, "tags"),
        ({"title": "ok", "tags": [{"name": "x"}]}, "tags"),
    ],
)
def test_it_refuses_invalid_fields_with_the_error_shape(owner_client: Any, body: dict[str, Any], field: str) -> None:
    response = owner_client.post("/api/v1/tasks/", body, format="json")
    assert_validation_error(response, field)
    assert Task.objects.count() == 0


def test_the_limits_themselves_are_accepted(owner_client: Any) -> None:
    response = owner_client.post(
        "/api/v1/tasks/",
        {
            "title": "x" * 200,
            "description": "y" * 10_000,
            "tags": [f"tag{i}" for i in range(20)],
        },
        format="json",
    )
    assert response.status_code == 201
    assert len(response.json()["tags"]) == 20


def test_a_body_that_is_not_an_object_is_a_400(owner_client: Any) -> None:
    response = owner_client.post("/api/v1/tasks/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_malformed_json_is_a_parse_error(owner_client: Any) -> None:
    response = owner_client.generic("POST", "/api/v1/tasks/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_null_description_and_tags_mean_empty(owner_client: Any) -> None:
    body = owner_client.post(
        "/api/v1/tasks/", {"title": "t", "description": None, "tags": None, "due_at": None}, format="json"
    ).json()
    assert body["description"] == ""
    assert body["tags"] == []


def test_it_reads_a_task_with_its_etag(owner_client: Any, task: Any) -> None:
    response = owner_client.get(f"/api/v1/tasks/{task.id}/")
    assert response.status_code == 200
    assert response.json()["id"] == task.id
    assert response.json()["title"] == "Write the report"
    assert response.headers["ETag"] == task.etag
    assert not response.headers["ETag"].startswith("W/")


def test_if_none_match_with_the_current_etag_is_a_304(owner_client: Any, task: Any) -> None:
    response = owner_client.get(f"/api/v1/tasks/{task.id}", HTTP_IF_NONE_MATCH=task.etag)
    assert response.status_code == 304
    assert response.headers["ETag"] == task.etag
    assert owner_client.get(f"/api/v1/tasks/{task.id}", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_patch_changes_only_the_fields_given(owner_client: Any, task: Any) -> None:
    before = owner_client.get(f"/api/v1/tasks/{task.id}").json()
    response = owner_client.patch(f"/api/v1/tasks/{task.id}", {"priority": "high"}, format="json")
    assert response.status_code == 200
    after = response.json()
    assert after["priority"] == "high"
    assert after["title"] == before["title"]
    assert after["tags"] == before["tags"]
    # Compared as instants: ISO strings drop a zero fraction of a second, so their text order can lie.
    assert parse(after["updated_at"]) > parse(before["updated_at"])
    assert after["created_at"] == before["created_at"]
    assert response.headers["ETag"] != task.etag
    assert owner_client.get(f"/api/v1/tasks/{task.id}").json() == after


def test_put_replaces_the_task_and_resets_what_it_leaves_out(owner_client: Any, user: Any) -> None:
    created = owner_client.post(
        "/api/v1/tasks/",
        {
            "title": "Old",
            "description": "d",
            "priority": "high",
            "tags": ["a"],
            "due_at": "2030-01-01",
            "status": "completed",
        },
        format="json",
    ).json()
    response = owner_client.put(f"/api/v1/tasks/{created['id']}", {"title": "New"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "New"
    assert body["description"] == ""
    assert body["priority"] == "medium"
    assert body["tags"] == []
    assert body["due_at"] is None
    assert body["status"] == "pending"
    assert body["completed_at"] is None


def test_put_needs_a_title(owner_client: Any, task: Any) -> None:
    assert_validation_error(owner_client.put(f"/api/v1/tasks/{task.id}", {"priority": "low"}, format="json"), "title")


def test_patch_validates_like_create(owner_client: Any, task: Any) -> None:
    assert_validation_error(owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": ""}, format="json"), "title")
    assert_validation_error(owner_client.patch(f"/api/v1/tasks/{task.id}", {"status": "x"}, format="json"), "status")


def test_completing_by_patch_stamps_completed_at_and_leaving_completed_clears_it(owner_client: Any, task: Any) -> None:
    done = owner_client.patch(f"/api/v1/tasks/{task.id}", {"status": "completed"}, format="json").json()
    assert done["completed_at"] is not None
    again = owner_client.patch(f"/api/v1/tasks/{task.id}", {"status": "completed"}, format="json").json()
    assert again["completed_at"] == done["completed_at"]
    moving = owner_client.patch(f"/api/v1/tasks/{task.id}", {"status": "in_progress"}, format="json").json()
    assert moving["completed_at"] is None


def test_delete_moves_the_task_to_the_trash(owner_client: Any, task: Any) -> None:
    response = owner_client.delete(f"/api/v1/tasks/{task.id}")
    assert response.status_code == 204
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert owner_client.get(f"/api/v1/tasks/{task.id}").status_code == 404
    assert owner_client.delete(f"/api/v1/tasks/{task.id}").status_code == 404
    assert owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": "x"}, format="json").status_code == 404
    assert owner_client.get("/api/v1/tasks/").json()["count"] == 0


@pytest.mark.parametrize(
    "task_id", ["0", "999999", "9223372036854775807", "9223372036854775808", "9999999999999999999"]
)
def test_an_unknown_or_impossible_id_is_a_404_not_a_500(owner_client: Any, task_id: str) -> None:
    for method in ("get", "put", "patch", "delete"):
        response = getattr(owner_client, method)(f"/api/v1/tasks/{task_id}", {"title": "x"}, format="json")
        assert response.status_code == 404, (method, response.content)
        assert response.json()["code"] == "not_found"
    for action in ("complete", "reopen", "restore"):
        assert owner_client.post(f"/api/v1/tasks/{task_id}/{action}").status_code == 404


def test_a_very_long_id_is_a_json_404(owner_client: Any) -> None:
    response = owner_client.get("/api/v1/tasks/" + "9" * 40)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_every_route_answers_with_and_without_a_trailing_slash(owner_client: Any, task: Any) -> None:
    for path in ("/api/v1/tasks", "/api/v1/tasks/trash", "/api/v1/tasks/stats", f"/api/v1/tasks/{task.id}"):
        assert owner_client.get(path).status_code == 200
        assert owner_client.get(path + "/").status_code == 200
    assert owner_client.get("/api/v1/tasks/export").status_code == 200
    assert owner_client.get("/api/v1/tasks/export/").status_code == 200
    for action in ("complete", "reopen"):
        assert owner_client.post(f"/api/v1/tasks/{task.id}/{action}").status_code == 200
        assert owner_client.post(f"/api/v1/tasks/{task.id}/{action}/").status_code == 200


def test_it_needs_a_token(api_client: Any, task: Any) -> None:
    for path in ("/api/v1/tasks/", f"/api/v1/tasks/{task.id}", "/api/v1/tasks/stats", "/api/v1/tasks/export"):
        response = api_client.get(path)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_method_the_route_does_not_have_is_a_405(owner_client: Any, task: Any) -> None:
    assert owner_client.delete("/api/v1/tasks/").status_code == 405
    assert owner_client.get(f"/api/v1/tasks/{task.id}/complete").status_code == 405
    assert owner_client.put("/api/v1/tasks/stats").status_code == 405


def test_timestamps_are_iso_8601_utc(owner_client: Any) -> None:
    body = owner_client.post(
        "/api/v1/tasks/", {"title": "t", "due_at": "2030-06-01T12:00:00-05:00"}, format="json"
    ).json()
    for field in ("created_at", "updated_at", "due_at"):
        parsed = datetime.fromisoformat(body[field].replace("Z", "+00:00"))
        assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)
    assert body["due_at"] == "2030-06-01T17:00:00Z"
    assert datetime.fromisoformat(body["created_at"].replace("Z", "+00:00")) <= timezone.now().astimezone(UTC)


def test_models_keep_status_and_priority_valid(user: Any) -> None:
    from django.db import IntegrityError, transaction

    from tasks.tests.factories import TaskFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(owner=user, priority=9)
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(owner=user, status="archived")
    assert TaskFactory(owner=user, status=Status.COMPLETED).completed_at is not None


def test_tags_keep_emoji_sequences_and_collapse_whitespace(owner_client: Any) -> None:
    family = "fam \U0001f468\u200d\U0001f469\u200d\U0001f467"
    body = owner_client.post("/api/v1/tasks/", {"title": "t", "tags": [family, " two\t words "]}, format="json").json()
    assert body["tags"] == [family, "two words"]
    assert owner_client.get("/api/v1/tasks/", {"tag": "two   words"}).json()["count"] == 1
