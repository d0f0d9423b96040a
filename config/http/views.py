from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from config.http import health as checks
from config.http.middleware import json_error

View = Callable[..., JsonResponse]


def _read_only(view: View) -> View:
    """GET and HEAD only; any other method is a JSON 405 (not CSRF's HTML 403 for a POST).

    These views change nothing, so there is nothing for CSRF to protect.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
        if request.method not in {"GET", "HEAD"}:
            response = json_error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapper


@_read_only
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


@_read_only
def health_db(request: HttpRequest) -> JsonResponse:
    return _report(["db"])


@_read_only
def health_cache(request: HttpRequest) -> JsonResponse:
    return _report(["cache"])


@_read_only
def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, the cache answers, and every migration is applied."""
    return _report(["db", "cache", "migrations"])


@_read_only
def health_worker(request: HttpRequest) -> JsonResponse:
    """A background worker reported within the last 60 s (else jobs, emails included, are waiting)."""
    return _report(["worker"])


@csrf_exempt
def not_found(
    request: HttpRequest, exception: Exception | None = None, *args: object, **kwargs: object
) -> JsonResponse:
    # Exempt: as the catch-all route, a POST to an unknown URL would otherwise get CSRF's HTML 403.
    return json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error", "An unexpected error occurred.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "permission_denied", "You do not have permission to perform this action.")
