"""Health checks for load balancers and orchestrators: each answers 200 or 503 with per-check detail."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from config.jobs.models import WorkerHeartbeat


def _timed(check: Callable[[], dict[str, object] | None]) -> dict[str, object]:
    started = time.perf_counter()
    details: dict[str, object] = {}
    try:
        details = check() or {}
        status, error = "ok", None
    except Exception as exc:  # a health check reports every failure instead of raising it
        status, error = "error", exc.__class__.__name__
    result: dict[str, object] = {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if error:
        result["error"] = error
    return {**result, **details}


def check_db() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def check_migrations() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("unapplied migrations")


WORKER_SILENCE_SECONDS = 60


class NoWorker(Exception):
    """No background worker reported within the last minute: jobs (emails, maintenance) wait."""


def check_worker() -> dict[str, object]:
    cutoff = timezone.now() - timedelta(seconds=WORKER_SILENCE_SECONDS)
    live = WorkerHeartbeat.objects.filter(seen_at__gte=cutoff)
    workers = live.count()
    if not workers:
        raise NoWorker
    last = live.order_by("-seen_at").values_list("seen_at", flat=True)[0]
    return {"workers": workers, "last_seen_seconds_ago": round((timezone.now() - last).total_seconds(), 1)}


CHECKS: dict[str, Callable[[], dict[str, object] | None]] = {
    "db": check_db,
    "cache": check_cache,
    "migrations": check_migrations,
    "worker": check_worker,
}


def run(names: list[str]) -> tuple[bool, dict[str, dict[str, object]]]:
    results = {name: _timed(CHECKS[name]) for name in names}
    return all(result["status"] == "ok" for result in results.values()), results
