"""The OpenAPI schema documents every task path, parameter, body and error, and matches what the API sends."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.tests.factories import UserFactory
from tasks.serializers.tasks import TASK_FIELDS, TRASH_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return schema["paths"][path][method]


def parameter_names(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op.get("parameters", [])}


EXPECTED = {
    "/api/v1/tasks/": {"get", "post"},
    "/api/v1/tasks/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/tasks/{id}/complete/": {"post"},
    "/api/v1/tasks/{id}/reopen/": {"post"},
    "/api/v1/tasks/{id}/restore/": {"post"},
    "/api/v1/tasks/{id}/move/": {"post"},
    "/api/v1/tasks/trash/": {"get"},
    "/api/v1/tasks/bulk/": {"post"},
    "/api/v1/tasks/export/": {"get"},
    "/api/v1/tasks/stats/": {"get"},
    "/api/{user_id}/tasks/": {"get", "post"},
    "/api/{user_id}/tasks/{id}/": {"get", "put", "patch", "delete"},
    "/api/{user_id}/tasks/{id}/complete/": {"post", "patch"},
}


def test_every_task_path_and_method_is_documented(schema: dict[str, Any]) -> None:
    for path, methods in EXPECTED.items():
        assert set(schema["paths"][path]) == methods, path


def test_the_list_documents_every_filter_and_the_pagination(schema: dict[str, Any]) -> None:
    names = parameter_names(operation(schema, "/api/v1/tasks/", "get"))
    assert {
        "status",
        "priority",
        "tag",
        "due_before",
        "due_after",
        "overdue",
        "search",
        "ordering",
        "page",
        "page_size",
    } <= names
    assert {"project", "parent", "assignee"} <= names
    export = parameter_names(operation(schema, "/api/v1/tasks/export/", "get"))
    assert {"format", "status", "tag", "search", "ordering", "project"} <= export
    assert "project" in parameter_names(operation(schema, "/api/v1/tasks/stats/", "get"))
    move = operation(schema, "/api/v1/tasks/{id}/move/", "post")
    assert {"200", "400", "403", "404"} <= set(move["responses"])


def test_the_headers_and_errors_of_each_write_are_documented(schema: dict[str, Any]) -> None:
    create = operation(schema, "/api/v1/tasks/", "post")
    assert "Idempotency-Key" in parameter_names(create)
    assert {"201", "400", "409"} <= set(create["responses"])
    for method in ("put", "patch", "delete"):
        op = operation(schema, "/api/v1/tasks/{id}/", method)
        assert "If-Match" in parameter_names(op)
        assert {"403", "404", "412"} <= set(op["responses"])
    assert "ETag" in operation(schema, "/api/v1/tasks/{id}/", "get")["responses"]["200"]["headers"]
    assert "404" in operation(schema, "/api/v1/tasks/bulk/", "post")["responses"]
    for path in ("/api/{user_id}/tasks/", "/api/{user_id}/tasks/{id}/", "/api/{user_id}/tasks/{id}/complete/"):
        for op in schema["paths"][path].values():
            assert "403" in op["responses"]
            assert "user_id" in parameter_names(op)


def test_the_task_schema_lists_exactly_the_fields_the_api_sends(
    schema: dict[str, Any], owner_client: Any, task: Any
) -> None:
    components = schema["components"]["schemas"]
    assert list(components["Task"]["properties"]) == list(TASK_FIELDS)
    assert list(components["TrashedTask"]["properties"]) == list(TRASH_FIELDS)
    assert list(owner_client.get(f"/api/v1/tasks/{task.id}").json()) == list(TASK_FIELDS)
    stats = set(components["Stats"]["properties"])
    assert stats == set(owner_client.get("/api/v1/tasks/stats/").json())


def test_the_bodies_are_documented(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    write = components["TaskWriteRequest"]
    assert write["required"] == ["title"]
    assert set(write["properties"]) == {
        *("title", "description", "status", "priority", "due_at", "tags"),
        *("project", "parent", "assignees"),
        *("recurrence", "recurrence_basis", "timezone", "reminders"),
    }
    assert "required" not in components["PatchedTaskPatchRequest"]
    bulk = components["BulkRequest"]
    assert set(bulk["properties"]) == {"action", "ids", "fields"}
    assert set(components["BulkFieldsRequest"]["properties"]) == {"status", "priority", "due_at", "tags"}


def test_the_task_routes_generate_without_a_warning() -> None:
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS

    patterns = [path("api/v1/", include("tasks.urls")), path("api/", include("tasks.compat_urls"))]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache


# Projects, members and invitations ------------------------------------------------------------------------

PROJECT_PATHS = {
    "/api/v1/projects/": {"get", "post"},
    "/api/v1/projects/{id}/": {"get", "patch", "delete"},
    "/api/v1/projects/{id}/members/": {"get"},
    "/api/v1/projects/{id}/members/{user_id}/": {"patch", "delete"},
    "/api/v1/projects/{id}/invitations/": {"get", "post"},
    "/api/v1/projects/{id}/invitations/{invitation_id}/": {"delete"},
    "/api/v1/invitations/": {"get"},
    "/api/v1/invitations/{invitation_id}/accept/": {"post"},
    "/api/v1/invitations/{invitation_id}/decline/": {"post"},
}
# (path, method): the success status and the errors particular to it (beyond 401, 429, 503 everywhere).
PROJECT_RESPONSES = {
    ("/api/v1/projects/", "get"): {"200", "400", "404"},
    ("/api/v1/projects/", "post"): {"201", "400"},
    ("/api/v1/projects/{id}/", "get"): {"200", "404"},
    ("/api/v1/projects/{id}/", "patch"): {"200", "400", "403", "404"},
    ("/api/v1/projects/{id}/", "delete"): {"204", "403", "404"},
    ("/api/v1/projects/{id}/members/", "get"): {"200", "400", "404"},
    ("/api/v1/projects/{id}/members/{user_id}/", "patch"): {"200", "400", "403", "404", "409"},
    ("/api/v1/projects/{id}/members/{user_id}/", "delete"): {"204", "403", "404", "409"},
    ("/api/v1/projects/{id}/invitations/", "get"): {"200", "403", "404"},
    ("/api/v1/projects/{id}/invitations/", "post"): {"202", "400", "403", "404", "409"},
    ("/api/v1/projects/{id}/invitations/{invitation_id}/", "delete"): {"204", "403", "404"},
    ("/api/v1/invitations/", "get"): {"200", "400", "404"},
    ("/api/v1/invitations/{invitation_id}/accept/", "post"): {"200", "403", "404", "409"},
    ("/api/v1/invitations/{invitation_id}/decline/", "post"): {"204", "404", "409"},
}


def test_every_project_path_and_method_is_documented(schema: dict[str, Any]) -> None:
    for path, methods in PROJECT_PATHS.items():
        assert set(schema["paths"][path]) == methods, path


@pytest.mark.parametrize(("path", "method"), list(PROJECT_RESPONSES), ids=[f"{m} {p}" for p, m in PROJECT_RESPONSES])
def test_every_project_operation_documents_its_success_and_errors(
    schema: dict[str, Any], path: str, method: str
) -> None:
    responses = set(operation(schema, path, method)["responses"])
    assert PROJECT_RESPONSES[(path, method)] | {"401", "429", "503"} <= responses


def test_the_project_bodies_are_documented(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["ProjectWriteRequest"]["required"] == ["name"]
    assert set(components["ProjectWriteRequest"]["properties"]) == {"name", "description", "color", "archived"}
    assert "required" not in components["PatchedProjectPatchRequest"]
    assert components["MemberRoleRequest"]["required"] == ["role"]
    assert set(components["InvitationCreateRequest"]["required"]) == {"email", "role"}
    assert parameter_names(operation(schema, "/api/v1/projects/", "get")) >= {
        "archived",
        "role",
        "ordering",
        "page",
        "page_size",
    }


def test_the_project_shapes_are_what_the_api_sends(
    schema: dict[str, Any], owner_client: Any, project: Any, client_for: Any
) -> None:
    components = schema["components"]["schemas"]
    body = owner_client.get(f"/api/v1/projects/{project.pk}").json()
    assert list(components["Project"]["properties"]) == list(body)
    member = owner_client.get(f"/api/v1/projects/{project.pk}/members").json()["results"][0]
    assert list(components["Member"]["properties"]) == list(member)
    assert list(components["Person"]["properties"]) == list(member["user"])
    sent = owner_client.post(
        f"/api/v1/projects/{project.pk}/invitations", {"email": "x@example.com", "role": "viewer"}, format="json"
    ).json()
    assert list(components["Invitation"]["properties"]) == list(sent)
    friend = UserFactory(email="x@example.com")
    received = client_for(friend).get("/api/v1/invitations/").json()["results"][0]
    assert list(components["ReceivedInvitation"]["properties"]) == list(received)
