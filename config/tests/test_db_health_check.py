"""The PostgreSQL health check between requests: no round trip while the connection is sound, a new
connection once the server has ended the old one."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.postgres


def other_session() -> Any:
    params = connection.get_connection_params()
    return psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        password=params.get("password"),
        autocommit=True,
    )


def last_statement_of(pid: int) -> str:
    with other_session() as observer:
        return str(observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0])


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() /* marker */")
        return int(cursor.fetchone()[0])


def test_a_sound_connection_is_checked_without_a_query(transactional_db: Any) -> None:
    pid = backend_pid()
    connection.health_check_done = False  # type: ignore[attr-defined]
    connection.close_if_health_check_failed()
    assert connection.connection is not None
    # The server saw nothing after our own statement: no SELECT 1 went over the wire.
    assert "marker" in last_statement_of(pid)
    assert backend_pid() == pid


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(transactional_db: Any) -> None:
    pid = backend_pid()
    with other_session() as admin:
        # Waits for the backend to be gone, so its farewell has been sent.
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]
    # Between requests, as Django does at the start of each one.
    close_old_connections()
    connection.health_check_done = False  # type: ignore[attr-defined]
    connection.close_if_health_check_failed()
    assert backend_pid() != pid
