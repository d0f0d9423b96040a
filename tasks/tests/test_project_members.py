"""Members and roles: the list, role changes and removals by owners, leaving, and the last owner rule."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import Event, EventType
from tasks.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


def members_url(project: Project, member: Any = None) -> str:
    base = f"/api/v1/projects/{project.pk}/members"
    return base if member is None else f"{base}/{member.pk}"


def role_of(project: Project, member: Any) -> str | None:
    row = Membership.objects.filter(project=project, user=member).first()
    return None if row is None else row.role


def test_every_member_lists_the_members_oldest_first(
    viewer_client: Any, project: Project, user: Any, editor: Any, viewer: Any
) -> None:
    response = viewer_client.get(members_url(project))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [(m["user"]["email"], m["role"]) for m in body["results"]] == [
        ("owner@example.com", "owner"),
        ("editor@example.com", "editor"),
        ("viewer@example.com", "viewer"),
    ]
    first = body["results"][0]
    assert first["user"] == {"id": str(user.pk), "email": user.email, "full_name": user.full_name}
    assert list(first) == ["user", "role", "joined_at"]


def test_the_member_list_pages(owner_client: Any, project: Project) -> None:
    page = owner_client.get(members_url(project) + "?page_size=2&page=2").json()
    assert page["count"] == 3 and len(page["results"]) == 1
    assert owner_client.get(members_url(project) + "?page_size=2&page=3").status_code == 404
    assert owner_client.get(members_url(project) + "?page_size=0").status_code == 400


def test_the_owner_changes_a_role(owner_client: Any, project: Project, user: Any, viewer: Any) -> None:
    response = owner_client.patch(members_url(project, viewer), {"role": "editor"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["role"] == "editor"
    assert response.json()["user"]["id"] == str(viewer.pk)
    assert role_of(project, viewer) == Role.EDITOR
    (event,) = Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED)
    assert event.user == viewer and event.actor_id == user.pk
    assert event.details == {
        "project_id": project.pk,
        "user_id": str(viewer.pk),
        "previous": "viewer",
        "role": "editor",
    }


def test_an_unknown_role_is_a_400(owner_client: Any, project: Project, viewer: Any) -> None:
    response = owner_client.patch(members_url(project, viewer), {"role": "admin"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["errors"]
    assert role_of(project, viewer) == Role.VIEWER


def test_a_user_who_is_not_a_member_is_a_404(owner_client: Any, project: Project, outsider: Any) -> None:
    assert owner_client.patch(members_url(project, outsider), {"role": "editor"}, format="json").status_code == 404
    assert owner_client.delete(members_url(project, outsider)).status_code == 404
    assert owner_client.delete(f"/api/v1/projects/{project.pk}/members/not-a-uuid").status_code == 404


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"])
def test_editors_and_viewers_cannot_manage_members(
    request: Any, who: str, project: Project, user: Any, editor: Any, viewer: Any
) -> None:
    client = request.getfixturevalue(who)
    other = viewer if who == "editor_client" else editor

    promoted = client.patch(members_url(project, other), {"role": "owner"}, format="json")
    removed = client.delete(members_url(project, user))
    self_promoted = client.patch(
        members_url(project, editor if who == "editor_client" else viewer), {"role": "owner"}, format="json"
    )

    for response in (promoted, removed, self_promoted):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert role_of(project, user) == Role.OWNER
    assert role_of(project, editor) == Role.EDITOR
    assert role_of(project, viewer) == Role.VIEWER
    assert not Event.objects.filter(event__startswith="project.").exclude(event=EventType.PROJECT_CREATED).exists()


def test_the_owner_removes_a_member_who_then_loses_access_at_once(
    owner_client: Any, editor_client: Any, project: Project, editor: Any, user: Any
) -> None:
    assert editor_client.get(f"/api/v1/projects/{project.pk}").status_code == 200

    response = owner_client.delete(members_url(project, editor))

    assert response.status_code == 204
    assert role_of(project, editor) is None
    assert editor_client.get(f"/api/v1/projects/{project.pk}").status_code == 404
    assert editor_client.get("/api/v1/projects/").json()["count"] == 0
    (event,) = Event.objects.filter(event=EventType.PROJECT_MEMBER_REMOVED)
    assert event.user == editor and event.actor_id == user.pk
    assert event.details == {"project_id": project.pk, "user_id": str(editor.pk), "role": "editor", "left": False}


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_any_member_may_leave(request: Any, who: str, project: Project) -> None:
    member = request.getfixturevalue(who)
    client = request.getfixturevalue(f"{who}_client")

    response = client.delete(members_url(project, member))

    assert response.status_code == 204
    assert role_of(project, member) is None
    (event,) = Event.objects.filter(event=EventType.PROJECT_MEMBER_REMOVED)
    assert event.details["left"] is True and event.actor_id == member.pk


def test_the_last_owner_can_neither_leave_nor_be_demoted(owner_client: Any, project: Project, user: Any) -> None:
    left = owner_client.delete(members_url(project, user))
    demoted = owner_client.patch(members_url(project, user), {"role": "editor"}, format="json")

    for response in (left, demoted):
        assert response.status_code == 409
        assert response.json()["code"] == "last_owner"
    assert role_of(project, user) == Role.OWNER
    assert Membership.objects.filter(project=project).count() == 3


def test_with_two_owners_one_may_step_down_and_the_other_then_cannot(
    owner_client: Any, project: Project, user: Any, editor: Any, editor_client: Any
) -> None:
    assert owner_client.patch(members_url(project, editor), {"role": "owner"}, format="json").status_code == 200

    assert owner_client.patch(members_url(project, user), {"role": "viewer"}, format="json").status_code == 200
    assert role_of(project, user) == Role.VIEWER

    response = editor_client.delete(members_url(project, editor))
    assert response.status_code == 409 and response.json()["code"] == "last_owner"
    # The demoted owner no longer manages members.
    assert owner_client.delete(members_url(project, editor)).status_code == 403


def test_an_owner_removes_another_owner(owner_client: Any, project: Project, editor: Any) -> None:
    Membership.objects.filter(project=project, user=editor).update(role=Role.OWNER)
    assert owner_client.delete(members_url(project, editor)).status_code == 204
    assert role_of(project, editor) is None


def test_setting_the_same_role_changes_nothing(owner_client: Any, project: Project, viewer: Any) -> None:
    assert owner_client.patch(members_url(project, viewer), {"role": "viewer"}, format="json").status_code == 200
    assert not Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED).exists()
