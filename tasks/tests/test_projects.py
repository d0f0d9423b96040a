"""Projects: create, list (filters, ordering, pages), read, change and delete, by role; outsiders get 404."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from audit.context import SYSTEM
from audit.models import Event, EventType
from tasks.models import Invitation, Membership, Project, Role
from tasks.services.projects import project_create

pytestmark = pytest.mark.django_db

PROJECT_FIELDS = ["id", "name", "description", "color", "archived", "created_at", "updated_at", "role", "members_count"]


def events(event: EventType) -> list[Event]:
    return list(Event.objects.filter(event=event).order_by("id"))


def test_creating_a_project_makes_the_caller_its_owner(owner_client: Any, user: Any) -> None:
    response = owner_client.post("/api/v1/projects/", {"name": "Garden", "color": "#A0B0C0"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert list(body) == PROJECT_FIELDS
    assert body["name"] == "Garden"
    assert body["color"] == "#a0b0c0"
    assert body["description"] == "" and body["archived"] is False
    assert body["role"] == "owner" and body["members_count"] == 1
    project = Project.objects.get(pk=body["id"])
    assert Membership.objects.get(project=project).user == user
    (event,) = events(EventType.PROJECT_CREATED)
    assert event.user == user and event.actor_id == user.pk
    assert event.details == {"project_id": project.pk}


def test_the_default_color_is_grey(owner_client: Any) -> None:
    assert owner_client.post("/api/v1/projects/", {"name": "Plain"}, format="json").json()["color"] == "#808080"


def test_read_only_fields_in_the_body_are_ignored(owner_client: Any, user: Any) -> None:
    response = owner_client.post(
        "/api/v1/projects/",
        {"name": "Mine", "role": "viewer", "members_count": 99, "created_at": "2000-01-01T00:00:00Z", "id": 7},
        format="json",
    )
    body = response.json()
    assert response.status_code == 201
    assert body["role"] == "owner" and body["members_count"] == 1
    assert not body["created_at"].startswith("2000")
    assert Membership.objects.get(project_id=body["id"]).role == Role.OWNER


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"name": "ok", "description": "d" * 2001}, "description"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "archived": "maybe"}, "archived"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(owner_client: Any, body: dict[str, Any], field: str) -> None:
    response = owner_client.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert not Project.objects.exists()


def test_a_huge_name_is_refused_and_nothing_is_written(owner_client: Any) -> None:
    response = owner_client.post("/api/v1/projects/", {"name": "n" * 100_000}, format="json")
    assert response.status_code in (400, 413)
    assert not Project.objects.exists()


# The list -------------------------------------------------------------------------------------------------


def test_the_list_shows_only_my_projects_with_my_role_and_the_member_count(
    viewer_client: Any, project: Project, outsider: Any
) -> None:
    project_create(owner=outsider, data={"name": "Secret"}, meta=SYSTEM)

    response = viewer_client.get("/api/v1/projects/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (item,) = body["results"]
    assert item["id"] == project.pk
    assert item["role"] == "viewer"
    assert item["members_count"] == 3


def test_the_list_filters_by_archived_and_role(owner_client: Any, user: Any, project: Project, outsider: Any) -> None:
    archived = project_create(owner=user, data={"name": "Old", "archived": True}, meta=SYSTEM)
    theirs = project_create(owner=outsider, data={"name": "Shared"}, meta=SYSTEM)
    Membership.objects.create(project=theirs, user=user, role=Role.EDITOR)

    def ids(query: str) -> list[int]:
        response = owner_client.get(f"/api/v1/projects/?{query}")
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["results"]]

    assert ids("archived=true") == [archived.pk]
    assert set(ids("archived=false")) == {project.pk, theirs.pk}
    assert ids("role=editor") == [theirs.pk]
    assert set(ids("role=owner")) == {project.pk, archived.pk}
    assert set(ids("role=owner,editor&archived=false")) == {project.pk, theirs.pk}


def test_the_list_orders_by_name_or_created_at(owner_client: Any, user: Any) -> None:
    for name in ("beta", "alpha", "gamma"):
        project_create(owner=user, data={"name": name}, meta=SYSTEM)

    def names(query: str) -> list[str]:
        return [p["name"] for p in owner_client.get(f"/api/v1/projects/{query}").json()["results"]]

    assert names("") == ["alpha", "beta", "gamma"]
    assert names("?ordering=-name") == ["gamma", "beta", "alpha"]
    assert names("?ordering=created_at") == ["beta", "alpha", "gamma"]
    assert names("?ordering=-created_at") == ["gamma", "alpha", "beta"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("archived=perhaps", "archived"),
        ("role=admin", "role"),
        ("ordering=members_count", "ordering"),
        ("page=zero", "page"),
        ("page_size=101", "page_size"),
    ],
)
def test_malformed_list_parameters_are_a_400_naming_them(owner_client: Any, query: str, parameter: str) -> None:
    response = owner_client.get(f"/api/v1/projects/?{query}")
    assert response.status_code == 400
    assert parameter in response.json()["errors"]


def test_the_list_pages_and_a_page_past_the_last_is_404(owner_client: Any, user: Any) -> None:
    for n in range(3):
        project_create(owner=user, data={"name": f"p{n}"}, meta=SYSTEM)
    page = owner_client.get("/api/v1/projects/?page_size=2&page=2").json()
    assert page["count"] == 3 and len(page["results"]) == 1
    assert owner_client.get("/api/v1/projects/?page_size=2&page=3").status_code == 404


# One project --------------------------------------------------------------------------------------------


def test_every_member_reads_the_project_with_their_own_role(
    owner_client: Any, editor_client: Any, viewer_client: Any, project: Project
) -> None:
    for client, role in ((owner_client, "owner"), (editor_client, "editor"), (viewer_client, "viewer")):
        response = client.get(f"/api/v1/projects/{project.pk}")
        assert response.status_code == 200
        assert response.json()["role"] == role
        assert response.json()["members_count"] == 3
        assert response.json()["name"] == "Launch"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Mine now"}),
        ("delete", "", None),
        ("get", "/members", None),
        ("patch", "/members/{owner}", {"role": "viewer"}),
        ("delete", "/members/{owner}", None),
        ("get", "/invitations", None),
        ("post", "/invitations", {"email": "friend@example.com", "role": "editor"}),
    ],
)
def test_an_outsider_gets_404_for_the_project_and_everything_under_it(
    outsider_api: Any, project: Project, user: Any, method: str, path: str, body: Any
) -> None:
    url = f"/api/v1/projects/{project.pk}{path.format(owner=user.pk)}"
    response = getattr(outsider_api, method)(url, body, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["detail"] == "Project not found."
    project.refresh_from_db()
    assert project.name == "Launch"
    assert Membership.objects.filter(project=project).count() == 3
    assert not Invitation.objects.exists()


def test_a_missing_project_and_a_foreign_one_answer_alike(outsider_api: Any, project: Project) -> None:
    foreign = outsider_api.get(f"/api/v1/projects/{project.pk}").json()
    missing = outsider_api.get("/api/v1/projects/999999").json()
    huge = outsider_api.get("/api/v1/projects/9999999999999999999")
    assert {k: foreign[k] for k in ("code", "detail")} == {k: missing[k] for k in ("code", "detail")}
    assert huge.status_code == 404


def test_the_owner_changes_the_project(owner_client: Any, user: Any, project: Project) -> None:
    response = owner_client.patch(
        f"/api/v1/projects/{project.pk}",
        {"name": "Relaunch", "color": "#00FF00", "archived": True, "role": "viewer", "members_count": 0},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Relaunch" and body["color"] == "#00ff00" and body["archived"] is True
    assert body["role"] == "owner" and body["members_count"] == 3
    assert body["updated_at"] > body["created_at"]
    project.refresh_from_db()
    assert project.name == "Relaunch" and project.archived
    (event,) = events(EventType.PROJECT_UPDATED)
    assert event.details == {"project_id": project.pk, "fields": ["archived", "color", "name"]}
    assert event.actor_id == user.pk


def test_a_change_that_changes_nothing_records_nothing(owner_client: Any, project: Project) -> None:
    response = owner_client.patch(f"/api/v1/projects/{project.pk}", {"name": "Launch"}, format="json")
    assert response.status_code == 200
    assert not events(EventType.PROJECT_UPDATED)


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"])
def test_editors_and_viewers_cannot_change_or_delete_the_project(request: Any, who: str, project: Project) -> None:
    client = request.getfixturevalue(who)

    patched = client.patch(f"/api/v1/projects/{project.pk}", {"name": "Hijacked"}, format="json")
    deleted = client.delete(f"/api/v1/projects/{project.pk}")

    for response in (patched, deleted):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    project.refresh_from_db()
    assert project.name == "Launch"
    assert not events(EventType.PROJECT_UPDATED) and not events(EventType.PROJECT_DELETED)


def test_the_owner_deletes_the_project_with_its_members_and_invitations(
    owner_client: Any, user: Any, project: Project, run_jobs: Any
) -> None:
    owner_client.post(
        f"/api/v1/projects/{project.pk}/invitations", {"email": "new@example.com", "role": "viewer"}, format="json"
    )

    response = owner_client.delete(f"/api/v1/projects/{project.pk}")

    assert response.status_code == 204
    assert not Project.objects.exists()
    assert not Membership.objects.exists()
    assert not Invitation.objects.exists()
    (event,) = events(EventType.PROJECT_DELETED)
    assert event.details == {"project_id": project.pk} and event.user == user
    assert owner_client.get(f"/api/v1/projects/{project.pk}").status_code == 404
    # The invitation's mail is not sent for a project that is gone.
    from django.core import mail

    run_jobs()
    assert mail.outbox == []


# Query counts ---------------------------------------------------------------------------------------------

# GET /api/v1/projects/:
#   1. the session and its user (authentication)
#   2. SELECT of the page: projects joined to the caller's membership (role), each row with its members_count
#      (a correlated subquery) and the total as COUNT(*) OVER () (the paginator's count, no query of its own)
#   3. the change log's position for the ETag (tasks/views/conditional.py)
LIST_QUERIES = 3


@pytest.mark.parametrize("projects", [1, 30])
def test_the_list_costs_the_same_queries_whatever_the_number_of_projects_and_members(
    owner_client: Any, user: Any, outsider: Any, projects: int, django_assert_num_queries: Any
) -> None:
    for n in range(projects):
        project = project_create(owner=user, data={"name": f"p{n}"}, meta=SYSTEM)
        Membership.objects.create(project=project, user=outsider, role=Role.VIEWER)

    with django_assert_num_queries(LIST_QUERIES):
        response = owner_client.get("/api/v1/projects/?page_size=100&archived=false&role=owner&ordering=-created_at")

    assert response.status_code == 200
    assert response.json()["count"] == projects
    assert {p["members_count"] for p in response.json()["results"]} == {2}


def test_reading_one_project_is_one_query_after_authentication(
    owner_client: Any, project: Project, django_assert_num_queries: Any
) -> None:
    # 1. session  2. the project with the caller's role and members_count
    with django_assert_num_queries(2):
        assert owner_client.get(f"/api/v1/projects/{project.pk}").status_code == 200


@pytest.mark.parametrize("extra_members", [0, 40])
def test_the_member_list_costs_the_same_queries_whatever_the_number_of_members(
    viewer_client: Any, project: Project, extra_members: int, django_assert_num_queries: Any
) -> None:
    for n in range(extra_members):
        Membership.objects.create(project=project, user=UserFactory.create(), role=Role.VIEWER)
    # 1. session  2. the caller's membership (404 for outsiders)  3. the page of members joined to their users,
    # with the total as COUNT(*) OVER ()
    with django_assert_num_queries(3):
        response = viewer_client.get(f"/api/v1/projects/{project.pk}/members?page_size=100")
    assert response.json()["count"] == 3 + extra_members


def test_the_invitation_lists_cost_a_fixed_number_of_queries(
    owner_client: Any, outsider_api: Any, project: Project, user: Any, django_assert_num_queries: Any
) -> None:
    for n in range(15):
        owner_client.post(
            f"/api/v1/projects/{project.pk}/invitations",
            {"email": f"p{n}@example.com", "role": "viewer"},
            format="json",
        )
    Invitation.objects.filter(email="p0@example.com").update(email="outsider@example.com")
    # 1. session  2. the caller's membership and role  3. the page with the inviters, and the total
    with django_assert_num_queries(3):
        assert owner_client.get(f"/api/v1/projects/{project.pk}/invitations?page_size=100").json()["count"] == 15
    # 1. session  2. the page with the projects and inviters, and the total
    with django_assert_num_queries(2):
        assert outsider_api.get("/api/v1/invitations/").json()["count"] == 1
