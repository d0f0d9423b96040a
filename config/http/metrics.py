"""Prometheus metrics: requests, latency and database queries per view, and the product's own counters.

Under gunicorn every worker writes its samples to files in `PROMETHEUS_MULTIPROC_DIR` (config/gunicorn.conf.py
makes that directory when the variable is unset), and a scrape answered by any worker reads every file: the
figures cover all workers, and a worker that died or was replaced keeps its counts. Without the variable
(runserver, tests, commands) the process's own registry is the whole story.

Apps count their events through the small functions below (`login_succeeded()`, ...), never through the
metric objects, so a name or a label changes in one place. Each counts only once the surrounding transaction
commits: a rolled-back login is no login.

Job-queue figures (jobs waiting, oldest wait, failures) come from whoever owns the queue: list a collector
in `settings.METRICS_COLLECTORS` (dotted paths to callables returning Prometheus metric families, or to
`prometheus_client` collectors) and every scrape calls it. It runs in the worker that answers the scrape, so
it should read shared state (the database), not process memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger("taskdesk.metrics")

# Buckets around the budget of a list request (a few ms) up to the gunicorn timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "taskdesk_http_requests", "HTTP requests answered, by view, method and status.", ["view", "method", "status"]
)
LATENCY = Histogram(
    "taskdesk_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response is built), by view and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERIES = Counter("taskdesk_db_queries", "Database queries run while answering a request, by view.", ["view"])
LOGINS = Counter(
    "taskdesk_logins",
    "Sign-ins by result: succeeded (login or registration opened a session), failed (wrong credentials), "
    "locked (refused unchecked because the account is locked for that address).",
    ["result"],
)
LOCKOUTS = Counter("taskdesk_lockouts", "Times failed logins locked an account for a client address.")
REFRESH_REUSE = Counter(
    "taskdesk_refresh_reuse_detected", "Already rotated refresh tokens presented again (their session was ended)."
)
SESSIONS_REVOKED = Counter(
    "taskdesk_sessions_revoked", "Sessions ended before they expired, by reason (logout, revoked, ...).", ["reason"]
)
REDIS_ERRORS = Counter(
    "taskdesk_redis_errors",
    "Redis calls that failed and were answered without Redis (rate limits fell back to per-process counts).",
    ["use"],
)

UNRESOLVED = "unresolved"
# Anything else a client sends as a method is folded, so a scanner cannot mint label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# The product's counters ---------------------------------------------------------------------------------


def _on_commit(count: Callable[[], None]) -> None:
    # Outside a transaction on_commit runs at once; inside, only if and when it commits.
    transaction.on_commit(count)


def login_succeeded() -> None:
    _on_commit(LOGINS.labels(result="succeeded").inc)


def login_failed(*, locked: bool = False) -> None:
    _on_commit(LOGINS.labels(result="locked" if locked else "failed").inc)


def locked_out() -> None:
    _on_commit(LOCKOUTS.inc)


def refresh_reuse_detected() -> None:
    _on_commit(REFRESH_REUSE.inc)


def sessions_revoked(*, reason: str, count: int = 1) -> None:
    if count > 0:
        _on_commit(lambda: SESSIONS_REVOKED.labels(reason=reason).inc(count))


def redis_error(*, use: str) -> None:
    REDIS_ERRORS.labels(use=use).inc()


# Requests and queries -------------------------------------------------------------------------------------

_queries = threading.local()


def _count_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    _queries.count = getattr(_queries, "count", 0) + 1
    return execute(sql, params, many, context)


def _install_query_counter(sender: Any, connection: Any, **kwargs: Any) -> None:
    # The wrapper list belongs to the connection wrapper, which outlives reconnections; add ours once, first,
    # so a `connection.execute_wrapper()` block that is open meanwhile still pops its own wrapper.
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _count_query)


connection_created.connect(_install_query_counter, dispatch_uid="taskdesk.metrics.count_queries")


class MetricsMiddleware:
    """Counts each request by view, method and status, its latency and its database queries.

    First in MIDDLEWARE, so it sees every answer, the other middleware's included. The per-request cost is
    two clock reads, a few dict lookups and three counter updates; children are cached by label values
    because `labels()` takes a lock and builds a key each time.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}
        self._queries: dict[str, Any] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        _queries.count = 0
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        view = match.view_name if match is not None else UNRESOLVED
        method = request.method if request.method in _METHODS else "other"
        key = (view, method, response.status_code)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = REQUESTS.labels(view, method, str(response.status_code))
        counter.inc()
        histogram = self._latency.get(key[:2])
        if histogram is None:
            histogram = self._latency[key[:2]] = LATENCY.labels(view, method)
        histogram.observe(elapsed)
        if _queries.count:
            queries = self._queries.get(view)
            if queries is None:
                queries = self._queries[view] = DB_QUERIES.labels(view)
            queries.inc(_queries.count)
        return response


# Exposition ---------------------------------------------------------------------------------------------


class _Hooks(Collector):
    """The collectors named in METRICS_COLLECTORS; one that fails is logged and skipped, never a failed scrape."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._hooks = [import_string(path) for path in paths]

    def collect(self) -> Iterable[Metric]:
        for hook in self._hooks:
            try:
                families = list(hook.collect() if hasattr(hook, "collect") else hook())
            except Exception:  # a scrape reports what it can
                logger.warning("metrics collector %r failed", hook, exc_info=True)
                continue
            yield from families


@cache
def _registry(multiprocess_dir: str, hooks: tuple[str, ...]) -> CollectorRegistry:
    if multiprocess_dir:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    if hooks:
        registry.register(_Hooks(hooks))
    return registry


class _Default(Collector):
    """The process's own registry (one process: runserver, tests), re-exposed beside the hooks."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition() -> bytes:
    """The Prometheus text of every worker's figures and of the hooks."""
    return generate_latest(_registry(settings.PROMETHEUS_MULTIPROC_DIR, tuple(settings.METRICS_COLLECTORS)))
