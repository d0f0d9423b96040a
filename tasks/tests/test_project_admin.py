"""The projects admin: staff read projects with their members and pending invitations, and make a member owner
through the service, audited with the staff member as actor. Nobody edits a project there."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from audit.models import Event, EventType
from tasks.models import Membership, Project, Role

pytestmark = pytest.mark.django_db

PROJECTS = f"/{settings.ADMIN_URL}tasks/project/"
MEMBERSHIPS = f"/{settings.ADMIN_URL}tasks/membership/"


@pytest.fixture
def staff_browser(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def pending(owner_client: Any, project: Project) -> None:
    body = {"email": "invitee@example.com", "role": "viewer"}
    assert owner_client.post(f"/api/v1/projects/{project.pk}/invitations", body, format="json").status_code == 202


def test_staff_list_projects_with_their_member_count(staff_browser: Client, project: Project) -> None:
    response = staff_browser.get(PROJECTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Launch" in html
    assert 'field-member_count">3<' in html


def test_a_project_page_shows_its_members_and_pending_invitations_read_only(
    staff_browser: Client, project: Project, pending: None
) -> None:
    response = staff_browser.get(f"{PROJECTS}{project.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("owner@example.com", "editor@example.com", "viewer@example.com", "invitee@example.com"):
        assert text in html
    assert 'name="name"' not in html  # no form field: the page is read-only
    # A POST changes nothing either.
    staff_browser.post(f"{PROJECTS}{project.pk}/change/", {"name": "Renamed"})
    project.refresh_from_db()
    assert project.name == "Launch"


def test_staff_make_a_member_owner_through_the_service(
    staff_browser: Client, staff: Any, project: Project, viewer: Any
) -> None:
    membership = Membership.objects.get(project=project, user=viewer)

    response = staff_browser.post(MEMBERSHIPS, {"action": "make_owner", "_selected_action": [membership.pk]})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    (event,) = Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED)
    assert event.user == viewer and event.actor_id == staff.pk
    assert event.details == {
        "project_id": project.pk,
        "user_id": str(viewer.pk),
        "previous": "viewer",
        "role": "owner",
        "by_staff": True,
    }


def test_making_an_owner_owner_again_changes_nothing(staff_browser: Client, project: Project, user: Any) -> None:
    membership = Membership.objects.get(project=project, user=user)
    staff_browser.post(MEMBERSHIPS, {"action": "make_owner", "_selected_action": [membership.pk]})
    assert not Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED).exists()


def test_the_project_pages_are_for_staff_only(client_for: Any, project: Project, user: Any) -> None:
    browser = Client()
    browser.force_login(user)
    for url in (PROJECTS, f"{PROJECTS}{project.pk}/change/", MEMBERSHIPS):
        assert browser.get(url).status_code == 302  # to the admin's login
    membership = Membership.objects.get(project=project, user=user)
    browser.post(MEMBERSHIPS, {"action": "make_owner", "_selected_action": [membership.pk]})
    assert not Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED).exists()


def test_staff_cannot_add_or_delete_projects_or_memberships(staff_browser: Client, project: Project) -> None:
    assert staff_browser.get(f"{PROJECTS}add/").status_code == 403
    assert staff_browser.post(f"{PROJECTS}{project.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_browser.get(f"{MEMBERSHIPS}add/").status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()
    assert Membership.objects.filter(project=project).count() == 3
