from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from config.http import health as checks
from config.http import metrics as prometheus
from config.http.middleware import json_error

Answer = TypeVar("Answer", bound=HttpResponse)


def _read_only(view: Callable[..., Answer]) -> Callable[..., Answer | JsonResponse]:
    """GET and HEAD only; any other method is a JSON 405 (not CSRF's HTML 403 for a POST).

    These views change nothing, so there is nothing for CSRF to protect.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> Answer | JsonResponse:
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


@_read_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text for every gunicorn worker; with METRICS_TOKEN set, only for `Bearer <METRICS_TOKEN>`."""
    expected = settings.METRICS_TOKEN
    if expected:
        scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            refused = json_error(401, "not_authenticated", "A metrics token is required: Authorization: Bearer.")
            refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refused
        # Constant time: how long a wrong guess takes says nothing about how much of it was right.
        if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
            return json_error(403, "permission_denied", "This metrics token is not valid.")
    response = HttpResponse(prometheus.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response


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
