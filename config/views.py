from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config import health as checks
from config.middleware import json_error


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: answers without touching the database or the cache."""
    return JsonResponse({"status": "ok"})


def _report(names: list[str]) -> JsonResponse:
    healthy, results = checks.run(names)
    response = JsonResponse({"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    if not healthy:
        response["Retry-After"] = "5"
    return response


def health_db(request: HttpRequest) -> JsonResponse:
    return _report(["db"])


def health_cache(request: HttpRequest) -> JsonResponse:
    return _report(["cache"])


def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, the cache answers, and every migration is applied."""
    return _report(["db", "cache", "migrations"])


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
