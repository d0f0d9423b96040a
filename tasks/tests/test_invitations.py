"""Invitations: owners invite an address (mailed by a job), list and revoke; the addressee lists, accepts or
declines; nothing else changes anything, and an invitation to someone else is a 404."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db.models import F
from django.utils import timezone

from accounts.tests.factories import UserFactory
from audit.models import Event, EventType
from config.jobs.models import Effect
from tasks.models import Invitation, InvitationStatus, Membership, Project, Role

pytestmark = pytest.mark.django_db


def lifetime(body: dict[str, Any]) -> timedelta:
    return datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"])


def invite(client: Any, project: Project, email: str = "friend@example.com", role: str = "editor") -> Any:
    return client.post(f"/api/v1/projects/{project.pk}/invitations", {"email": email, "role": role}, format="json")


@pytest.fixture
def friend(db: Any) -> Any:
    return UserFactory(email="friend@example.com", full_name="Fran Friend", email_verified=True)


@pytest.fixture
def friend_client(friend: Any, client_for: Any) -> Any:
    return client_for(friend)


@pytest.fixture
def invitation(owner_client: Any, project: Project, friend: Any) -> Invitation:
    assert invite(owner_client, project).status_code == 202
    return Invitation.objects.get()


# Sending ------------------------------------------------------------------------------------------------


def test_the_owner_invites_an_address_and_a_job_mails_it(
    owner_client: Any, project: Project, user: Any, run_jobs: Any
) -> None:
    response = invite(owner_client, project, email="  New.Person@EXAMPLE.com ")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["email"] == "new.person@example.com" and body["role"] == "editor"
    assert body["invited_by"] == {"email": user.email, "full_name": user.full_name}
    assert lifetime(body) == timedelta(days=7)
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.PENDING and invitation.email == "new.person@example.com"
    (event,) = Event.objects.filter(event=EventType.PROJECT_INVITATION_SENT)
    assert event.user == user and event.actor_id == user.pk
    assert event.details == {
        "project_id": project.pk,
        "invitation_id": invitation.pk,
        "email": "new.person@example.com",
        "role": "editor",
    }
    assert mail.outbox == []  # never within the request

    assert run_jobs() == 1
    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert "Launch" in message.subject and user.full_name in message.subject
    assert "Launch" in message.body and user.full_name in message.body and "editor" in message.body
    assert "/invitations" in message.body
    # A second run of the job (a worker that died after sending) sends nothing more.
    assert Effect.objects.count() == 1


def test_the_answer_is_the_same_whether_or_not_an_account_has_the_address(
    owner_client: Any, project: Project, friend: Any
) -> None:
    known = invite(owner_client, project, email=friend.email).json()
    unknown = invite(owner_client, project, email="nobody@example.com").json()
    assert set(known) == set(unknown)
    same = ("role", "invited_by")
    assert {k: known[k] for k in same} == {k: unknown[k] for k in same}


def test_inviting_a_pending_address_again_renews_the_invitation(
    owner_client: Any, project: Project, run_jobs: Any
) -> None:
    first = invite(owner_client, project, role="viewer").json()
    Invitation.objects.update(
        created_at=F("created_at") - timedelta(days=2), expires_at=F("expires_at") - timedelta(days=2)
    )
    second = invite(owner_client, project, role="editor").json()

    assert second["id"] == first["id"]
    assert second["role"] == "editor" and second["expires_at"] > first["expires_at"]
    assert lifetime(second) == timedelta(days=7)
    assert Invitation.objects.count() == 1
    run_jobs()
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("email", ["owner@example.com", "OWNER@example.com", "viewer@example.com"])
def test_inviting_yourself_or_a_member_is_a_409(owner_client: Any, project: Project, email: str) -> None:
    response = invite(owner_client, project, email=email)
    assert response.status_code == 409
    assert response.json()["code"] == "already_member"
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address", "role": "editor"}, "email"),
        ({"email": "a\u00adb@example.com", "role": "editor"}, "email"),
        ({"email": "a@example.com", "role": "admin"}, "role"),
        ({"email": "a@example.com"}, "role"),
    ],
)
def test_invalid_invitations_are_a_400(owner_client: Any, project: Project, body: dict[str, str], field: str) -> None:
    response = owner_client.post(f"/api/v1/projects/{project.pk}/invitations", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"])
def test_only_owners_invite_list_and_revoke(request: Any, who: str, project: Project, invitation: Invitation) -> None:
    client = request.getfixturevalue(who)
    responses = [
        invite(client, project, email="other@example.com"),
        client.get(f"/api/v1/projects/{project.pk}/invitations"),
        client.delete(f"/api/v1/projects/{project.pk}/invitations/{invitation.pk}"),
    ]
    for response in responses:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert Invitation.objects.get().status == InvitationStatus.PENDING
    assert Invitation.objects.count() == 1


def test_invitations_are_rate_limited_per_user(owner_client: Any, project: Project, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "invitations": "2/hour"},
    }
    assert invite(owner_client, project, email="a@example.com").status_code == 202
    assert invite(owner_client, project, email="b@example.com").status_code == 202
    limited = invite(owner_client, project, email="c@example.com")
    assert limited.status_code == 429
    assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
    # Reading is not limited by it.
    assert owner_client.get(f"/api/v1/projects/{project.pk}/invitations").status_code == 200
    assert Invitation.objects.count() == 2


# The project's pending invitations ----------------------------------------------------------------------


def test_the_owner_lists_pending_invitations_only(owner_client: Any, project: Project, user: Any) -> None:
    for email in ("a@example.com", "b@example.com", "c@example.com", "d@example.com"):
        invite(owner_client, project, email=email)
    Invitation.objects.filter(email="b@example.com").update(status=InvitationStatus.DECLINED)
    Invitation.objects.filter(email="c@example.com").update(expires_at=timezone.now() - timedelta(seconds=1))
    Invitation.objects.filter(email="d@example.com").update(status=InvitationStatus.REVOKED)

    response = owner_client.get(f"/api/v1/projects/{project.pk}/invitations")

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["email"] == "a@example.com"
    assert list(item) == ["id", "role", "invited_by", "created_at", "expires_at", "email"]


def test_the_owner_revokes_an_invitation(
    owner_client: Any, project: Project, invitation: Invitation, friend_client: Any, user: Any
) -> None:
    response = owner_client.delete(f"/api/v1/projects/{project.pk}/invitations/{invitation.pk}")

    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    (event,) = Event.objects.filter(event=EventType.PROJECT_INVITATION_REVOKED)
    assert event.actor_id == user.pk and event.details["invitation_id"] == invitation.pk
    # Gone for the addressee; accepting it now changes nothing.
    assert friend_client.get("/api/v1/invitations/").json()["count"] == 0
    accepted = friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept")
    assert accepted.status_code == 409 and accepted.json()["code"] == "invitation_closed"
    assert not Membership.objects.filter(project=project, user__email="friend@example.com").exists()
    # Revoking again, or an invitation of another project, is a 404.
    assert owner_client.delete(f"/api/v1/projects/{project.pk}/invitations/{invitation.pk}").status_code == 404
    assert owner_client.delete(f"/api/v1/projects/{project.pk}/invitations/999999").status_code == 404


# The addressee ----------------------------------------------------------------------------------------------


def test_the_addressee_lists_their_invitations(
    friend_client: Any, invitation: Invitation, project: Project, user: Any
) -> None:
    response = friend_client.get("/api/v1/invitations/")

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert list(item) == ["id", "role", "invited_by", "created_at", "expires_at", "project"]
    assert item["id"] == invitation.pk
    assert item["project"] == {"id": project.pk, "name": "Launch"}
    assert item["invited_by"] == {"email": user.email, "full_name": user.full_name}


def test_others_do_not_see_the_invitation(outsider_api: Any, owner_client: Any, invitation: Invitation) -> None:
    assert outsider_api.get("/api/v1/invitations/").json()["count"] == 0
    assert owner_client.get("/api/v1/invitations/").json()["count"] == 0


def test_accepting_joins_the_project_in_the_invitation_role(
    friend_client: Any, friend: Any, invitation: Invitation, project: Project
) -> None:
    response = friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == project.pk and body["role"] == "editor" and body["members_count"] == 4
    assert Membership.objects.get(project=project, user=friend).role == Role.EDITOR
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED and invitation.responded_at is not None
    assert friend_client.get(f"/api/v1/projects/{project.pk}").status_code == 200
    accepted = Event.objects.get(event=EventType.PROJECT_INVITATION_ACCEPTED)
    added = Event.objects.get(event=EventType.PROJECT_MEMBER_ADDED)
    assert accepted.user == friend and added.user == friend and added.actor_id == friend.pk
    assert added.details == {
        "project_id": project.pk,
        "user_id": str(friend.pk),
        "invitation_id": invitation.pk,
        "role": "editor",
    }

    again = friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept")
    assert again.status_code == 409 and again.json()["code"] == "invitation_closed"
    assert Membership.objects.filter(project=project, user=friend).count() == 1


def test_an_unverified_address_cannot_accept(
    friend_client: Any, friend: Any, invitation: Invitation, project: Project
) -> None:
    friend.email_verified = False
    friend.save(update_fields=["email_verified"])

    response = friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept")

    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert not Membership.objects.filter(user=friend).exists()
    assert Invitation.objects.get().status == InvitationStatus.PENDING


def test_an_expired_invitation_cannot_be_answered(friend_client: Any, friend: Any, invitation: Invitation) -> None:
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for action in ("accept", "decline"):
        response = friend_client.post(f"/api/v1/invitations/{invitation.pk}/{action}")
        assert response.status_code == 409
        assert response.json()["code"] == "invitation_closed"
    assert not Membership.objects.filter(user=friend).exists()
    assert Invitation.objects.get().status == InvitationStatus.PENDING
    assert friend_client.get("/api/v1/invitations/").json()["count"] == 0


def test_another_address_invitation_is_a_404_and_nothing_changes(
    outsider_api: Any, editor_client: Any, invitation: Invitation
) -> None:
    for client in (outsider_api, editor_client):
        for action in ("accept", "decline"):
            response = client.post(f"/api/v1/invitations/{invitation.pk}/{action}")
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
    assert Invitation.objects.get().status == InvitationStatus.PENDING
    assert Membership.objects.count() == 3
    assert outsider_api.post("/api/v1/invitations/999999/accept").status_code == 404


def test_declining_closes_the_invitation(friend_client: Any, friend: Any, invitation: Invitation) -> None:
    response = friend_client.post(f"/api/v1/invitations/{invitation.pk}/decline")

    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DECLINED
    assert not Membership.objects.filter(user=friend).exists()
    (event,) = Event.objects.filter(event=EventType.PROJECT_INVITATION_DECLINED)
    assert event.user == friend and event.details == {
        "project_id": invitation.project_id,
        "invitation_id": invitation.pk,
    }
    assert friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept").status_code == 409


def test_a_member_by_another_path_cannot_accept_twice_over(
    friend_client: Any, friend: Any, invitation: Invitation, project: Project
) -> None:
    Membership.objects.create(project=project, user=friend, role=Role.VIEWER)
    response = friend_client.post(f"/api/v1/invitations/{invitation.pk}/accept")
    assert response.status_code == 409 and response.json()["code"] == "already_member"
    assert Membership.objects.get(project=project, user=friend).role == Role.VIEWER


def test_an_invitation_answered_before_its_mail_goes_is_not_mailed(
    friend_client: Any, invitation: Invitation, run_jobs: Any
) -> None:
    friend_client.post(f"/api/v1/invitations/{invitation.pk}/decline")
    run_jobs()
    assert mail.outbox == []


def test_the_expired_invitations_are_purged_after_a_month(invitation: Invitation) -> None:
    from tasks.services.projects import invitations_purge_expired

    assert invitations_purge_expired(now=invitation.expires_at + timedelta(days=29)) == 0
    assert invitations_purge_expired(now=invitation.expires_at + timedelta(days=31)) == 1
    assert not Invitation.objects.exists()
