"""Only a superuser may change, deactivate, demote, delete, unlock, sign out or set the password of a superuser.

Each door is tried both ways: a plain staff member on a superuser (refused: 403 `permission_denied` in the
API, a 403 page or a skipped row with an error message in the admin, nothing changed, the attempt recorded)
and a superuser on a staff member (allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import assert_error
from accounts.tests.test_admin import ATTEMPTS, SESSIONS, USERS, action, post_change
from audit.context import SYSTEM
from audit.models import Event, EventType
from config.http.errors import ActionRefused

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def root(db: Any) -> User:
    return cast(User, UserFactory(email="root@example.com", full_name="Rita Root", is_staff=True, is_superuser=True))


@pytest.fixture
def root_client(root: User, login_as: Callable[..., APIClient]) -> APIClient:
    return login_as(root)


def console_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refusals() -> list[Event]:
    return list(Event.objects.filter(event=EventType.STAFF_ACTION_REFUSED).order_by("id"))


def assert_refused_once(target: User, actor: User, action_name: str) -> None:
    [event] = refusals()
    assert event.user_id == target.pk
    assert event.actor_id == actor.pk
    assert event.details["action"] == action_name


def lock_out(user: User) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "wrong password"}, format="json")
    assert AccessAttempt.objects.filter(username=user.email).exists()


def snapshot(user: User) -> tuple[Any, ...]:
    user.refresh_from_db()
    return (user.email, user.password, user.full_name, user.is_active, user.is_staff, user.is_superuser)


# The staff API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"is_active": False},
        {"is_staff": False},
        {"full_name": "Taken Over"},
        {"email_verified": False},
        {"email": "attacker@example.com"},
    ],
    ids=["deactivate", "demote", "rename", "unverify", "email"],
)
def test_staff_cannot_change_a_superuser_through_the_api(
    staff: User, staff_client: APIClient, root: User, root_client: APIClient, body: dict[str, Any]
) -> None:
    before = snapshot(root)
    response = staff_client.patch(f"/api/v1/users/{root.pk}", body, format="json")
    assert_error(response, 403, "permission_denied")
    assert snapshot(root) == before
    assert root_client.get("/api/v1/auth/me").status_code == 200
    assert_refused_once(root, staff, "change")


def test_staff_cannot_delete_a_superuser_through_the_api(staff: User, staff_client: APIClient, root: User) -> None:
    assert_error(staff_client.delete(f"/api/v1/users/{root.pk}"), 403, "permission_denied")
    assert User.objects.filter(pk=root.pk).exists()
    assert not Event.objects.filter(event=EventType.ACCOUNT_DELETED).exists()
    assert_refused_once(root, staff, "delete")


def test_staff_cannot_end_a_superusers_sessions_through_the_api(
    staff: User, staff_client: APIClient, root: User, root_client: APIClient
) -> None:
    response = staff_client.post(f"/api/v1/users/{root.pk}/sessions/revoke")
    assert_error(response, 403, "permission_denied")
    assert root_client.get("/api/v1/auth/me").status_code == 200
    assert Session.objects.filter(user=root, ended_at__isnull=True).count() == 1
    assert_refused_once(root, staff, "revoke_sessions")


def test_staff_cannot_unlock_a_superuser_through_the_api(staff: User, staff_client: APIClient, root: User) -> None:
    lock_out(root)
    assert_error(staff_client.post(f"/api/v1/users/{root.pk}/unlock"), 403, "permission_denied")
    assert AccessAttempt.objects.filter(username=root.email).exists()
    assert_refused_once(root, staff, "unlock")


def test_staff_can_still_read_a_superuser(staff_client: APIClient, root: User) -> None:
    response = staff_client.get(f"/api/v1/users/{root.pk}")
    assert response.status_code == 200
    assert response.json()["email"] == "root@example.com"
    assert "root@example.com" in str(staff_client.get("/api/v1/users/", {"search": "root"}).json())
    assert not refusals()


def test_a_superuser_can_change_deactivate_and_demote_staff_through_the_api(
    root_client: APIClient, staff: User, staff_client: APIClient
) -> None:
    response = root_client.patch(
        f"/api/v1/users/{staff.pk}", {"full_name": "Renamed", "is_active": False, "is_staff": False}, format="json"
    )
    assert response.status_code == 200, response.content
    staff.refresh_from_db()
    assert (staff.full_name, staff.is_active, staff.is_staff) == ("Renamed", False, False)
    assert staff_client.get("/api/v1/auth/me").status_code == 401
    assert not refusals()


def test_a_superuser_can_unlock_sign_out_and_delete_staff_through_the_api(
    root_client: APIClient, staff: User, staff_client: APIClient
) -> None:
    lock_out(staff)
    assert root_client.post(f"/api/v1/users/{staff.pk}/unlock").json()["attempts_cleared"] >= 1
    assert root_client.post(f"/api/v1/users/{staff.pk}/sessions/revoke").json() == {"sessions_ended": 1}
    assert staff_client.get("/api/v1/auth/me").status_code == 401
    assert root_client.delete(f"/api/v1/users/{staff.pk}").status_code == 204
    assert not User.objects.filter(pk=staff.pk).exists()
    assert not refusals()


def test_a_superuser_can_act_on_another_superuser_through_the_api(root_client: APIClient) -> None:
    other: Any = UserFactory(email="root2@example.com", is_staff=True, is_superuser=True)
    response = root_client.patch(f"/api/v1/users/{other.pk}", {"is_staff": False}, format="json")
    assert response.status_code == 200
    other.refresh_from_db()
    assert not other.is_staff


def test_staff_still_manage_other_staff_and_plain_users_through_the_api(
    staff_client: APIClient, outsider: User
) -> None:
    colleague = UserFactory(email="colleague@example.com", is_staff=True)
    targets: list[Any] = [colleague, outsider]
    for target in targets:
        response = staff_client.patch(f"/api/v1/users/{target.pk}", {"full_name": "Edited"}, format="json")
        assert response.status_code == 200, response.content
    assert not refusals()


# The admin: forms and pages -----------------------------------------------------------------------------


def test_staff_cannot_set_a_superusers_password_in_the_admin(staff: User, root: User) -> None:
    console = console_for(staff)
    before = snapshot(root)
    assert console.get(f"{USERS}{root.pk}/password/").status_code == 403
    response = console.post(
        f"{USERS}{root.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    assert snapshot(root) == before
    login = APIClient().post("/api/v1/auth/login", {"email": root.email, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 401
    assert_refused_once(root, staff, "set_password")


def test_staff_cannot_change_a_superusers_email_in_the_admin(staff: User, root: User) -> None:
    console = console_for(staff)
    page = console.get(f"{USERS}{root.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # read-only for them
    before = snapshot(root)
    data = {"email": "attacker@example.com", "full_name": root.full_name, "is_active": "on", "_save": "Save"}
    response = console.post(f"{USERS}{root.pk}/change/", data)
    assert response.status_code == 403
    assert snapshot(root) == before
    assert_refused_once(root, staff, "change")


def test_staff_cannot_deactivate_or_demote_a_superuser_in_the_admin_form(staff: User, root: User) -> None:
    before = snapshot(root)
    data = {"email": root.email, "full_name": root.full_name, "_save": "Save"}  # is_active, is_staff unticked
    assert console_for(staff).post(f"{USERS}{root.pk}/change/", data).status_code == 403
    assert snapshot(root) == before


def test_staff_cannot_delete_a_superuser_in_the_admin(staff: User, root: User) -> None:
    console = console_for(staff)
    assert console.get(f"{USERS}{root.pk}/delete/").status_code == 403
    assert console.post(f"{USERS}{root.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=root.pk).exists()
    assert_refused_once(root, staff, "delete")


def test_a_superuser_can_set_a_staff_members_password_in_the_admin(root: User, staff: User) -> None:
    response = console_for(root).post(
        f"{USERS}{staff.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert not refusals()


def test_a_superuser_can_change_a_staff_members_email_and_status_in_the_admin(root: User, staff: User) -> None:
    response = post_change(console_for(root), staff, email="stella@example.com", is_staff="")
    assert response.status_code == 302, response.content.decode()[:2000]
    staff.refresh_from_db()
    assert (staff.email, staff.is_staff) == ("stella@example.com", False)


def test_a_superuser_can_delete_a_staff_member_in_the_admin(root: User, staff: User) -> None:
    assert console_for(root).post(f"{USERS}{staff.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=staff.pk).exists()


# The admin: bulk actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "action_name"),
    [
        ("deactivate_users", "change"),
        ("unlock_users", "unlock"),
        ("revoke_sessions", "revoke_sessions"),
    ],
)
def test_staff_actions_skip_superusers_in_the_admin(
    staff: User,
    root: User,
    root_client: APIClient,
    outsider: User,
    outsider_client: APIClient,
    name: str,
    action_name: str,
) -> None:
    lock_out(root)
    page = action(console_for(staff), USERS, name, root, outsider).content.decode()
    assert "Only a superuser can" in page
    root.refresh_from_db()
    assert root.is_active
    assert root_client.get("/api/v1/auth/me").status_code == 200
    assert AccessAttempt.objects.filter(username=root.email).exists()
    assert_refused_once(root, staff, action_name)
    if name != "unlock_users":  # the others did act on the plain user
        assert outsider_client.get("/api/v1/auth/me").status_code == 401


def test_staff_cannot_reactivate_a_superuser_with_the_admin_action(staff: User, root: User) -> None:
    User.objects.filter(pk=root.pk).update(is_active=False)
    page = action(console_for(staff), USERS, "activate_users", root).content.decode()
    assert "Only a superuser can" in page
    root.refresh_from_db()
    assert not root.is_active
    assert_refused_once(root, staff, "change")


def test_staff_cannot_bulk_delete_a_superuser_in_the_admin(staff: User, root: User, outsider: User) -> None:
    console = console_for(staff)
    selected = [str(root.pk), str(outsider.pk)]
    response = console.post(
        USERS, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}, follow=True
    )
    assert "Only a superuser can" in response.content.decode()
    assert User.objects.filter(pk=root.pk).exists()
    assert not User.objects.filter(pk=outsider.pk).exists()
    assert_refused_once(root, staff, "delete")


def test_a_superuser_can_use_every_action_on_staff_in_the_admin(
    root: User, staff: User, staff_client: APIClient
) -> None:
    console = console_for(root)
    lock_out(staff)
    action(console, USERS, "unlock_users", staff)
    assert not AccessAttempt.objects.filter(username=staff.email).exists()
    action(console, USERS, "revoke_sessions", staff)
    assert staff_client.get("/api/v1/auth/me").status_code == 401
    action(console, USERS, "deactivate_users", staff)
    staff.refresh_from_db()
    assert not staff.is_active
    action(console, USERS, "activate_users", staff)
    staff.refresh_from_db()
    assert staff.is_active
    assert not refusals()


def test_staff_cannot_revoke_a_superusers_session_in_the_admin(
    staff: User, root: User, root_client: APIClient, outsider: User, outsider_client: APIClient
) -> None:
    sessions = Session.objects.filter(user__in=[root, outsider])
    page = action(console_for(staff), SESSIONS, "revoke_selected", *sessions).content.decode()
    assert "Revoked 1 session(s)." in page
    assert root_client.get("/api/v1/auth/me").status_code == 200
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    assert_refused_once(root, staff, "revoke_session")


def test_a_superuser_can_revoke_a_staff_members_session_in_the_admin(
    root: User, staff: User, staff_client: APIClient
) -> None:
    action(console_for(root), SESSIONS, "revoke_selected", Session.objects.get(user=staff))
    assert staff_client.get("/api/v1/auth/me").status_code == 401


def test_staff_cannot_lift_a_superusers_lockout_from_the_lockout_pages(staff: User, root: User) -> None:
    lock_out(root)
    console = console_for(staff)
    attempt = AccessAttempt.objects.get(username=root.email)
    assert "Only a superuser can" in action(console, ATTEMPTS, "unlock_accounts", attempt).content.decode()
    assert console.post(f"{ATTEMPTS}{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
    response = console.post(
        ATTEMPTS, {"action": "delete_selected", "_selected_action": [str(attempt.pk)], "post": "yes"}, follow=True
    )
    assert "Only a superuser can" in response.content.decode()
    assert AccessAttempt.objects.filter(username=root.email).exists()
    assert [event.details["action"] for event in refusals()] == ["unlock", "unlock", "unlock"]


def test_a_superuser_can_lift_a_staff_members_lockout_from_the_lockout_pages(root: User, staff: User) -> None:
    lock_out(staff)
    attempt = AccessAttempt.objects.get(username=staff.email)
    assert console_for(root).post(f"{ATTEMPTS}{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(username=staff.email).exists()
    assert (
        APIClient().post("/api/v1/auth/login", {"email": staff.email, "password": PASSWORD}, format="json").status_code
        == 200
    )


def test_a_superuser_can_bulk_delete_staff_in_the_admin(root: User, staff: User) -> None:
    response = console_for(root).post(
        USERS, {"action": "delete_selected", "_selected_action": [str(staff.pk)], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not User.objects.filter(pk=staff.pk).exists()
    assert not refusals()


def test_a_superuser_can_unlock_another_superuser_from_the_lockout_pages(root: User) -> None:
    other = cast(User, UserFactory(email="root2@example.com", is_staff=True, is_superuser=True))
    lock_out(other)
    attempt = AccessAttempt.objects.get(username=other.email)
    page = action(console_for(root), ATTEMPTS, "unlock_accounts", attempt).content.decode()
    assert "Unlocked 1 account(s)." in page
    assert not AccessAttempt.objects.filter(username=other.email).exists()
    assert not refusals()


def test_a_superuser_can_edit_their_own_account_in_the_admin(root: User) -> None:
    response = post_change(console_for(root), root, full_name="Rita R.", is_superuser="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    root.refresh_from_db()
    assert (root.full_name, root.is_superuser) == ("Rita R.", True)


def test_a_refusal_changes_nothing_else_and_says_who_tried(staff: User, staff_client: APIClient, root: User) -> None:
    staff_client.patch(f"/api/v1/users/{root.pk}", {"is_active": False, "full_name": "X"}, format="json")
    [event] = refusals()
    assert event.email == root.email
    assert (event.actor, event.actor_email) == (staff, staff.email)
    assert event.details == {
        "action": "change",
        "reason": "target_is_superuser",
        "fields": ["full_name", "is_active"],
    }
    assert not Event.objects.exclude(event__in=[EventType.STAFF_ACTION_REFUSED, EventType.LOGIN_SUCCEEDED]).exists()


def test_a_user_made_superuser_while_staff_edit_them_is_not_changed(staff: User, outsider: User) -> None:
    stale = User.objects.get(pk=outsider.pk)  # read before the promotion, as a concurrent request would
    User.objects.filter(pk=outsider.pk).update(is_superuser=True, is_staff=True)
    with pytest.raises(ActionRefused):
        services.staff.user_update_by_staff(actor=staff, user=stale, data={"is_active": False}, meta=SYSTEM)
    outsider.refresh_from_db()
    assert outsider.is_active
