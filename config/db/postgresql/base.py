"""Django's PostgreSQL backend, with a health check that costs no round trip while the connection is sound and
cursors whose statements PostgreSQL plans once per connection.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request that reuses a
connection: a whole extra round trip to the database on every API request. An idle connection has nothing
to read, so a zero-timeout poll of its socket tells what that query would in the cases that matter: a
server that closed the connection, restarted, or terminated the backend has sent EOF or a FATAL message,
and the socket is readable. Only then is the real `SELECT 1` run, and it decides. A connection that is
silently black-holed passes either check until its first query times out, as before.

Django binds parameters on the client (the SQL sent is complete, so PostgreSQL parses and plans it on every
execution). `prepared_cursor()` binds them on the server and prepares each statement on its first use on the
connection: the fixed statements of the hottest requests (config/http/compiled.py) are planned once per
connection instead of once per request, which for the task list's statement is most of the database's work.
Set `DATABASE_PREPARED_STATEMENTS=false` behind a pooler that cannot keep prepared statements (PgBouncer in
transaction mode before 1.21).
"""

from __future__ import annotations

import datetime
import functools
import select
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.adapt import AdaptersMap
from psycopg.pq import Format

_TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
_ONLY_WHEN_ASKED = 2**62
_C_TIMESTAMPTZ: Any = psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)


@functools.cache
def _utc_adapters(template: AdaptersMap) -> AdaptersMap:
    """Django's adapters, reading timestamptz with psycopg's C loader.

    Django reads every timestamptz through a Python subclass of psycopg's loader that sets its own time zone
    on the result. With the connection in UTC (Django sets it) and Django's zone UTC, psycopg's own C loader
    gives the very same values (aware, `datetime.timezone.utc`) several times faster: a session and its user
    hold eight timestamps, a page of tasks sixty.
    """
    adapters = AdaptersMap(template)
    adapters.register_loader(_TIMESTAMPTZ_OID, _C_TIMESTAMPTZ)
    return adapters


def _fast_timestamps(connection: Any) -> bool:
    """Whether the connection reads timestamptz with `_utc_adapters`' loader (Django's check of its own loader's
    zone does not apply to it)."""
    return connection.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT) is _C_TIMESTAMPTZ


class PreparedCursor(psycopg.Cursor[Any]):
    """Server-side binding; every statement is prepared on its first execution (psycopg keeps the prepared
    statements of a connection, at most `prepared_max`, least recently used deallocated first)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:  # type: ignore[override]
        # The query log (DEBUG, tests) shows a prepared statement with its values, as Django's own.
        if isinstance(cursor, PreparedCursor):
            try:
                return str(self.compose_sql(sql, params))
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)  # type: ignore[no-any-return]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.timezone is datetime.UTC and "context" in params:
            params["context"] = _utc_adapters(params["context"])
        if settings.DATABASE_PREPARED_STATEMENTS:
            # Our prepared statements have one good plan whatever their values (their shape fixes the indexes
            # they walk). PostgreSQL would otherwise keep planning the task list's statement for every
            # execution (a custom plan looks cheaper than a generic one with an unknown LIMIT), which is the
            # work preparing it is meant to save. Django's own statements are not prepared: unaffected.
            params["options"] = f"{params.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # Django turns psycopg's automatic preparation off (None), which also refuses `prepare=True`. Django's own
        # cursors bind on the client and never prepare; a threshold no statement reaches leaves preparation to
        # PreparedCursor alone.
        if settings.DATABASE_PREPARED_STATEMENTS and connection.prepare_threshold is None:
            connection.prepare_threshold = _ONLY_WHEN_ASKED
        return connection

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if readable:
            return bool(super().is_usable())
        return True

    def create_cursor(self, name: str | None = None) -> Any:
        if not _fast_timestamps(self.connection):
            return super().create_cursor(name)
        # Django's create_cursor, less its time zone check (`_utc_adapters` reads in UTC already).
        if not name:
            return self.connection.cursor()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            server_side: Any = base.ServerSideCursor  # django-stubs types the psycopg2 shape
            return server_side(self.connection, name=name, scrollable=False, withhold=self.connection.autocommit)
        return self.connection.cursor(name, scrollable=False, withhold=self.connection.autocommit)

    def prepared_cursor(self) -> Any:
        """A cursor like `cursor()` (Django's error translation, query log and execute wrappers) whose statements
        are prepared on the server; a plain cursor when prepared statements are turned off."""
        if not settings.DATABASE_PREPARED_STATEMENTS:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparedCursor(self.connection)
            # As Django's create_cursor: the connection's time zone for timestamptz values.
            if not _fast_timestamps(self.connection):
                loader = self.connection.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
                if self.timezone != getattr(loader, "timezone", None):
                    register_tzloader(self.timezone, cursor)
        return self._prepare_cursor(cursor)  # type: ignore[attr-defined]
