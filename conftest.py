"""Fixtures shared by every app's tests: users, clients that sign in through the real login endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from config.http import throttling
from config.jobs.worker import Worker

IS_POSTGRES = connection.vendor == "postgresql"
IS_REDIS = bool(settings.REDIS_URL)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (make test does in CI)")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://... (make test does in CI)")
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not IS_REDIS:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fresh_cache_and_fast_hashing(settings: Any) -> Any:
    # Throttle counters (and this process's leases of them) and lockouts must not leak from one test into the next.
    cache.clear()
    throttling.AnonRateThrottle.counter.forget()
    yield
    cache.clear()
    throttling.AnonRateThrottle.counter.forget()


@pytest.fixture
def run_jobs(db: Any) -> Callable[[], int]:
    """Runs the background jobs that are ready, in this process, as a worker would; answers how many ran.

    Jobs are never run by the request itself: a test that expects an email calls this after the request,
    as a worker beside the web process would pick the job up.
    """
    return Worker(worker_id="test-worker").run_pending


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory(email="owner@example.com", full_name="Olive Owner")


@pytest.fixture
def outsider(db: Any) -> Any:
    return UserFactory(email="outsider@example.com", full_name="Otto Outsider")


@pytest.fixture
def staff(db: Any) -> Any:
    return UserFactory(email="staff@example.com", full_name="Stella Staff", is_staff=True)


def login(client: APIClient, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def login_as() -> Callable[..., APIClient]:
    """A client signed in as the given user through the login endpoint."""

    def make(user: Any, **extra: Any) -> APIClient:
        client = APIClient()
        tokens = login(client, user.email, **extra)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        client.tokens = tokens  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def auth_client(user: Any, login_as: Callable[..., APIClient]) -> APIClient:
    return login_as(user)


@pytest.fixture
def staff_client(staff: Any, login_as: Callable[..., APIClient]) -> APIClient:
    return login_as(staff)


@pytest.fixture
def outsider_client(outsider: Any, login_as: Callable[..., APIClient]) -> APIClient:
    return login_as(outsider)


@pytest.fixture
def migrate(transactional_db: Any) -> Iterator[Callable[[tuple[str, str]], Any]]:
    """Moves an app to a migration (`migrate(("tasks", "0002_projects"))`) and returns the models as they were
    there; the database goes back to the latest migrations afterwards."""

    def to(target: tuple[str, str]) -> Any:
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        executor.loader.build_graph()
        return executor.loader.project_state([target]).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
