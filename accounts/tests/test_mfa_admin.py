"""Staff see who has two-factor on and reset it for a user who lost their phone, through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, TotpDevice, User
from accounts.tests.factories import UserFactory
from accounts.tests.mfa_helpers import enroll, first_step
from audit.models import Event, EventType

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_clock", "many_logins")]

USERS = "/admin/accounts/user/"


def console_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reset(console: Client, *users: User) -> Any:
    return console.post(USERS, {"action": "reset_mfa", "_selected_action": [str(u.pk) for u in users]}, follow=True)


@pytest.fixture
def root(db: Any) -> User:
    return cast(User, UserFactory(email="root@example.com", is_staff=True, is_superuser=True))


def test_the_user_list_shows_and_filters_who_has_mfa_on(
    staff: User, user: User, outsider: User, auth_client: APIClient
) -> None:
    enroll(auth_client)
    console = console_for(staff)

    page = console.get(USERS).content.decode()
    assert "Two-factor sign-in" in page
    filtered = console.get(USERS, {"mfa_enabled__exact": "1"}).content.decode()
    assert user.email in filtered and outsider.email not in filtered
    assert console.get(f"{USERS}{user.pk}/change/").status_code == 200


def test_staff_reset_a_users_mfa_audited_as_the_staff_member(
    staff: User, user: User, auth_client: APIClient, run_jobs: Callable[[], int], mailoutbox: list[Any]
) -> None:
    enroll(auth_client)
    run_jobs()
    mailoutbox.clear()

    response = reset(console_for(staff), user)

    assert response.status_code == 200
    assert "Reset two-factor sign-in of 1 user(s)" in response.content.decode()
    user.refresh_from_db()
    assert not user.mfa_enabled
    assert not TotpDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert "access" in first_step(user.email).json()
    event = Event.objects.get(event=EventType.MFA_RESET_BY_STAFF)
    assert (event.user_id, event.actor_id) == (user.pk, staff.pk)
    # The user's sessions stay: a lost phone is no reason to sign them out.
    assert auth_client.get("/api/v1/auth/mfa").json() == {"totp_enabled": False, "recovery_codes_left": 0}
    run_jobs()
    assert [mail.subject for mail in mailoutbox] == ["Taskdesk: Two-factor sign-in was reset"]


def test_staff_cannot_reset_a_superusers_mfa(staff: User, root: User, login_as: Callable[..., APIClient]) -> None:
    enroll(login_as(root))

    response = reset(console_for(staff), root)

    assert "Only a superuser" in response.content.decode()
    root.refresh_from_db()
    assert root.mfa_enabled
    assert not Event.objects.filter(event=EventType.MFA_RESET_BY_STAFF).exists()
    refusal = Event.objects.get(event=EventType.STAFF_ACTION_REFUSED)
    assert refusal.details["action"] == "reset_mfa"


def test_a_superuser_can_reset_another_superusers_mfa(root: User, login_as: Callable[..., APIClient]) -> None:
    other: Any = UserFactory(email="root2@example.com", is_staff=True, is_superuser=True)
    enroll(login_as(other))

    reset(console_for(root), other)

    other.refresh_from_db()
    assert not other.mfa_enabled


def test_the_reset_skips_users_without_mfa(staff: User, user: User) -> None:
    response = reset(console_for(staff), user)

    assert "Reset two-factor sign-in of 0 user(s)" in response.content.decode()
    assert not Event.objects.filter(event=EventType.MFA_RESET_BY_STAFF).exists()
