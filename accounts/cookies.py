"""The cookie mode of browser SPAs: the refresh token in an HttpOnly cookie instead of the response body.

A request opts in with `X-Refresh-Mode: cookie`. Login, login/mfa, register and refresh then answer without
`refresh` in the body and set it as the `taskdesk_refresh` cookie (HttpOnly: no script reads it; Secure;
SameSite=Strict: no other site's page sends it; Path=/api/v1/auth/: sent to nothing but these endpoints).
Refresh and logout read the cookie only when the request carries the header too: a cross-site form can
send a cookie (were SameSite ever relaxed) but never a custom header, and a preflight for it is refused to
any origin outside CORS_ALLOWED_ORIGINS. Nothing else differs: the token in the cookie is the same refresh
token, rotated, reuse-checked and granted the same grace window as in the body.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.response import Response

from accounts.tokens import TokenPair

COOKIE_NAME = "taskdesk_refresh"
COOKIE_PATH = "/api/v1/auth/"
HEADER = "X-Refresh-Mode"
COOKIE_MODE = "cookie"


def requested(request: HttpRequest) -> bool:
    """Whether the request asks for the cookie mode (`X-Refresh-Mode: cookie`, any case)."""
    return request.headers.get(HEADER, "").strip().lower() == COOKIE_MODE


def refresh_from(request: HttpRequest) -> str | None:
    """The refresh token of the cookie, read only in cookie mode; None without the header or the cookie."""
    if not requested(request):
        return None
    return request.COOKIES.get(COOKIE_NAME) or None


def set_refresh(response: Response, pair: TokenPair) -> None:
    response.set_cookie(
        COOKIE_NAME,
        pair.refresh,
        max_age=pair.refresh_expires_in,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def clear_refresh(response: Response) -> None:
    # The same attributes as when it was set: a browser replaces a Secure cookie only with a Secure one.
    response.set_cookie(
        COOKIE_NAME,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )
