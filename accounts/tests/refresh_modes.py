"""The two ways a client holds its refresh token, for tests that must hold in both (SPEC 3b): in the body,
or, like a browser SPA with `X-Refresh-Mode: cookie`, in the HttpOnly `taskdesk_refresh` cookie."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from accounts.cookies import COOKIE_NAME
from accounts.tests.factories import PASSWORD

LOGIN_URL = "/api/v1/auth/login"
REFRESH_URL = "/api/v1/auth/refresh"
MODES = ["body", "cookie"]


class RefreshMode:
    """Signs in and refreshes in one mode; answers token bodies with `refresh` filled in either way (from the
    cookie in cookie mode, after checking it is not in the body), so a test reads the same in both."""

    def __init__(self, name: str) -> None:
        assert name in MODES
        self.name = name
        self.cookie = name == "cookie"

    def __repr__(self) -> str:
        return self.name

    @property
    def headers(self) -> dict[str, Any]:
        return {"HTTP_X_REFRESH_MODE": "cookie"} if self.cookie else {}

    def tokens(self, response: Any) -> dict[str, Any]:
        """The body of a response that carries tokens, with the refresh token wherever this mode puts it."""
        assert response.status_code in {200, 201}, response.content
        body = dict(response.json())
        if self.cookie:
            assert "refresh" not in body
            morsel = response.cookies[COOKIE_NAME]
            assert morsel["httponly"] and morsel["secure"]
            assert morsel["samesite"] == "Strict" and morsel["path"] == "/api/v1/auth/"
            body["refresh"] = morsel.value
        else:
            assert COOKIE_NAME not in response.cookies
        return body

    def login(self, user: Any, **extra: Any) -> dict[str, Any]:
        body = {"email": user.email, "password": PASSWORD}
        return self.tokens(APIClient().post(LOGIN_URL, body, format="json", **self.headers, **extra))

    def refresh(self, token: Any, client: APIClient | None = None) -> Any:
        """POST /auth/refresh presenting `token` as this mode does (a fresh client each time, unless given)."""
        client = client or APIClient()
        if self.cookie:
            client.cookies[COOKIE_NAME] = token
            return client.post(REFRESH_URL, **self.headers)
        return client.post(REFRESH_URL, {"refresh": token}, format="json")
