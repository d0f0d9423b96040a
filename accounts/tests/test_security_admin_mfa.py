"""The admin's sign-in asks staff who turned two-factor on for their code, as the API does (ASVS 5.0 6.3.3:
every way in enforces the same strength), spends it once, and counts wrong codes toward the same lockout."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import enroll, mfa_token_for, second_step, totp_code
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.9"


@pytest.fixture
def enrolled_staff(mfa_clock: Any, staff: User, login_as: Callable[..., APIClient]) -> tuple[str, list[str]]:
    """Staff with TOTP on (enrolled at T0); the clock then moves on one step so the next code is new."""
    secret, codes = enroll(login_as(staff))
    mfa_clock.shift(timedelta(seconds=30))
    return secret, codes


def admin_sign_in(client: Client, email: str, password: str = PASSWORD, code: str | None = None) -> Any:
    form = {"username": email, "password": password, "next": "/admin/"}
    if code is not None:
        form["code"] = code
    return client.post("/admin/login/", form)


def is_signed_in(client: Client) -> bool:
    return bool(client.get("/admin/").status_code == 200)


def test_the_password_alone_does_not_open_the_admin_to_staff_with_two_factor_on(
    enrolled_staff: Any, staff: User
) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)

    response = admin_sign_in(client, staff.email)

    assert response.status_code == 200
    assert "Enter the code from your authenticator app" in response.content.decode()
    assert not is_signed_in(client)
    assert not Event.objects.filter(user=staff, event=EventType.MFA_FAILED).exists()


def test_the_right_code_opens_the_admin_once(enrolled_staff: Any, staff: User) -> None:
    secret, _ = enrolled_staff
    client = Client(REMOTE_ADDR=ADDRESS)
    code = totp_code(secret)

    response = admin_sign_in(client, staff.email, code=code)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert is_signed_in(client)
    passed = Event.objects.get(user=staff, event=EventType.MFA_CHALLENGE_PASSED)
    assert passed.details == {"method": "totp", "via": "admin"}
    # The code is spent: neither the admin nor the API takes it again.
    again = Client(REMOTE_ADDR=ADDRESS)
    assert admin_sign_in(again, staff.email, code=code).status_code == 200
    assert not is_signed_in(again)
    assert_error(second_step(mfa_token_for(staff.email), code), 401, "mfa_invalid")


def test_a_recovery_code_opens_the_admin_once(enrolled_staff: Any, staff: User) -> None:
    _, codes = enrolled_staff
    client = Client(REMOTE_ADDR=ADDRESS)

    assert admin_sign_in(client, staff.email, code=codes[0].upper()).status_code == 302
    assert is_signed_in(client)
    assert Event.objects.get(user=staff, event=EventType.RECOVERY_CODE_USED).details == {"left": 9}
    assert admin_sign_in(Client(REMOTE_ADDR=ADDRESS), staff.email, code=codes[0]).status_code == 200


def test_wrong_codes_count_toward_the_lockout_shared_with_the_api(
    enrolled_staff: Any, staff: User, settings: Any
) -> None:
    secret, _ = enrolled_staff
    client = Client(REMOTE_ADDR=ADDRESS)

    for attempt in range(settings.LOCKOUT_FAILURES):
        response = admin_sign_in(client, staff.email, code="000000" if attempt % 2 else "not a code")
        assert response.status_code == 200, attempt
        assert "incorrect, expired or already used" in response.content.decode()
    assert Event.objects.filter(user=staff, event=EventType.MFA_FAILED).count() == settings.LOCKOUT_FAILURES

    # Locked for this address now, in the admin (even with the right code) and in the API alike.
    locked = admin_sign_in(client, staff.email, code=totp_code(secret))
    assert locked.status_code == 429
    assert not is_signed_in(client)
    assert_error(
        APIClient().post(
            "/api/v1/auth/login", {"email": staff.email, "password": PASSWORD}, format="json", REMOTE_ADDR=ADDRESS
        ),
        429,
        "account_locked",
    )


def test_staff_without_two_factor_still_sign_in_with_the_password(staff: User) -> None:
    client = Client(REMOTE_ADDR=ADDRESS)

    assert admin_sign_in(client, staff.email).status_code == 302
    assert is_signed_in(client)


def test_the_sign_in_page_masks_the_password_and_lets_managers_fill_it(db: Any) -> None:
    page = Client().get("/admin/login/").content.decode()

    assert re.search(r'<input type="password" name="password"[^>]*autocomplete="current-password"', page)
    assert re.search(r'<input type="text" name="code"[^>]*autocomplete="one-time-code"', page)
    assert "onpaste" not in page  # nothing stops pasting from a password manager
