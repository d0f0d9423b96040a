"""Races on a project's membership: the project's row lock keeps an owner, and one invitation makes one member.

Needs PostgreSQL: the row locks (SELECT ... FOR UPDATE) are what serialise the requests, and only a server
database lets several threads hold real connections at once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from audit.context import SYSTEM
from audit.models import Event, EventType
from config.tests.concurrency import all_at_once
from tasks.models import Invitation, InvitationStatus, Membership, Project, Role
from tasks.services import projects as project_services
from tasks.services.projects import project_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def slowed_audit() -> Any:
    """Holds the lock a little longer, so the requests really queue on it instead of merely taking turns."""
    record = project_services.audit_record

    def slow_record(**kwargs: Any) -> Any:
        time.sleep(0.1)
        return record(**kwargs)

    return mock.patch.object(project_services, "audit_record", side_effect=slow_record)


@pytest.fixture
def two_owners(user: Any, editor: Any) -> Project:
    project = project_create(owner=user, data={"name": "Shared"}, meta=SYSTEM)
    Membership.objects.create(project=project, user=editor, role=Role.OWNER)
    return project


@pytest.fixture
def both(two_owners: Project, user: Any, editor: Any, client_for: Any) -> tuple[Any, Any, str]:
    """A client for each owner, and the project's members URL."""
    return client_for(user), client_for(editor), f"/api/v1/projects/{two_owners.pk}/members/"


def owners(project: Project) -> list[Any]:
    return list(Membership.objects.filter(project=project, role=Role.OWNER).values_list("user_id", flat=True))


def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    two_owners: Project, user: Any, editor: Any, both: tuple[Any, Any, str]
) -> None:
    first, second, url = both

    with slowed_audit():
        responses = all_at_once(
            [
                lambda: first.patch(f"{url}{editor.pk}", {"role": "viewer"}, format="json"),
                lambda: second.patch(f"{url}{user.pk}", {"role": "viewer"}, format="json"),
            ]
        )

    statuses = sorted(response.status_code for response in responses)
    # One wins; the other, once it holds the lock, is no longer an owner.
    assert statuses == [200, 403], [r.content for r in responses]
    assert len(owners(two_owners)) == 1
    assert Event.objects.filter(event=EventType.PROJECT_ROLE_CHANGED).count() == 1


def test_two_owners_removing_each_other_at_once_leave_one_owner(
    two_owners: Project, user: Any, editor: Any, both: tuple[Any, Any, str]
) -> None:
    first, second, url = both

    with slowed_audit():
        responses = all_at_once([lambda: first.delete(f"{url}{editor.pk}"), lambda: second.delete(f"{url}{user.pk}")])

    assert sorted(response.status_code for response in responses) == [204, 404]
    assert len(owners(two_owners)) == 1
    assert Membership.objects.filter(project=two_owners).count() == 1


def test_two_owners_leaving_at_once_leave_one_owner(
    two_owners: Project, user: Any, editor: Any, both: tuple[Any, Any, str]
) -> None:
    first, second, url = both

    with slowed_audit():
        responses = all_at_once([lambda: first.delete(f"{url}{user.pk}"), lambda: second.delete(f"{url}{editor.pk}")])

    assert sorted(response.status_code for response in responses) == [204, 409]
    assert [r.json()["code"] for r in responses if r.status_code == 409] == ["last_owner"]
    assert len(owners(two_owners)) == 1


def test_concurrent_accepts_of_one_invitation_make_one_membership(user: Any, outsider: Any, client_for: Any) -> None:
    project = project_create(owner=user, data={"name": "Open"}, meta=SYSTEM)
    invitation = Invitation.objects.create(
        project=project,
        email=outsider.email,
        role=Role.EDITOR,
        invited_by=user,
        expires_at=timezone.now() + timedelta(days=7),
    )
    clients = [client_for(outsider) for _ in range(4)]
    url = f"/api/v1/invitations/{invitation.pk}/accept"

    with slowed_audit():
        responses = all_at_once([partial(client.post, url) for client in clients])

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409, 409, 409], [r.content for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"invitation_closed"}
    assert Membership.objects.filter(project=project, user=outsider).count() == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert Event.objects.filter(event=EventType.PROJECT_MEMBER_ADDED).count() == 1


def test_accepting_while_the_project_is_deleted_never_fails_and_leaves_nothing_behind(
    user: Any, outsider: Any, client_for: Any
) -> None:
    project = project_create(owner=user, data={"name": "Doomed"}, meta=SYSTEM)
    invitation = Invitation.objects.create(
        project=project, email=outsider.email, role=Role.VIEWER, expires_at=timezone.now() + timedelta(days=7)
    )
    owner, invitee = client_for(user), client_for(outsider)

    with slowed_audit():
        deleted, accepted = all_at_once(
            [
                partial(owner.delete, f"/api/v1/projects/{project.pk}"),
                partial(invitee.post, f"/api/v1/invitations/{invitation.pk}/accept"),
            ]
        )

    # Whichever runs first, the other waits for it on the project's row lock: the deletion always goes
    # through, the accept joins a project that is then deleted with its members, or finds it gone.
    assert deleted.status_code == 204, deleted.content
    assert accepted.status_code in (200, 404), accepted.content
    assert not Project.objects.exists()
    assert not Membership.objects.exists()
    assert not Invitation.objects.exists()
