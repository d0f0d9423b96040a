"""Browser-facing hardening: a Content-Security-Policy on every response, and the API over HTTPS only.

Content-Security-Policy: a locked-down one for the API, a page one for the HTML.

The API answers JSON (and CSV, Prometheus text): nothing in it is ever meant to run, load or be framed, so
its policy forbids everything (`default-src 'none'`). Should a browser be tricked into rendering an API answer
as a document (a task title holding markup, an export opened in a tab), no script or plugin in it runs.

The HTML pages (the admin, Swagger UI, ReDoc, the lockout page) load only what this server serves: scripts
from `'self'` or an inline script carrying this response's nonce (Swagger UI's start-up script,
templates/drf_spectacular/swagger_ui.html), no plugin, no `<base>`, no framing by another site. Styles may be
inline (the admin's `style=` attributes, ReDoc's generated styles), and ReDoc's search runs in a `blob:`
worker. Forms post only back here.

A view that set its own Content-Security-Policy keeps it. X-Content-Type-Options, Referrer-Policy,
Cross-Origin-Opener-Policy and, in production over HTTPS, Strict-Transport-Security come from Django's
SecurityMiddleware, which sits next to this one (config/settings.py MIDDLEWARE).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.http.middleware import json_error

API_POLICY = "default-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"


def page_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # 128 bits, new for every request: a nonce an attacker could predict would let their script in.
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            is_page = response.get("Content-Type", "").lower().startswith("text/html")
            response["Content-Security-Policy"] = page_policy(nonce) if is_page else API_POLICY
        return response


class HttpsOnlyApiMiddleware:
    """In production (SECURE_SSL_REDIRECT on), the API refuses plain HTTP instead of redirecting it.

    A redirect would hide a client configured with an `http://` base URL: its token or password has already
    crossed the network in clear, and a browser or HTTP library follows the 301 without telling anyone. A
    403 `https_required` makes the mistake show at once (ASVS 5.0 4.1.2). Pages for people (the admin, the
    API docs) are still redirected by SecurityMiddleware; settings.API_PATHS are exempt from that redirect.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.api_paths = re.compile(settings.API_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SECURE_SSL_REDIRECT and not request.is_secure() and self.api_paths.match(request.path.lstrip("/")):
            return json_error(
                403, "https_required", "The API is served over HTTPS only; send this request to its https:// URL."
            )
        return self.get_response(request)
