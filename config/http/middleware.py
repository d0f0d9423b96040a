"""Cross-cutting HTTP plumbing: request ids, the request log line, body size and database outages."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control

from config.http.errors import error_body
from config.http.exceptions import DB_RETRY_AFTER_SECONDS, UNAVAILABLE
from config.http.logging import request_id_var
from config.http.redact import redact_credentials

request_logger = logging.getLogger("taskdesk.request")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Handler = Callable[[HttpRequest], HttpResponse]


def json_error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(error_body(status, code, detail, request_id_var.get()), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class RequestIDMiddleware:
    """Takes a sane `X-Request-ID` from the client or makes one; echoes it and logs one line per request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        # fullmatch, not match: `$` also matches before a trailing newline, and echoing "id\n" back in a
        # header raises BadHeaderError (a 500 for a junk header).
        request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            # The path only (a query string may hold anything), and even that without credentials: a client
            # that put its token in the URL must not leave it in every log store downstream.
            path = redact_credentials(request.path)
            request_logger.info(
                "%s %s %s %.1fms user=%s",
                request.method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                getattr(user, "pk", None) or "-",
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": str(getattr(user, "pk", "") or ""),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class NulFreeHeadersMiddleware:
    """Drops NUL characters from request header values before anything reads them.

    PostgreSQL refuses NUL in text, and headers are stored: the user agent in sessions, audit events and the
    lockout's attempt rows (django-axes), the Accept header there too. A NUL is never meaningful in a header;
    left in, it made any write of the header a 500.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        for name, value in meta.items():
            if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                meta[name] = value.replace("\x00", "")
        return self.get_response(request)


class NoStoreForCredentialsMiddleware:
    """`Cache-Control: no-store` (and `Pragma: no-cache`) on every response to a request that carried credentials.

    Such a response is someone's own data (profile, sessions, audit events, users, tasks, exports) and must
    not sit in a browser's or a shared proxy's cache. Credentials are a bearer token or the admin's session
    cookie; deciding by the request's headers costs no query and no token check, so the hot paths stay as
    they are. A Cache-Control a view set already keeps its directives and gains no-store.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.session_cookie = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "HTTP_AUTHORIZATION" in request.META or self.session_cookie in request.COOKIES:
            current = response.get("Cache-Control")
            if current is None:
                response["Cache-Control"] = "no-store"
            elif "no-store" not in current:
                patch_cache_control(response, no_store=True)
            response["Pragma"] = "no-cache"
        return response


class BodySizeLimitMiddleware:
    """413 before reading a body whose declared length is over the limit."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return json_error(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """503 with Retry-After when the database (or Redis) cannot be reached outside DRF views (admin, health)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE):
            return json_error(
                503,
                "service_unavailable",
                "The service is temporarily unavailable; try again shortly.",
                {"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
            )
        return None
