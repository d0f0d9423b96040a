"""The admin keeps sessions, CSRF and messages (BROWSER_MIDDLEWARE); API requests skip those layers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def csrf_token_of(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "the admin login form carries a CSRF token"
    return match.group(1)


def test_the_admin_login_refuses_a_post_without_its_csrf_token(staff: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/admin/login/", {"username": staff.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 403
    assert "sessionid" not in response.cookies


def test_the_admin_login_with_its_token_opens_a_session_that_the_next_page_reads(staff: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    assert "csrftoken" in page.cookies
    token = csrf_token_of(page.content.decode())
    response = browser.post(
        "/admin/login/",
        {"username": staff.email, "password": PASSWORD, "next": "/admin/", "csrfmiddlewaretoken": token},
    )
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert "sessionid" in response.cookies
    # The session is read back on the next request, and messages work (the logout confirmation page).
    home = browser.get("/admin/")
    assert home.status_code == 200
    assert staff.email in home.content.decode()


def test_an_api_request_neither_reads_nor_sets_a_session_cookie(user: Any, login_as: Any) -> None:
    api = login_as(user)
    # Even a browser's admin session cookie, sent along, does not sign in to the API.
    admin = Client()
    admin.force_login(user)
    api.cookies["sessionid"] = admin.cookies["sessionid"].value
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")
    anonymous = Client()
    anonymous.cookies["sessionid"] = admin.cookies["sessionid"].value
    assert anonymous.get("/api/v1/auth/me").status_code == 401
