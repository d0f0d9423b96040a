"""`/api/{user_id}/tasks/...`: the same task API for SPAs built on user-scoped URLs."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_the_user_scoped_routes_reach_the_callers_tasks(owner_client: Any, user: Any, task: Any) -> None:
    base = f"/api/{user.pk}/tasks"
    listed = owner_client.get(base + "/").json()
    assert [t["id"] for t in listed["results"]] == [task.id]
    assert owner_client.get(base).status_code == 200

    created = owner_client.post(base, {"title": "via compat", "tags": ["x"]}, format="json")
    assert created.status_code == 201
    new_id = created.json()["id"]

    detail = owner_client.get(f"{base}/{new_id}")
    assert detail.status_code == 200
    assert detail.json() == created.json()
    assert detail.headers["ETag"]

    assert owner_client.put(f"{base}/{new_id}/", {"title": "replaced"}, format="json").json()["title"] == "replaced"
    assert owner_client.patch(f"{base}/{new_id}", {"priority": "low"}, format="json").json()["priority"] == "low"
    assert owner_client.delete(f"{base}/{new_id}").status_code == 204
    assert Task.objects.get(pk=new_id).deleted_at is not None


@pytest.mark.parametrize("method", ["post", "patch"])
def test_complete_accepts_post_and_patch(owner_client: Any, user: Any, task: Any, method: str) -> None:
    for path in (f"/api/{user.pk}/tasks/{task.id}/complete", f"/api/{user.pk}/tasks/{task.id}/complete/"):
        response = getattr(owner_client, method)(path)
        assert response.status_code == 200
        assert response.json()["status"] == "completed"


def test_the_user_id_may_be_written_in_any_uuid_form(owner_client: Any, user: Any) -> None:
    assert owner_client.get(f"/api/{str(user.pk).upper()}/tasks").status_code == 200
    assert owner_client.get(f"/api/{user.pk.hex}/tasks").status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "", {"title": "sneaky"}),
        ("get", "/{id}", None),
        ("put", "/{id}", {"title": "sneaky"}),
        ("patch", "/{id}", {"title": "sneaky"}),
        ("delete", "/{id}", None),
        ("post", "/{id}/complete", None),
        ("patch", "/{id}/complete", None),
    ],
)
def test_another_users_id_in_the_path_is_a_403(
    owner_client: Any, outsider: Any, foreign_task: Any, method: str, suffix: str, body: Any
) -> None:
    response = getattr(owner_client, method)(
        f"/api/{outsider.pk}/tasks" + suffix.format(id=foreign_task.id), body, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Task.objects.filter(owner=outsider).count() == 1
    foreign_task.refresh_from_db()
    assert foreign_task.title == "Not yours"
    assert foreign_task.status == "pending"


@pytest.mark.parametrize("user_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-000000000000"])
def test_a_user_id_that_is_not_the_caller_is_a_403(owner_client: Any, user_id: str) -> None:
    assert owner_client.get(f"/api/{user_id}/tasks").status_code == 403


def test_a_foreign_task_under_the_callers_own_id_is_a_404(owner_client: Any, user: Any, foreign_task: Any) -> None:
    assert owner_client.get(f"/api/{user.pk}/tasks/{foreign_task.id}").status_code == 404
    assert owner_client.post(f"/api/{user.pk}/tasks/{foreign_task.id}/complete").status_code == 404


def test_the_user_scoped_routes_need_a_token(api_client: Any, user: Any) -> None:
    assert api_client.get(f"/api/{user.pk}/tasks").status_code == 401
