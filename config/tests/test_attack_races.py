"""Check-then-act races an attacker (or an unlucky user) can start on purpose, with real threads on PostgreSQL.

Already covered elsewhere, and not repeated here: one invitation accepted several times at once by its
addressee, and accepted while its project is deleted (tasks/tests/test_project_races.py); two owners
demoting, removing or leaving at once (same file); two schedulers firing reminders at once, and two real
workers (tasks/tests/test_reminder_races.py); one TOTP code or one recovery code sent by concurrent sign-ins
(accounts/tests/test_mfa_concurrency.py); tabs refreshing one token at once, inside and after the grace window
(accounts/tests/test_concurrent_refresh.py); API token creation at the limit (test_api_token_races.py).

Here: an invitation accepted and declined, or accepted and revoked, at once, and accepted by its addressee
and a stranger at once; one owner leaving while the other steps down; one mfa_token spent with two valid
codes at once; a refresh racing a logout; one password reset link and one email change link used twice at
once; reminders fired at once by the service itself (no HTTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any
from unittest import mock

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.links import email_change_token, encode_uid, password_reset_tokens
from accounts.models import ApiToken, RecoveryCode, Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.mfa_helpers import T0, enroll, mfa_token_for, second_step, totp_code
from audit.context import SYSTEM
from config.tests.attack_world import bearer, build_world, client_of
from config.tests.concurrency import all_at_once
from tasks.models import Assignment, Invitation, InvitationStatus, Membership, Project, Role, Task
from tasks.services import projects as project_services
from tasks.services.projects import project_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def slowed(module: Any, name: str = "audit_record") -> Any:
    """Holds the lock a little longer, so the requests really queue on it instead of merely taking turns."""
    original = getattr(module, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.1)
        return original(*args, **kwargs)

    return mock.patch.object(module, name, side_effect=slow)


@pytest.fixture
def no_login_limits(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1000/min"},
    }


# Invitations ----------------------------------------------------------------------------------------------------


@pytest.fixture
def invited(db: Any) -> tuple[Project, Invitation, Any, Any]:
    """A project, and its owner's pending invitation of `invitee` (an account with that address)."""
    world = build_world()
    return world.project, world.invitation, world.owner, world.invitee


def test_accepting_and_declining_one_invitation_at_once_has_one_outcome(
    invited: tuple[Project, Invitation, Any, Any],
) -> None:
    project, invitation, _, invitee = invited
    first, second = client_of(invitee), client_of(invitee)
    with slowed(project_services):
        accepted, declined = all_at_once(
            [
                partial(first.post, f"/api/v1/invitations/{invitation.pk}/accept"),
                partial(second.post, f"/api/v1/invitations/{invitation.pk}/decline"),
            ]
        )
    invitation.refresh_from_db()
    member = Membership.objects.filter(project=project, user=invitee).exists()
    if accepted.status_code == 200:
        assert declined.status_code in {404, 409}, declined.content
        assert invitation.status == InvitationStatus.ACCEPTED and member
    else:
        assert (accepted.status_code, declined.status_code) in {(409, 204), (404, 204)}, accepted.content
        assert invitation.status == InvitationStatus.DECLINED and not member


def test_accepting_while_the_owner_revokes_has_one_outcome(invited: tuple[Project, Invitation, Any, Any]) -> None:
    project, invitation, owner, invitee = invited
    with slowed(project_services):
        revoked, accepted = all_at_once(
            [
                partial(client_of(owner).delete, f"/api/v1/projects/{project.pk}/invitations/{invitation.pk}"),
                partial(client_of(invitee).post, f"/api/v1/invitations/{invitation.pk}/accept"),
            ]
        )
    invitation.refresh_from_db()
    member = Membership.objects.filter(project=project, user=invitee).exists()
    assert sorted([revoked.status_code, accepted.status_code]) in ([200, 404], [200, 409], [204, 404], [204, 409])
    if accepted.status_code == 200:
        assert invitation.status == InvitationStatus.ACCEPTED and member
    else:
        assert invitation.status == InvitationStatus.REVOKED and not member


def test_a_stranger_accepting_at_the_same_moment_as_the_addressee_gets_nothing(
    invited: tuple[Project, Invitation, Any, Any],
) -> None:
    project, invitation, _, invitee = invited
    stranger: Any = UserFactory(email="stranger@example.com")
    clients = [client_of(invitee), client_of(stranger), client_of(stranger)]
    with slowed(project_services):
        responses = all_at_once([partial(c.post, f"/api/v1/invitations/{invitation.pk}/accept") for c in clients])
    assert [r.status_code for r in responses] == [200, 404, 404], [r.content for r in responses]
    assert Membership.objects.filter(project=project, user=invitee, role=Role.EDITOR).exists()
    assert not Membership.objects.filter(user=stranger).exists()


# The last owner ---------------------------------------------------------------------------------------------------


def test_one_owner_leaving_while_the_other_steps_down_leaves_an_owner(db: Any) -> None:
    first: Any = UserFactory(email="first@example.com")
    second: Any = UserFactory(email="second@example.com")
    project = project_create(owner=first, data={"name": "Shared"}, meta=SYSTEM)
    Membership.objects.create(project=project, user=second, role=Role.OWNER)
    url = f"/api/v1/projects/{project.pk}/members"
    with slowed(project_services):
        left, stepped_down = all_at_once(
            [
                partial(client_of(first).delete, f"{url}/{first.pk}"),
                partial(client_of(second).patch, f"{url}/{second.pk}", {"role": "viewer"}, format="json"),
            ]
        )
    statuses = sorted([left.status_code, stepped_down.status_code])
    assert statuses in ([200, 409], [204, 409]), [left.content, stepped_down.content]
    assert Membership.objects.filter(project=project, role=Role.OWNER).count() == 1


# Sign-in ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def frozen(time_machine: Any) -> Any:
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.mark.usefixtures("no_login_limits")
def test_one_mfa_token_spent_with_two_valid_codes_at_once_opens_one_session(frozen: Any, login_as: Any) -> None:
    user: Any = UserFactory(email="mfa@example.com")
    secret, codes = enroll(login_as(user))
    frozen.move_to(T0 + timedelta(seconds=30), tick=False)
    token = mfa_token_for(user.email)
    sessions = Session.objects.filter(user=user).count()

    responses = all_at_once([partial(second_step, token, totp_code(secret)), partial(second_step, token, codes[0])])

    assert sorted(r.status_code for r in responses) == [200, 401], [r.content for r in responses]
    assert Session.objects.filter(user=user).count() == sessions + 1
    # The code that lost was not spent.
    spent = RecoveryCode.objects.filter(user=user, used_at__isnull=False).count()
    assert spent == (1 if responses[1].status_code == 200 else 0)


def test_a_refresh_racing_a_logout_leaves_no_live_session(db: Any, login_as: Any) -> None:
    user: Any = UserFactory(email="tabs@example.com")
    for _ in range(5):
        client = login_as(user)
        tokens = client.tokens
        with slowed(account_services.sessions):
            refreshed, logged_out = all_at_once(
                [
                    partial(APIClient().post, "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json"),
                    partial(client.post, "/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json"),
                ]
            )
        assert logged_out.status_code == 204
        assert refreshed.status_code in {200, 401}, refreshed.content
        if refreshed.status_code == 200:
            # Whatever the refresh handed out belongs to the session the logout ended.
            assert bearer(refreshed.json()["access"]).get("/api/v1/auth/me").status_code == 401
            again = APIClient().post("/api/v1/auth/refresh", {"refresh": refreshed.json()["refresh"]}, format="json")
            assert again.status_code == 401
    assert not Session.objects.open().filter(user=user).exists()


def test_one_password_reset_link_used_twice_at_once_sets_one_password(db: Any) -> None:
    user: Any = UserFactory(email="reset@example.com")
    uid, token = encode_uid(user), password_reset_tokens.make_token(user)
    passwords = ["first new passphrase 1", "second new passphrase 2"]

    def confirm(password: str) -> Callable[[], Any]:
        return partial(
            APIClient().post,
            "/api/v1/auth/password/reset/confirm",
            {"uid": uid, "token": token, "new_password": password},
            format="json",
        )

    with slowed(account_services.account, "sessions_end_all"):
        responses = all_at_once([confirm(p) for p in passwords])

    assert sorted(r.status_code for r in responses) == [204, 400], [r.content for r in responses]
    winner = passwords[[r.status_code for r in responses].index(204)]
    fresh = User.objects.get(pk=user.pk)
    assert fresh.check_password(winner) and not fresh.check_password(PASSWORD)


def test_one_email_change_link_used_twice_at_once_changes_the_address_once(db: Any) -> None:
    user: Any = UserFactory(email="before@example.com")
    uid, token = encode_uid(user), email_change_token(user, "after@example.com")
    with slowed(account_services.account, "audit_record"):
        responses = all_at_once(
            [
                partial(
                    APIClient().post, "/api/v1/auth/email/change/confirm", {"uid": uid, "token": token}, format="json"
                )
                for _ in range(3)
            ]
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 204 and all(s in {204, 400} for s in statuses), [r.content for r in responses]
    assert User.objects.get(pk=user.pk).email == "after@example.com"


# Assignees ------------------------------------------------------------------------------------------------------


def _checked_then_paused() -> Any:
    """Widens the window between checking that the assignees are members and writing the assignment."""
    from tasks.services import tasks as task_services

    original = task_services.assignees_check

    def paused(**kwargs: Any) -> Any:
        wanted = original(**kwargs)
        time.sleep(0.3)
        return wanted

    return mock.patch.object(task_services, "assignees_check", side_effect=paused)


@pytest.mark.parametrize("write", ["create", "update"])
def test_a_member_removed_while_being_assigned_is_not_left_assigned(write: str) -> None:
    world = build_world()
    project, viewer = world.project, world.viewer
    editor = client_of(world.editor)
    owner = client_of(world.owner)
    body = {"assignees": [str(viewer.pk)]}

    def assign() -> Any:
        if write == "create":
            return editor.post("/api/v1/tasks/", {**body, "title": "New", "project": project.pk}, format="json")
        return editor.patch(f"/api/v1/tasks/{world.project_task.pk}", body, format="json")

    def remove() -> Any:
        time.sleep(0.1)  # once the assignment has checked the membership
        return owner.delete(f"/api/v1/projects/{project.pk}/members/{viewer.pk}")

    with _checked_then_paused():
        assigned, removed = all_at_once([assign, remove])

    assert removed.status_code == 204, removed.content
    assert assigned.status_code in {200, 201, 400}, assigned.content
    assert not Membership.objects.filter(project=project, user=viewer).exists()
    # Whichever came first, a non-member is nobody's assignee in the project (nor notified of its tasks).
    assert not Assignment.objects.filter(task__project=project, user=viewer).exists()
    for task in Task.objects.filter(project=project):
        assert str(viewer.pk) not in task.assignee_ids


# Deactivation -----------------------------------------------------------------------------------------------------


def test_an_api_token_created_while_the_account_is_deactivated_does_not_outlive_it(db: Any) -> None:
    world = build_world()
    user, staff = world.editor, client_of(world.staff)
    creator = client_of(user)

    def create() -> Any:
        time.sleep(0.1)  # authenticated already; reaches the user's row lock while the deactivation holds it
        return creator.post("/api/v1/auth/tokens", {"name": "late", "scopes": ["tasks:read"]}, format="json")

    with slowed(account_services.staff, "sessions_end_all"):
        deactivated, created = all_at_once(
            [partial(staff.patch, f"/api/v1/users/{user.pk}", {"is_active": False}, format="json"), create]
        )
    assert deactivated.status_code == 200, deactivated.content
    assert created.status_code in {201, 401}, created.content
    # Reactivated, the account gets none of the tokens it had back (SPEC 3b: deactivation revokes them).
    assert staff.patch(f"/api/v1/users/{user.pk}", {"is_active": True}, format="json").status_code == 200
    assert not ApiToken.objects.live().filter(user=user).exists()
    if created.status_code == 201:
        assert bearer(created.json()["token"]).get("/api/v1/tasks/").status_code == 401


@pytest.mark.parametrize("change", ["password reset", "deactivation"])
@pytest.mark.usefixtures("no_login_limits")
def test_a_sign_in_racing_a_reset_or_a_deactivation_opens_no_session_behind_it(db: Any, change: str) -> None:
    world = build_world()
    user = world.editor
    staff = client_of(world.staff)
    uid, token = encode_uid(user), password_reset_tokens.make_token(user)

    def end_them() -> Any:
        if change == "deactivation":
            return staff.patch(f"/api/v1/users/{user.pk}", {"is_active": False}, format="json")
        body = {"uid": uid, "token": token, "new_password": "a brand new passphrase"}
        return APIClient().post("/api/v1/auth/password/reset/confirm", body, format="json")

    def sign_in() -> Any:
        time.sleep(0.1)  # the password checks out before the change commits; the session opens after it
        return APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")

    module = account_services.staff if change == "deactivation" else account_services.account
    with slowed(module, "sessions_end_all"):
        ended, signed_in = all_at_once([end_them, sign_in])

    assert ended.status_code in {200, 204}, ended.content
    assert signed_in.status_code in {200, 401}, signed_in.content
    if change == "deactivation":
        assert staff.patch(f"/api/v1/users/{user.pk}", {"is_active": True}, format="json").status_code == 200
    # Whatever the sign-in answered, no session outlives the change: not even after a reactivation.
    assert not Session.objects.open().filter(user=user).exists()
    if signed_in.status_code == 200:
        assert bearer(signed_in.json()["access"]).get("/api/v1/auth/me").status_code == 401
