"""The one exception handler: every error, DRF's, Django's or ours, leaves in the SPEC's shape."""

from __future__ import annotations

import logging
from typing import Any, cast

import sentry_sdk
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from config.http.errors import ApplicationError, error_body
from config.http.logging import request_id_var

logger = logging.getLogger("taskdesk.errors")

DB_RETRY_AFTER_SECONDS = 5
# A backing service that cannot be reached: the database, or Redis where a caller did not fall back. The
# answer is 503 with Retry-After, never a 500: nothing is wrong with the request, it can be sent again.
UNAVAILABLE = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

# DRF's own codes, renamed to the SPEC's vocabulary.
_CODES = {
    "invalid": "validation_error",
    "parse_error": "parse_error",
    "authentication_failed": "token_invalid",
    "not_authenticated": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "throttled",
}


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's ErrorDetail tree in the SPEC's one shape, `{field: [messages]}`, whatever its depth.

    A nested object's fields are named by their path (`fields.status`); an error of a list item stays on the
    list's field and says which item (`tags`: ["Item 2: Ensure this field has no more than 50 characters."]).
    """
    errors: dict[str, list[str]] = {}

    def walk(node: Any, field: str, item: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if field and (isinstance(key, int) or str(key).isdigit()):  # a ListField's errors by index
                    walk(value, field, f"{item}Item {key}: ")
                else:
                    walk(value, f"{field}.{key}" if field else str(key), item)
        elif isinstance(node, list):
            many = bool(node) and all(isinstance(entry, dict) for entry in node)  # a list of objects
            for index, entry in enumerate(node):
                if entry:
                    walk(entry, field, f"{item}Item {index}: " if many else item)
        else:
            errors.setdefault(field or "non_field_errors", []).append(f"{item}{node}")

    walk(detail, "", "")
    return errors


def _json(status: int, code: str, detail: Any, errors: Any = None, headers: dict[str, str] | None = None) -> Response:
    response = Response(error_body(status, code, detail, request_id_var.get(), errors), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _service(exc: Exception) -> str:
    return "redis" if isinstance(exc, (RedisConnectionError, RedisTimeoutError)) else "database"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ApplicationError):
        return _json(exc.status_code, exc.code, exc.detail, exc.errors, exc.headers)
    if isinstance(exc, Http404):
        return _json(404, "not_found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return _json(403, "permission_denied", "You do not have permission to perform this action.")
    if isinstance(exc, RequestDataTooBig):
        return _json(413, "payload_too_large", "The request body is too large.")
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return _json(400, "validation_error", "Invalid input.", _flatten(detail))
    if isinstance(exc, drf.APIException):
        headers: dict[str, str] = {}
        # Throttled.__init__ sets `wait`; the DRF stubs do not declare it.
        wait = cast("float | None", getattr(exc, "wait", None)) if isinstance(exc, drf.Throttled) else None
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message: object = exc.detail if not isinstance(exc.detail, (dict, list)) else exc.default_detail
        if isinstance(exc, drf.Throttled):
            message = "Too many requests; try again later."
        return _json(exc.status_code, _CODES.get(code, code), message, headers=headers)
    if isinstance(exc, UNAVAILABLE):
        logger.warning("%s unavailable: %s", _service(exc), exc.__class__.__name__)
        return _json(
            503,
            "service_unavailable",
            "The service is temporarily unavailable; try again shortly.",
            headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
        )
    # Unexpected: reported to Sentry when SENTRY_DSN is set (a no-op otherwise), and logged.
    sentry_sdk.capture_exception(exc)
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return _json(500, "server_error", "An unexpected error occurred.")
