"""An admin sign-in ends after an idle hour, 12 hours after sign-in however busy, and with the browser
(ASVS 5.0 7.3.1, 7.3.2); its cookie is out of reach of scripts and of other sites' forms (3.3.2, 3.3.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def signed_in(staff: User) -> tuple[Client, Any]:
    client = Client()
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    return client, response.cookies["sessionid"]


def assert_signed_in(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Staff console" in response.content.decode()


def assert_signed_out(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_cookie_is_http_only_same_site_and_dies_with_the_browser(staff: User) -> None:
    _, cookie = signed_in(staff)

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def test_an_idle_hour_signs_the_admin_out(staff: User, time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    client, _ = signed_in(staff)
    assert_signed_in(client)

    time_machine.shift(timedelta(minutes=59))
    assert_signed_in(client)  # each request re-arms the hour
    time_machine.shift(timedelta(minutes=59))
    assert_signed_in(client)

    time_machine.shift(timedelta(minutes=61))
    assert_signed_out(client)


def test_a_busy_admin_session_still_ends_twelve_hours_after_sign_in(staff: User, time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    client, _ = signed_in(staff)
    assert_signed_in(client)

    # A request every 50 minutes: never idle for an hour, so only the 12-hour bound can end it.
    elapsed = timedelta()
    while elapsed + timedelta(minutes=50) < timedelta(hours=12):
        time_machine.shift(timedelta(minutes=50))
        elapsed += timedelta(minutes=50)
        assert_signed_in(client)

    time_machine.shift(timedelta(hours=12) - elapsed)
    assert_signed_out(client)
    # Signing in again opens a fresh 12 hours.
    client, _ = signed_in(staff)
    assert_signed_in(client)


def test_a_request_without_the_admin_cookie_leaves_the_session_alone(auth_client: Any) -> None:
    # Reading the session (even to find it empty) would add `Vary: Cookie` to every API answer.
    for response in (Client().get("/health"), auth_client.get("/api/v1/auth/me")):
        assert response.status_code == 200
        assert "sessionid" not in response.cookies
        assert "Cookie" not in response.get("Vary", "")
