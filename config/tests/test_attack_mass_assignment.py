"""Mass assignment on every writable endpoint: read-only fields sent in a body are ignored or refused with
400, never written (SPEC 2).

Each write is sent with what it may legitimately change plus everything an attacker would like to set
(ids, owners, authors, roles, staff flags, counters, timestamps, other users' ids, other projects' ids); the
database afterwards holds the legitimate change and nothing else.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.tests.factories import PASSWORD
from config.tests.attack_world import World, build_world, client_of
from tasks.models import Comment, Invitation, InvitationStatus, Membership, Project, Role, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

LONG_AGO = "2001-01-01T00:00:00Z"


def forged(world: World) -> dict[str, Any]:
    """Read-only fields of every kind, pointing at someone else's things."""
    other = world.outsider
    return {
        "id": 999_999,
        "pk": 999_999,
        "owner": str(other.pk),
        "owner_id": str(other.pk),
        "user": str(other.pk),
        "user_id": str(other.pk),
        "created_by": str(other.pk),
        "author": str(other.pk),
        "author_id": str(other.pk),
        "invited_by": str(other.pk),
        "recipient": str(other.pk),
        "role": "owner",
        "members_count": 99,
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "email_verified": True,
        "mfa_enabled": True,
        "comments_count": 1000,
        "version": 1000,
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "completed_at": LONG_AGO,
        "deleted_at": LONG_AGO,
        "date_joined": LONG_AGO,
        "last_login": LONG_AGO,
        "expires_at": LONG_AGO,
        "responded_at": LONG_AGO,
        "status_of_invitation": "accepted",
        "token": "tdk_forged",
        "secret_hash": "0" * 64,
        "revoked_at": LONG_AGO,
        "last_used_at": LONG_AGO,
        "password": "a new password nobody chose",
        "assignee_ids": [str(other.pk)],
        "position": 123_456,
        "recurrence_start": LONG_AGO,
        "recurrence_done": 99,
        "occurrence_completed_at": LONG_AGO,
        "joined_at": LONG_AGO,
        "task": world.personal_task.pk,
        "project_id": world.project.pk,
    }


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def _untouched_task(task: Task, other: Any) -> None:
    assert task.owner_id != other.pk
    assert task.comments_count == 0 or task.comments_count < 1000
    assert task.version < 1000
    assert task.deleted_at is None
    assert task.created_at.year > 2001 and task.updated_at.year > 2001
    assert [str(u) for u in task.assignee_ids] != [str(other.pk)]
    # Position is set by move only; recurrence bookkeeping by completions only.
    assert task.position != 123_456
    assert (task.recurrence_start, task.recurrence_done, task.occurrence_completed_at) == (None, 0, None)


def test_registration_sets_no_flag_and_no_id(world: World) -> None:
    body = {**forged(world), "email": "new@example.com", "password": PASSWORD, "full_name": "New Person"}
    body["id"] = str(uuid.uuid4())
    response = APIClient().post("/api/v1/auth/register", body, format="json")
    assert response.status_code == 201, response.content
    user = User.objects.get(email="new@example.com")
    assert str(user.pk) != body["id"]
    assert (user.is_staff, user.is_superuser, user.email_verified, user.mfa_enabled, user.is_active) == (
        False,
        False,
        False,
        False,
        True,
    )
    assert user.date_joined.year > 2001
    assert user.last_login is None or user.last_login.year > 2001
    assert user.check_password(PASSWORD)


def test_a_profile_edit_changes_only_profile_fields(world: World) -> None:
    owner = world.owner
    body = {**forged(world), "full_name": "Olive O.", "email": "stolen@example.com", "id": str(uuid.uuid4())}
    response = client_of(owner).patch("/api/v1/auth/me", body, format="json")
    assert response.status_code == 200, response.content
    fresh = User.objects.get(pk=owner.pk)
    assert fresh.full_name == "Olive O."
    assert fresh.email == owner.email
    assert (fresh.is_staff, fresh.is_superuser, fresh.is_active, fresh.mfa_enabled) == (False, False, True, False)
    assert fresh.password == owner.password
    assert fresh.date_joined == owner.date_joined
    assert response.json()["email"] == owner.email and response.json()["is_staff"] is False


def test_staff_cannot_make_anyone_a_superuser_or_change_their_password_or_email(world: World) -> None:
    target = world.owner
    body = {**forged(world), "is_active": True, "full_name": "Renamed", "email": "stolen@example.com"}
    response = client_of(world.staff).patch(f"/api/v1/users/{target.pk}", body, format="json")
    assert response.status_code in {200, 400}, response.content
    fresh = User.objects.get(pk=target.pk)
    assert not fresh.is_superuser and fresh.password == target.password and fresh.email == target.email
    assert not fresh.mfa_enabled
    # Nor themselves.
    response = client_of(world.staff).patch(f"/api/v1/users/{world.staff.pk}", {"is_superuser": True}, format="json")
    assert response.status_code in {200, 400}, response.content
    assert not User.objects.get(pk=world.staff.pk).is_superuser


def test_an_api_token_gets_only_the_scopes_it_names_and_a_fresh_secret(world: World) -> None:
    body = {**forged(world), "name": "ci", "scopes": ["tasks:read"], "expires_in_days": 30}
    response = client_of(world.outsider).post("/api/v1/auth/tokens", body, format="json")
    assert response.status_code == 201, response.content
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.user_id == world.outsider.pk
    assert token.scopes == ["tasks:read"] and token.revoked_at is None and token.last_used_at is None
    assert token.expires_at is not None and token.expires_at > timezone.now() + timedelta(days=29)
    assert response.json()["token"] != "tdk_forged" and token.secret_hash != "0" * 64
    # A scope that does not exist is refused, not stored.
    for scopes in (["admin"], ["tasks:read", "users:write"], ["*"]):
        refused = client_of(world.outsider).post("/api/v1/auth/tokens", {"name": "x", "scopes": scopes}, format="json")
        assert refused.status_code == 400, refused.content
        assert list(refused.json()["errors"]) == ["scopes"]
    assert ApiToken.objects.filter(user=world.outsider).count() == 1


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_a_task_write_sets_no_read_only_field(world: World, method: str) -> None:
    client = client_of(world.owner)
    body = {**forged(world), "title": "Mine", "project": None}
    del body["project_id"]
    if method == "post":
        response = client.post("/api/v1/tasks/", body, format="json")
        assert response.status_code == 201, response.content
        task = Task.objects.get(pk=response.json()["id"])
    else:
        response = getattr(client, method)(f"/api/v1/tasks/{world.personal_task.pk}", body, format="json")
        assert response.status_code == 200, response.content
        task = Task.objects.get(pk=world.personal_task.pk)
    assert task.title == "Mine" and task.owner_id == world.owner.pk and task.project_id is None
    assert task.pk != 999_999
    _untouched_task(task, world.outsider)
    assert task.completed_at is None


def test_a_task_cannot_be_assigned_to_a_stranger_or_filed_in_their_project(world: World) -> None:
    client = client_of(world.editor)
    foreign_project = Project.objects.create(name="Theirs")
    Membership.objects.create(project=foreign_project, user=world.outsider, role=Role.OWNER)
    foreign_task = TaskFactory(owner=world.outsider, project=foreign_project)
    tries = [
        ("post", "/api/v1/tasks/", {"title": "x", "project": foreign_project.pk}, "project"),
        ("post", "/api/v1/tasks/", {"title": "x", "parent": foreign_task.pk}, "parent"),
        ("post", "/api/v1/tasks/", {"title": "x", "assignees": [str(world.outsider.pk)]}, "assignees"),
        (
            "post",
            "/api/v1/tasks/",
            {"title": "x", "project": world.project.pk, "assignees": [str(world.outsider.pk)]},
            "assignees",
        ),
        ("patch", f"/api/v1/tasks/{world.project_task.pk}", {"project": foreign_project.pk}, "project"),
        ("patch", f"/api/v1/tasks/{world.project_task.pk}", {"project": None}, "project"),
        ("patch", f"/api/v1/tasks/{world.project_task.pk}", {"parent": foreign_task.pk}, "parent"),
        ("patch", f"/api/v1/tasks/{world.project_task.pk}", {"assignees": [str(world.outsider.pk)]}, "assignees"),
    ]
    tasks_before = Task.objects.count()
    for method, path, body, field in tries:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 400, (path, body, response.content)
        assert field in response.json()["errors"], (path, body, response.content)
    assert Task.objects.count() == tasks_before
    fresh = Task.objects.get(pk=world.project_task.pk)
    assert fresh.project_id == world.project.pk and fresh.parent_id is None and fresh.assignee_ids == []
    assert not foreign_project.tasks.exclude(pk=foreign_task.pk).exists()


def test_a_bulk_update_changes_only_its_four_fields(world: World) -> None:
    client = client_of(world.owner)
    for extra in (
        {"owner": str(world.outsider.pk)},
        {"project": world.project.pk},
        {"deleted_at": LONG_AGO},
        {"title": "x"},
    ):
        body = {"action": "update", "ids": [world.personal_task.pk], "fields": {"priority": "high", **extra}}
        response = client.post("/api/v1/tasks/bulk/", body, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == [f"fields.{name}" for name in extra]
    fresh = Task.objects.get(pk=world.personal_task.pk)
    assert (fresh.priority, fresh.owner_id, fresh.project_id, fresh.deleted_at) == (
        world.personal_task.priority,
        world.owner.pk,
        None,
        None,
    )


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_project_write_sets_no_role_count_or_timestamp(world: World, method: str) -> None:
    client = client_of(world.editor if method == "post" else world.owner)
    body = {**forged(world), "name": "Renamed", "color": "#112233", "members": [str(world.outsider.pk)]}
    if method == "post":
        response = client.post("/api/v1/projects/", body, format="json")
        assert response.status_code == 201, response.content
        project = Project.objects.get(pk=response.json()["id"])
        assert list(project.memberships.values_list("user_id", "role")) == [(world.editor.pk, Role.OWNER)]
    else:
        response = client.patch(f"/api/v1/projects/{world.project.pk}", body, format="json")
        assert response.status_code == 200, response.content
        project = Project.objects.get(pk=world.project.pk)
        assert sorted(project.memberships.values_list("role", flat=True)) == sorted(
            [Role.OWNER, Role.EDITOR, Role.VIEWER]
        )
    assert project.name == "Renamed" and project.pk != 999_999 and project.created_at.year > 2001
    assert not project.memberships.filter(user=world.outsider).exists()
    assert response.json()["members_count"] == project.memberships.count()


def test_a_role_change_touches_only_that_members_role(world: World) -> None:
    body = {**forged(world), "role": "viewer", "project": 999}
    response = client_of(world.owner).patch(
        f"/api/v1/projects/{world.project.pk}/members/{world.editor.pk}", body, format="json"
    )
    assert response.status_code == 200, response.content
    roles = dict(Membership.objects.filter(project=world.project).values_list("user_id", "role"))
    assert roles == {world.owner.pk: Role.OWNER, world.editor.pk: Role.VIEWER, world.viewer.pk: Role.VIEWER}
    assert Membership.objects.get(project=world.project, user=world.editor).joined_at.year > 2001
    assert not Membership.objects.filter(user=world.outsider).exists()


def test_an_editor_cannot_promote_themselves(world: World) -> None:
    response = client_of(world.editor).patch(
        f"/api/v1/projects/{world.project.pk}/members/{world.editor.pk}", {"role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert Membership.objects.get(project=world.project, user=world.editor).role == Role.EDITOR


def test_an_invitation_carries_only_its_address_and_role(world: World) -> None:
    other_project = Project.objects.create(name="Elsewhere")
    body = {
        **forged(world),
        "email": "fresh@example.com",
        "role": "viewer",
        "project": other_project.pk,
        "status": InvitationStatus.ACCEPTED,
    }
    response = client_of(world.owner).post(f"/api/v1/projects/{world.project.pk}/invitations", body, format="json")
    assert response.status_code == 202, response.content
    invitation = Invitation.objects.get(email="fresh@example.com")
    assert invitation.project_id == world.project.pk and invitation.role == Role.VIEWER
    assert invitation.status == InvitationStatus.PENDING and invitation.invited_by_id == world.owner.pk
    assert invitation.expires_at > timezone.now() + timedelta(days=6) and invitation.responded_at is None
    assert not Invitation.objects.filter(project=other_project).exists()


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_comment_is_written_only_by_its_author_on_its_task(world: World, method: str) -> None:
    client = client_of(world.owner)
    body = {**forged(world), "body": "Edited", "task": world.personal_task.pk}
    base = f"/api/v1/tasks/{world.project_task.pk}/comments"
    if method == "post":
        response = client.post(base, body, format="json")
        assert response.status_code == 201, response.content
        comment = Comment.objects.get(pk=response.json()["id"])
    else:
        response = client.patch(f"{base}/{world.comment.pk}", body, format="json")
        assert response.status_code == 200, response.content
        comment = Comment.objects.get(pk=world.comment.pk)
    assert comment.body == "Edited" and comment.author_id == world.owner.pk
    assert comment.task_id == world.project_task.pk and comment.created_at.year > 2001
    assert (
        Task.objects.get(pk=world.project_task.pk).comments_count
        == Comment.objects.filter(task=world.project_task).count()
    )


def test_the_compatibility_routes_set_no_owner(world: World) -> None:
    body = {**forged(world), "title": "Compat"}
    response = client_of(world.owner).post(f"/api/{world.owner.pk}/tasks/", body, format="json")
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert task.owner_id == world.owner.pk
    _untouched_task(task, world.outsider)


def test_a_reminder_id_of_another_task_is_refused(world: World) -> None:
    client = client_of(world.outsider)
    due = (timezone.now() + timedelta(days=2)).isoformat()
    theirs = client_of(world.owner).patch(
        f"/api/v1/tasks/{world.personal_task.pk}", {"due_at": due, "reminders": [{"before_due": 60}]}, format="json"
    )
    reminder_id = theirs.json()["reminders"][0]["id"]
    mine = client.post("/api/v1/tasks/", {"title": "Mine", "due_at": due}, format="json").json()
    response = client.patch(
        f"/api/v1/tasks/{mine['id']}", {"reminders": [{"id": reminder_id, "before_due": 5}]}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["reminders"]
    assert Task.objects.get(pk=world.personal_task.pk).reminders == theirs.json()["reminders"]
