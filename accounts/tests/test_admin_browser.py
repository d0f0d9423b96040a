"""The admin in a real browser: headless Chromium (Debian's package) driven by Playwright.

Staff sign in with their email, find a user, run the "Revoke all sessions" action and see its result, on
the page and in the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import Event, EventType

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp/taskdesk-browser"))

# Playwright's sync API keeps an event loop running on this thread; the ORM calls between browser steps
# are plain synchronous test code, not async code misusing the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements-dev.txt)")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
    ),
]


@pytest.fixture
def page() -> Any:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
            # Inside sync_playwright the test runs in another context, so the ORM opened its own connection
            # there; close it, or PostgreSQL refuses to drop the test database at the end of the run.
            connections.close_all()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_staff_revoke_a_users_sessions_in_the_admin(live_server: Any, page: Any) -> None:
    staff = cast(User, UserFactory(email="staff@example.com", full_name="Stella Staff", is_staff=True))
    target = cast(User, UserFactory(email="outsider@example.com", full_name="Otto Outsider"))
    UserFactory(email="bystander@example.com", full_name="Betty Bystander")
    for agent in ("Firefox on a laptop", "Safari on a phone"):
        login = APIClient().post(
            "/api/v1/auth/login",
            {"email": target.email, "password": PASSWORD},
            format="json",
            HTTP_USER_AGENT=agent,
        )
        assert login.status_code == 200
    access = login.json()["access"]

    # Sign in with the email.
    page.goto(f"{live_server.url}/admin/")
    assert "Taskdesk administration" in page.title()
    assert page.locator("label[for=id_username]").inner_text().strip() == "Email:"
    page.fill("#id_username", "Staff@Example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Staff console" in page.content()
    assert page.locator("#site-name").inner_text().strip() == "Taskdesk administration"

    # Find the user.
    page.click("text=Users")
    page.fill("#searchbar", "outsider")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "outsider@example.com" in rows.first.inner_text()

    # Their devices are on their page.
    page.click("#result_list tbody tr a")
    page.wait_for_selector("text=Safari on a phone")
    assert "Firefox on a laptop" in page.content()
    shot(page, "user-before-revoke")
    page.go_back()
    page.wait_for_selector("#result_list")

    # Run the action.
    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", "revoke_sessions")
    page.click("button[name=index]")
    message = page.wait_for_selector(".messagelist .success")
    assert message.inner_text().strip() == "Revoked 2 session(s) of 1 user(s)."
    shot(page, "after-revoke")

    # The page and the database agree.
    page.click("#result_list tbody tr a")
    page.wait_for_selector("#user_form")
    assert "Safari on a phone" not in page.content()
    assert not Session.objects.filter(user=target, ended_at__isnull=True).exists()
    assert set(Session.objects.filter(user=target).values_list("end_reason", flat=True)) == {"revoked"}
    event = Event.objects.get(event=EventType.SESSION_REVOKED, user=target)
    assert event.actor == staff
    assert event.details["sessions_ended"] == 2
    # And the revoked tokens are dead.
    me = APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert me.status_code == 401


def test_a_locked_out_staff_member_sees_the_lockout_page(live_server: Any, page: Any) -> None:
    UserFactory(email="staff@example.com", is_staff=True)
    page.goto(f"{live_server.url}/admin/login/")
    for _ in range(5):
        page.fill("#id_username", "staff@example.com")
        page.fill("#id_password", "not the password")
        page.click("input[type=submit]")
        page.wait_for_selector(".errornote")
    page.fill("#id_username", "staff@example.com")
    page.fill("#id_password", PASSWORD)
    with page.expect_response(lambda response: response.url.endswith("/admin/login/")) as answer:
        page.click("input[type=submit]")
    assert answer.value.status == 429
    page.wait_for_selector("h1")
    assert page.locator("#content h1").inner_text().strip() == "Account locked"
    shot(page, "locked-out")
