"""The Django admin as the staff's console: users, sessions, lockouts, branding, and its own lockout."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
SESSIONS = "/admin/accounts/session/"
ATTEMPTS = "/admin/axes/accessattempt/"


@pytest.fixture
def console(staff: Any) -> Client:
    """A browser signed in to the admin as a staff user who is not a superuser."""
    client = Client()
    client.force_login(staff)
    return client


def events(kind: EventType) -> list[Event]:
    return list(Event.objects.filter(event=kind).order_by("id"))


def action(console: Client, url: str, name: str, *objects: Any) -> Any:
    return console.post(url, {"action": name, "_selected_action": [str(obj.pk) for obj in objects]}, follow=True)


def admin_login(email: str, password: str, *, ip: str = "203.0.113.5") -> Any:
    return Client(REMOTE_ADDR=ip).post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})


def test_the_login_page_is_branded_and_asks_for_the_email(db: Any) -> None:
    page = Client().get("/admin/login/").content.decode()
    assert "Taskdesk administration" in page
    assert "Django administration" not in page
    assert re.search(r'<label[^>]*for="id_username"[^>]*>Email:</label>', page)


def test_staff_sign_in_with_their_email_in_any_case(staff: Any) -> None:
    response = admin_login("STAFF@Example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_non_staff_cannot_sign_in(user: Any) -> None:
    response = admin_login(user.email, PASSWORD)
    assert response.status_code == 200
    assert "Please enter the correct email and password for a staff account" in response.content.decode()


def test_staff_who_are_not_superusers_see_the_console(console: Client) -> None:
    index = console.get("/admin/").content.decode()
    assert "Staff console" in index
    for page in (USERS, SESSIONS, ATTEMPTS, "/admin/axes/accessfailurelog/"):
        assert console.get(page).status_code == 200, page
    assert console.get(SESSIONS + "add/").status_code == 403


def test_the_user_list_searches_and_filters(console: Client, user: Any, outsider: Any) -> None:
    UserFactory(email="sleeper@example.com", is_active=False)
    page = console.get(USERS, {"q": "outsider"}).content.decode()
    assert "outsider@example.com" in page
    assert "owner@example.com" not in page
    page = console.get(USERS, {"is_active__exact": "0"}).content.decode()
    assert "sleeper@example.com" in page
    assert "owner@example.com" not in page


def test_the_user_list_shows_who_is_locked_out(console: Client, user: Any, outsider: Any) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "wrong password"}, format="json")
    page = console.get(USERS, {"locked": "yes"}).content.decode()
    assert "owner@example.com" in page
    assert "outsider@example.com" not in page


def test_the_deactivate_action_ends_sessions_and_is_recorded(
    console: Client, staff: Any, outsider: Any, outsider_client: APIClient
) -> None:
    response = action(console, USERS, "deactivate_users", outsider, staff)
    page = response.content.decode()
    assert "Deactivated 1 user(s)" in page
    assert "You cannot deactivate your own account." in page
    outsider.refresh_from_db()
    staff.refresh_from_db()
    assert (outsider.is_active, staff.is_active) == (False, True)
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    [event] = events(EventType.USER_DEACTIVATED)
    assert event.details == {"sessions_ended": 1}
    assert (event.actor, event.actor_email) == (staff, "staff@example.com")


def test_the_activate_action(console: Client, outsider: Any) -> None:
    User.objects.filter(pk=outsider.pk).update(is_active=False)
    assert "Activated 1 user(s)" in action(console, USERS, "activate_users", outsider).content.decode()
    outsider.refresh_from_db()
    assert outsider.is_active
    assert len(events(EventType.USER_ACTIVATED)) == 1


def test_the_unlock_action(console: Client, user: Any) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "wrong password"}, format="json")
    assert action(console, USERS, "unlock_users", user).status_code == 200
    assert not AccessAttempt.objects.exists()
    assert len(events(EventType.UNLOCKED)) == 1
    login = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200


def test_the_revoke_sessions_action(console: Client, outsider: Any, outsider_client: APIClient, login_as: Any) -> None:
    login_as(outsider)
    page = action(console, USERS, "revoke_sessions", outsider).content.decode()
    assert "Revoked 2 session(s) of 1 user(s)" in page
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    assert not Session.objects.filter(user=outsider, ended_at__isnull=True).exists()
    assert events(EventType.SESSION_REVOKED)[0].details["sessions_ended"] == 2


def test_the_user_page_lists_live_sessions_with_their_device(console: Client, outsider: Any) -> None:
    APIClient().post(
        "/api/v1/auth/login",
        {"email": outsider.email, "password": PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.23",
        HTTP_USER_AGENT="Firefox/140 on Linux",
    )
    page = console.get(f"{USERS}{outsider.pk}/change/").content.decode()
    assert "198.51.100.23" in page
    assert "Firefox/140 on Linux" in page


def _change_form(user: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "bio": user.bio,
        "avatar_url": user.avatar_url,
        "timezone": user.timezone,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "email_verified": "on" if user.email_verified else "",
        "_save": "Save",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _inline_prefixes(console: Client, user: Any) -> list[str]:
    """The formset prefixes of the page's inlines (live sessions, live API tokens), read from the page as a
    browser would post them."""
    page = console.get(f"{USERS}{user.pk}/change/").content.decode()
    prefixes = re.findall(r'name="([^"]+)-TOTAL_FORMS"', page)
    assert prefixes, page
    return prefixes


def post_change(console: Client, user: Any, **changes: Any) -> Any:
    data = _change_form(user, **changes)
    for prefix in _inline_prefixes(console, user):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return console.post(f"{USERS}{user.pk}/change/", data)


def test_editing_a_user_goes_through_the_services(console: Client, outsider: Any, outsider_client: Any) -> None:
    response = post_change(console, outsider, full_name="Otto Edited", is_active="", is_staff="on")
    assert response.status_code == 302, response.content.decode()[:2000]
    outsider.refresh_from_db()
    assert (outsider.full_name, outsider.is_active, outsider.is_staff) == ("Otto Edited", False, True)
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    kinds = set(Event.objects.values_list("event", flat=True))
    assert {EventType.USER_DEACTIVATED, EventType.STAFF_CHANGED, EventType.PROFILE_UPDATED} <= kinds


def test_the_email_is_stored_normalised(console: Client, outsider: Any) -> None:
    assert post_change(console, outsider, email="  Otto@Example.COM ").status_code == 302
    outsider.refresh_from_db()
    assert outsider.email == "otto@example.com"


def test_a_plain_staff_member_cannot_grant_superuser_in_the_form(console: Client, outsider: Any) -> None:
    post_change(console, outsider, is_superuser="on")
    outsider.refresh_from_db()
    assert not outsider.is_superuser


def test_staff_cannot_deactivate_or_demote_themselves_in_the_form(console: Client, staff: Any) -> None:
    response = post_change(console, staff, is_active="", is_staff="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "You cannot deactivate your own account." in page
    assert "You cannot remove your own staff status." in page
    staff.refresh_from_db()
    assert staff.is_active and staff.is_staff


def test_staff_who_are_not_superusers_cannot_grant_superuser(console: Client, staff: Any, outsider: Any) -> None:
    assert post_change(console, outsider, is_superuser="on").status_code == 302
    assert post_change(console, staff, is_superuser="on").status_code == 302
    outsider.refresh_from_db()
    staff.refresh_from_db()
    assert not outsider.is_superuser and not staff.is_superuser


def test_deleting_a_user_in_the_admin_is_recorded(console: Client, outsider: Any) -> None:
    response = console.post(f"{USERS}{outsider.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=outsider.pk).exists()
    [event] = events(EventType.ACCOUNT_DELETED)
    assert event.email == "outsider@example.com"


def test_staff_cannot_delete_themselves_in_the_admin(console: Client, staff: Any) -> None:
    assert console.post(f"{USERS}{staff.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=staff.pk).exists()


def test_adding_a_user_in_the_admin(console: Client) -> None:
    response = console.post(
        f"{USERS}add/",
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(email="new.person@example.com")
    assert created.check_password("a long enough passphrase")
    assert not created.is_staff
    [event] = events(EventType.ACCOUNT_CREATED)
    assert (event.user, event.actor_email) == (created, "staff@example.com")


def test_an_address_changed_in_the_admin_is_audited_with_its_actor(console: Client, outsider: Any) -> None:
    assert post_change(console, outsider, email="otto.new@example.com").status_code == 302
    outsider.refresh_from_db()
    assert outsider.email == "otto.new@example.com"
    [event] = events(EventType.PROFILE_UPDATED)
    assert (event.user, event.actor_email, event.details) == (outsider, "staff@example.com", {"fields": ["email"]})


def test_a_password_set_by_staff_ends_the_users_sessions(
    console: Client, outsider: Any, outsider_client: APIClient
) -> None:
    response = console.post(
        f"{USERS}{outsider.pk}/password/",
        {"password1": "another long passphrase", "password2": "another long passphrase", "usable_password": "true"},
    )
    assert response.status_code == 302
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    [event] = events(EventType.PASSWORD_CHANGED)
    assert event.details["sessions_ended"] == 1
    assert event.actor_email == "staff@example.com"
    outsider.refresh_from_db()
    assert outsider.check_password("another long passphrase")


def test_staff_can_turn_password_sign_in_off_and_it_ends_the_sessions(
    console: Client, outsider: Any, outsider_client: APIClient
) -> None:
    response = console.post(f"{USERS}{outsider.pk}/password/", {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302
    outsider.refresh_from_db()
    assert not outsider.has_usable_password()
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    assert (
        APIClient()
        .post("/api/v1/auth/login", {"email": outsider.email, "password": PASSWORD}, format="json")
        .status_code
        == 401
    )


def test_the_sessions_page_shows_devices_and_revokes(
    console: Client, outsider: Any, outsider_client: APIClient
) -> None:
    session = Session.objects.get(user=outsider)
    page = console.get(SESSIONS).content.decode()
    assert "outsider@example.com" in page
    assert session.ip_address is not None
    assert session.ip_address in page
    detail = console.get(f"{SESSIONS}{session.pk}/change/").content.decode()
    assert 'name="_save"' not in detail  # read-only
    assert session.refresh_jti not in detail
    response = action(console, SESSIONS, "revoke_selected", session)
    assert "Revoked 1 session(s)." in response.content.decode()
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    session.refresh_from_db()
    assert session.end_reason == "revoked"
    assert len(events(EventType.SESSION_REVOKED)) == 1
    assert console.get(SESSIONS, {"state": "ended"}).status_code == 200


def test_the_lockout_pages_unlock_accounts(console: Client, user: Any) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "wrong password"}, format="json")
    attempt = AccessAttempt.objects.get()
    assert "owner@example.com" in console.get(ATTEMPTS).content.decode()
    response = action(console, ATTEMPTS, "unlock_accounts", attempt)
    assert "Unlocked 1 account(s)." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert len(events(EventType.UNLOCKED)) == 1


# The admin's own login is behind the same lockout --------------------------------------------------------


def test_the_admin_login_locks_after_five_failures(staff: Any) -> None:
    for n in range(5):
        response = admin_login(staff.email, "wrong password")
        assert response.status_code == 200, n
        assert "Please enter the correct email and password" in response.content.decode()
    locked = admin_login(staff.email, PASSWORD)
    assert locked.status_code == 429
    assert 890 <= int(locked["Retry-After"]) <= 900
    page = locked.content.decode()
    assert "Account locked" in page
    assert "Taskdesk administration" in page
    assert len(events(EventType.LOCKED_OUT)) == 1
    assert admin_login(staff.email, PASSWORD, ip="198.51.100.8").status_code == 302


def test_admin_and_api_failures_count_together(staff: Any) -> None:
    for _ in range(3):
        APIClient().post(
            "/api/v1/auth/login", {"email": staff.email, "password": "x"}, format="json", REMOTE_ADDR="203.0.113.5"
        )
    for _ in range(2):
        admin_login(staff.email.upper(), "wrong password")
    assert admin_login(staff.email, PASSWORD).status_code == 429
    api = APIClient().post(
        "/api/v1/auth/login", {"email": staff.email, "password": PASSWORD}, format="json", REMOTE_ADDR="203.0.113.5"
    )
    assert api.status_code == 429
    assert api.json()["code"] == "account_locked"
