"""JSON types are strict on every body: a value of another type than the schema says is a 400 on its field.

DRF's fields coerce (the number 123 becomes the title "123", "false" and 0 become false, "30" becomes 30);
config/http/input.py checks types before any serializer does, for all of them at once.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from tasks.models import Comment, Project, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def assert_refused(response: Any, errors: dict[str, list[str]]) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == errors
    assert set(body) == {"detail", "code", "request_id", "errors"}


# Strings ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("title", [123, 1.5, True, ["a"], {"a": 1}])
def test_a_task_title_that_is_not_a_string_is_refused_and_nothing_is_created(
    auth_client: APIClient, title: Any
) -> None:
    response = auth_client.post("/api/v1/tasks/", {"title": title}, format="json")

    assert_refused(response, {"title": ["Must be a JSON string."]})
    assert not Task.objects.exists()


def test_the_same_title_as_a_string_is_created(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/tasks/", {"title": "123", "description": None}, format="json")

    assert response.status_code == 201, response.content
    assert Task.objects.get().title == "123"


def test_a_project_name_and_a_comment_body_must_be_strings(auth_client: APIClient, user: User) -> None:
    assert_refused(
        auth_client.post("/api/v1/projects/", {"name": 7}, format="json"), {"name": ["Must be a JSON string."]}
    )
    assert not Project.objects.exists()

    task = TaskFactory(owner=user)
    response = auth_client.post(f"/api/v1/tasks/{task.pk}/comments", {"body": 42}, format="json")
    assert_refused(response, {"body": ["Must be a JSON string."]})
    assert not Comment.objects.exists()


def test_account_fields_must_be_strings(auth_client: APIClient, user: User) -> None:
    response = auth_client.patch("/api/v1/auth/me", {"full_name": 5, "timezone": ["UTC"]}, format="json")
    assert_refused(response, {"full_name": ["Must be a JSON string."], "timezone": ["Must be a JSON string."]})
    user.refresh_from_db()
    assert user.full_name == "Olive Owner" and user.timezone == ""

    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": 12345678}, format="json")
    assert_refused(response, {"password": ["Must be a JSON string."]})
    response = APIClient().post("/api/v1/auth/register", {"email": ["a@example.com"], "password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["email"] == ["Must be a JSON string."]


# Numbers and booleans ---------------------------------------------------------------------------------------


def test_a_number_given_as_a_string_is_refused(auth_client: APIClient, user: User) -> None:
    response = auth_client.post(
        "/api/v1/auth/tokens", {"name": "ci", "scopes": ["tasks:read"], "expires_in_days": "30"}, format="json"
    )
    assert_refused(response, {"expires_in_days": ["Must be a JSON integer."]})
    assert not ApiToken.objects.exists()

    task = TaskFactory(owner=user)
    response = auth_client.post(f"/api/v1/tasks/{task.pk}/move", {"parent": True}, format="json")
    assert_refused(response, {"parent": ["Must be a JSON integer."]})


@pytest.mark.parametrize("value", ["false", 0, "no", None])
def test_a_boolean_must_be_true_or_false(auth_client: APIClient, user: User, value: Any) -> None:
    response = auth_client.patch("/api/v1/auth/me", {"email_notifications": value}, format="json")

    if value is None:
        assert_refused(response, {"email_notifications": ["This field may not be null."]})
    else:
        assert_refused(response, {"email_notifications": ["Must be true or false."]})
    user.refresh_from_db()
    assert user.email_notifications is True


def test_a_project_is_archived_by_a_boolean_only(auth_client: APIClient) -> None:
    project = auth_client.post("/api/v1/projects/", {"name": "Home"}, format="json").json()

    response = auth_client.patch(f"/api/v1/projects/{project['id']}", {"archived": "true"}, format="json")
    assert_refused(response, {"archived": ["Must be true or false."]})
    assert Project.objects.get().archived is False

    assert auth_client.patch(f"/api/v1/projects/{project['id']}", {"archived": True}, format="json").status_code == 200
    assert Project.objects.get().archived is True


# Lists and objects: errors of their items are flat, in the SPEC's shape ---------------------------------------------


def test_list_items_of_the_wrong_type_are_named_by_position_on_the_lists_field(auth_client: APIClient) -> None:
    body = {"title": "Trip", "tags": ["ok", 5], "assignees": [12]}

    response = auth_client.post("/api/v1/tasks/", body, format="json")

    assert_refused(
        response, {"tags": ["Item 1: Must be a JSON string."], "assignees": ["Item 0: Must be a JSON string."]}
    )
    assert not Task.objects.exists()


def test_errors_inside_list_items_are_flat_and_name_the_item(auth_client: APIClient) -> None:
    body = {"title": "Trip", "due_at": "2030-01-01", "reminders": [{"before_due": 5}, {"at": "soon"}, {}]}

    response = auth_client.post("/api/v1/tasks/", body, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values())
    assert errors["reminders.at"][0].startswith("Item 1: ")
    assert errors["reminders.non_field_errors"] == ["Item 2: Give either at or before_due."]


def test_bulk_refuses_ids_given_as_strings_and_changes_nothing(auth_client: APIClient, user: User) -> None:
    task = TaskFactory(owner=user)

    response = auth_client.post(
        "/api/v1/tasks/bulk/",
        {"action": "update", "ids": [str(task.pk)], "fields": {"status": 1, "tags": [True]}},
        format="json",
    )

    assert_refused(
        response,
        {
            "ids": ["Item 0: Must be a JSON integer."],
            "fields.status": ["Must be a JSON string."],
            "fields.tags": ["Item 0: Must be a JSON string."],
        },
    )
    task.refresh_from_db()
    assert task.status == "pending" and task.tags == []


def test_an_object_where_a_list_is_expected_is_refused(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/tasks/", {"title": "Trip", "tags": {"0": "a"}}, format="json")

    assert_refused(response, {"tags": ["Must be a JSON array."]})
