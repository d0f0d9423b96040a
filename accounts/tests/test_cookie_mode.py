"""The cookie mode of browser SPAs (`X-Refresh-Mode: cookie`), driven like a browser: a cookie jar, the header,
and the CORS preflight that guards it. The rotation rules in both modes are in test_tokens.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.cookies import COOKIE_NAME
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import LOGIN_MFA, enroll, totp_code
from accounts.tests.refresh_modes import RefreshMode
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

COOKIE: dict[str, Any] = {"HTTP_X_REFRESH_MODE": "cookie"}
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
SPA = "http://localhost:3000"


def browser_login(user: User) -> tuple[APIClient, dict[str, Any]]:
    """A browser tab: signs in in cookie mode; the jar keeps the cookie, the SPA keeps the access token."""
    browser = APIClient()
    response = browser.post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json", **COOKIE)
    assert response.status_code == 200, response.content
    return browser, response.json()


def cookie_of(response: Any) -> Any:
    return response.cookies[COOKIE_NAME]


def sessions_live(user: User) -> int:
    return Session.objects.live().filter(user=user).count()


def test_login_sets_the_refresh_token_as_a_strict_http_only_cookie_and_leaves_it_out_of_the_body(
    user: User, settings: Any
) -> None:
    response = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json", **COOKIE)

    assert response.status_code == 200
    assert set(response.json()) == {"user", "access", "token_type", "expires_in"}
    assert response["Cache-Control"] == "no-store"
    header = response.cookies[COOKIE_NAME].output()
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth/"):
        assert attribute in header, header
    assert cookie_of(response)["max-age"] == settings.REFRESH_TOKEN_DAYS * 24 * 3600
    assert cookie_of(response).value.count(".") == 2  # the JWT itself


def test_without_the_header_nothing_changes(user: User) -> None:
    response = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json")

    assert "refresh" in response.json()
    assert COOKIE_NAME not in response.cookies


@pytest.mark.parametrize("value", ["Cookie", " cookie ", "COOKIE"])
def test_the_header_value_is_read_in_any_case(user: User, value: str) -> None:
    response = APIClient().post(
        LOGIN, {"email": user.email, "password": PASSWORD}, format="json", HTTP_X_REFRESH_MODE=value
    )
    assert "refresh" not in response.json() and COOKIE_NAME in response.cookies


def test_register_in_cookie_mode(db: Any) -> None:
    body = {"email": "new@example.com", "password": "quiet lantern over the harbour"}
    response = APIClient().post("/api/v1/auth/register", body, format="json", **COOKIE)

    assert response.status_code == 201
    assert "refresh" not in response.json()
    assert RefreshMode("cookie").refresh(cookie_of(response).value).status_code == 200


def test_login_mfa_in_cookie_mode(
    mfa_clock: Any, many_logins: Any, user: User, login_as: Callable[..., APIClient]
) -> None:
    secret, _ = enroll(login_as(user))
    mfa_clock.shift(30)
    first = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json", **COOKIE)
    assert first.json()["mfa_required"] is True
    assert COOKIE_NAME not in first.cookies  # no session yet, so no refresh token

    second = APIClient().post(
        LOGIN_MFA, {"mfa_token": first.json()["mfa_token"], "code": totp_code(secret)}, format="json", **COOKIE
    )

    assert second.status_code == 200, second.content
    assert "refresh" not in second.json()
    assert RefreshMode("cookie").refresh(cookie_of(second).value).status_code == 200


def test_a_browser_refreshes_from_its_jar_and_logout_clears_it(user: User) -> None:
    browser, _ = browser_login(user)
    first_cookie = browser.cookies[COOKIE_NAME].value

    refreshed = browser.post(REFRESH, **COOKIE)

    assert refreshed.status_code == 200, refreshed.content
    assert set(refreshed.json()) == {"access", "token_type", "expires_in"}
    assert browser.cookies[COOKIE_NAME].value != first_cookie  # rotated, and the jar holds the new one
    assert browser.post(REFRESH, **COOKIE).status_code == 200

    access = refreshed.json()["access"]
    logout = browser.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {access}", **COOKIE)

    assert logout.status_code == 204
    cleared = cookie_of(logout)
    assert cleared.value == "" and cleared["max-age"] == 0 and cleared["path"] == "/api/v1/auth/"
    assert sessions_live(user) == 0
    assert_error(browser.post(REFRESH, **COOKIE), 401, "not_authenticated")  # the jar dropped it


def test_refresh_without_the_header_does_not_read_the_cookie(user: User) -> None:
    browser, _ = browser_login(user)

    # As a cross-site form would post it: the cookie, no custom header, no body.
    assert_error(browser.post(REFRESH), 400, "validation_error")
    assert_error(browser.post(REFRESH, {}, format="json"), 400, "validation_error")

    # Nothing was rotated or ended: the SPA goes on.
    assert browser.post(REFRESH, **COOKIE).status_code == 200
    assert not Event.objects.filter(event=EventType.REFRESH_REUSE_DETECTED).exists()


def test_refresh_with_the_header_and_no_cookie_is_a_401(api_client: APIClient) -> None:
    assert_error(api_client.post(REFRESH, **COOKIE), 401, "not_authenticated")
    # A refresh token in the body is not read in cookie mode either.
    assert_error(api_client.post(REFRESH, {"refresh": "x"}, format="json", **COOKIE), 401, "not_authenticated")


def test_a_cookie_of_a_session_that_logged_out_is_refused(user: User) -> None:
    browser, body = browser_login(user)
    kept = browser.cookies[COOKIE_NAME].value
    assert browser.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {body['access']}", **COOKIE).status_code == 204

    replay = APIClient()
    replay.cookies[COOKIE_NAME] = kept

    assert_error(replay.post(REFRESH, **COOKIE), 401, "token_invalid")


def test_logout_in_cookie_mode_ends_the_cookies_session_too(user: User, outsider: User) -> None:
    _, tab = browser_login(user)
    other_browser, _ = browser_login(user)
    theirs, _ = browser_login(outsider)

    # The access token of one session, the cookie of another: both presented, both end.
    client = APIClient()
    client.cookies[COOKIE_NAME] = other_browser.cookies[COOKIE_NAME].value
    assert client.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {tab['access']}", **COOKIE).status_code == 204
    assert sessions_live(user) == 0

    # Another user's cookie ends nothing of theirs.
    _, again = browser_login(user)
    client.cookies[COOKIE_NAME] = theirs.cookies[COOKIE_NAME].value
    assert client.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {again['access']}", **COOKIE).status_code == 204
    assert sessions_live(outsider) == 1


def test_logout_without_the_header_ignores_the_cookie_but_still_clears_it(user: User) -> None:
    browser, tab = browser_login(user)
    other_browser, _ = browser_login(user)
    browser.cookies[COOKIE_NAME] = other_browser.cookies[COOKIE_NAME].value

    response = browser.post(LOGOUT, HTTP_AUTHORIZATION=f"Bearer {tab['access']}")

    assert response.status_code == 204
    assert cookie_of(response)["max-age"] == 0
    assert sessions_live(user) == 1  # the cookie's session was not read, so it lives
    assert other_browser.post(REFRESH, **COOKIE).status_code == 200


# CORS: the header and the cookie cross origins only for the configured SPA -----------------------------------


def preflight(origin: str) -> Any:
    return APIClient().options(
        REFRESH,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-refresh-mode",
    )


def test_a_preflight_from_the_configured_origin_may_send_the_header_with_credentials(db: Any) -> None:
    response = preflight(SPA)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SPA
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"x-refresh-mode", "content-type", "authorization"} <= allowed


def test_a_preflight_from_a_foreign_origin_gets_no_cors_grant(db: Any) -> None:
    response = preflight("https://evil.example")

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response
    assert "Access-Control-Allow-Headers" not in response


def test_the_refresh_answer_to_the_spa_allows_credentials_and_to_others_not(user: User) -> None:
    browser, _ = browser_login(user)
    spa = browser.post(REFRESH, HTTP_ORIGIN=SPA, **COOKIE)
    assert spa.status_code == 200
    assert spa["Access-Control-Allow-Origin"] == SPA and spa["Access-Control-Allow-Credentials"] == "true"

    foreign = browser.post(REFRESH, HTTP_ORIGIN="https://evil.example", **COOKIE)
    # The server cannot stop the request; the browser keeps the answer from the foreign page (no grant).
    assert "Access-Control-Allow-Origin" not in foreign
