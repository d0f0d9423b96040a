from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.middleware import json_error


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: answers without touching the database or the cache."""
    return JsonResponse({"status": "ok"})


def not_found(
    request: HttpRequest, exception: Exception | None = None, *args: object, **kwargs: object
) -> JsonResponse:
    return json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error", "An unexpected error occurred.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "permission_denied", "You do not have permission to perform this action.")
