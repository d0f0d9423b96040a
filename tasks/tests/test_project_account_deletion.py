"""Deleting an account never leaves a project without an owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import PASSWORD
from audit.models import Event, EventType
from tasks.models import Membership, Project, Role

pytestmark = pytest.mark.django_db


def delete_me(client: Any) -> Any:
    return client.delete("/api/v1/auth/me", {"password": PASSWORD}, format="json")


def test_the_only_owner_of_a_shared_project_cannot_delete_their_account(
    owner_client: Any, user: Any, project: Project
) -> None:
    response = delete_me(owner_client)
    assert response.status_code == 409
    assert response.json()["code"] == "last_owner"
    assert str(project.pk) in response.json()["detail"]
    assert User.objects.filter(pk=user.pk).exists()
    assert Membership.objects.filter(project=project).count() == 3


def test_once_another_member_owns_it_the_account_goes_and_the_project_stays(
    owner_client: Any, user: Any, editor: Any, project: Project
) -> None:
    Membership.objects.filter(project=project, user=editor).update(role=Role.OWNER)
    assert delete_me(owner_client).status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert Project.objects.filter(pk=project.pk).exists()
    assert list(project.memberships.filter(role=Role.OWNER).values_list("user_id", flat=True)) == [editor.pk]


def test_a_project_nobody_else_is_in_goes_with_the_account(owner_client: Any, user: Any) -> None:
    created = owner_client.post("/api/v1/projects/", {"name": "Mine alone"}, format="json")
    assert created.status_code == 201
    assert delete_me(owner_client).status_code == 204
    assert not Project.objects.filter(pk=created.json()["id"]).exists()
    [event] = Event.objects.filter(event=EventType.PROJECT_DELETED)
    assert event.details["project_id"] == created.json()["id"]


def test_staff_cannot_delete_the_only_owner_of_a_shared_project(
    staff_client: Any, user: Any, project: Project, staff: Any
) -> None:
    response = staff_client.delete(f"/api/v1/users/{user.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "last_owner"
    assert User.objects.filter(pk=user.pk).exists()

    console = Client()
    console.force_login(staff)
    page = console.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}, follow=True)
    assert "only owner of projects" in page.content.decode()
    assert User.objects.filter(pk=user.pk).exists()
