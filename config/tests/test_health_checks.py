from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from config.http import health

pytestmark = pytest.mark.django_db


def test_it_reports_the_database_healthy_with_its_latency(api_client: Any) -> None:
    response = api_client.get("/health/db")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["db"]["status"] == "ok"
    assert body["checks"]["db"]["latency_ms"] >= 0


def test_it_reports_the_cache_healthy(api_client: Any) -> None:
    response = api_client.get("/health/cache")
    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["status"] == "ok"


def test_ready_checks_database_cache_and_migrations(api_client: Any) -> None:
    response = api_client.get("/health/ready")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"db", "cache", "migrations"}


def test_ready_answers_503_with_retry_after_when_the_database_is_down(
    api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "db", unreachable)
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["db"] == {
        "status": "error",
        "latency_ms": body["checks"]["db"]["latency_ms"],
        "error": "OperationalError",
    }
    assert body["checks"]["cache"]["status"] == "ok"


def test_ready_answers_503_when_a_migration_is_not_applied(api_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class PendingExecutor:
        def __init__(self, connection: Any) -> None:
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets: Any) -> list[str]:
            return ["tasks.9999_future"]

    monkeypatch.setattr(health, "MigrationExecutor", PendingExecutor)
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["status"] == "error"
