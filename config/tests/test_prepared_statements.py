"""Prepared statements on PostgreSQL (config/db/postgresql): the fixed statements of the hottest requests are
planned once per connection, with one generic plan, and answer exactly as unprepared statements do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.postgres


def prepared() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: their SQL -> (generic plans, custom plans) used so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement: (generic, custom) for statement, generic, custom in cursor.fetchall()}


def the_one(statements: dict[str, tuple[int, int]], marker: str) -> tuple[int, int]:
    found = [plans for statement, plans in statements.items() if marker in statement]
    assert len(found) == 1, statements.keys()
    return found[0]


@pytest.fixture
def seen(user: Any) -> list[int]:
    """Tasks the user sees: two pages of them."""
    return [TaskFactory(owner=user).pk for _ in range(25)]


def test_the_list_detail_and_session_statements_are_planned_once_per_connection(
    auth_client: APIClient, seen: list[int]
) -> None:
    for _ in range(3):
        assert auth_client.get("/api/v1/tasks/").status_code == 200
        assert auth_client.get(f"/api/v1/tasks/{seen[0]}").status_code == 200
    statements = prepared()
    # One statement each (the session checked inside it), whatever the values: executed with the one generic
    # plan, never planned again.
    list_plans = the_one(statements, "tasks_tally")
    detail_plans = the_one(statements, "found.*")
    assert list_plans[0] >= 3 and list_plans[1] == 0
    assert detail_plans[0] >= 3 and detail_plans[1] == 0
    # Another kind of request: the session's own statement, prepared the same way.
    assert auth_client.get("/api/v1/auth/me").status_code == 200
    assert auth_client.get("/api/v1/auth/me").status_code == 200
    statements = prepared()
    own = [plans for statement, plans in statements.items() if statement.startswith('SELECT "accounts_session"')]
    assert len(own) == 1 and own[0][1] == 0
    # Another page, another user's id: the same statement again.
    assert auth_client.get("/api/v1/tasks/?page=2").json()["count"] == 25
    assert len(prepared()) == len(statements)


def test_prepared_and_unprepared_statements_answer_the_same(
    auth_client: APIClient, seen: list[int], settings: Any
) -> None:
    paths = ["/api/v1/tasks/", "/api/v1/tasks/?page=2", f"/api/v1/tasks/{seen[3]}", "/api/v1/tasks/999999"]
    paths.append("/api/v1/auth/me")

    def answers() -> list[tuple[int, Any]]:
        got = [auth_client.get(path) for path in paths]
        return [(answer.status_code, {**answer.json(), "request_id": None}) for answer in got]

    settings.DATABASE_PREPARED_STATEMENTS = False
    before = len(prepared())
    plain = answers()
    assert len(prepared()) == before  # nothing prepared while turned off
    settings.DATABASE_PREPARED_STATEMENTS = True
    fast = answers()
    assert fast == plain
    assert [status for status, _ in fast] == [200, 200, 200, 404, 200]
    assert len(prepared()) > before


def test_the_query_log_shows_a_prepared_statement_with_its_values(auth_client: APIClient, seen: list[int]) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert auth_client.get(f"/api/v1/tasks/{seen[1]}").status_code == 200
    logged = [query["sql"] for query in queries.captured_queries]
    assert all(logged), logged
    assert any(f"= {seen[1]}" in sql and "tasks_task" in sql for sql in logged), logged


def test_a_revoked_session_is_refused_by_the_prepared_session_statement(
    auth_client: APIClient, seen: list[int]
) -> None:
    assert auth_client.get("/api/v1/tasks/").status_code == 200
    assert auth_client.post("/api/v1/auth/logout/all").status_code == 204
    answer = auth_client.get("/api/v1/tasks/")
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
