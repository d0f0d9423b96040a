"""Personal data is never cacheable: every response to a signed-in request says `Cache-Control: no-store`."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def assert_not_cacheable(response: Any) -> None:
    assert "no-store" in response["Cache-Control"], (response.status_code, response.get("Cache-Control"))
    assert response["Pragma"] == "no-cache"


@pytest.fixture
def task(user: Any) -> Any:
    return TaskFactory(owner=user, title="Call the bank")


def test_personal_data_is_not_cacheable_on_any_read(auth_client: APIClient, user: Any, task: Any) -> None:
    for path in (
        "/api/v1/auth/me",
        "/api/v1/auth/sessions",
        "/api/v1/auth/mfa",
        "/api/v1/audit/events/",
        "/api/v1/tasks/",
        "/api/v1/tasks/?status=pending",
        f"/api/v1/tasks/{task.pk}",
        "/api/v1/tasks/trash/",
        "/api/v1/tasks/stats/",
        "/api/v1/tasks/export/?format=csv",
        "/api/v1/tasks/export/?format=json",
        f"/api/{user.pk}/tasks/",
        f"/api/{user.pk}/tasks/{task.pk}",
    ):
        response = auth_client.get(path)
        assert response.status_code == 200, path
        assert_not_cacheable(response)


def test_the_staff_user_list_and_detail_are_not_cacheable(staff_client: APIClient, user: Any) -> None:
    for path in ("/api/v1/users/", f"/api/v1/users/{user.pk}"):
        response = staff_client.get(path)
        assert response.status_code == 200
        assert_not_cacheable(response)


def test_writes_and_errors_of_a_signed_in_user_are_not_cacheable(auth_client: APIClient, task: Any) -> None:
    created = auth_client.post("/api/v1/tasks/", {"title": "New"}, format="json")
    assert created.status_code == 201
    assert_not_cacheable(created)
    patched = auth_client.patch("/api/v1/auth/me", {"full_name": "Olive"}, format="json")
    assert_not_cacheable(patched)
    missing = auth_client.get("/api/v1/tasks/999999")
    assert missing.status_code == 404
    assert_not_cacheable(missing)


def test_token_responses_keep_no_store(user: Any) -> None:
    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_admin_pages_are_not_cacheable(staff: Any) -> None:
    console = Client()
    console.force_login(staff)
    assert_not_cacheable(console.get("/admin/accounts/user/"))


def test_the_task_list_costs_no_extra_query_for_it(
    auth_client: APIClient, task: Any, django_assert_num_queries: Any
) -> None:
    auth_client.get("/api/v1/tasks/")  # warm: the session's last_used_at write is skipped from here on
    # One statement: the page of tasks with the total count, the change log's position for the list's ETag and
    # the caller's session with its user.
    with django_assert_num_queries(1):
        response = auth_client.get("/api/v1/tasks/")
    assert_not_cacheable(response)


def test_public_pages_are_left_to_their_defaults(client: Client) -> None:
    assert "Cache-Control" not in client.get("/health")
