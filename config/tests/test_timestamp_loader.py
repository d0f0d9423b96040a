"""On PostgreSQL, timestamptz values are read by psycopg's C loader (config/db/postgresql, `_utc_adapters`): the
same values Django's own loader gives, aware and in UTC, through Django's cursors and the prepared ones."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import ClientCursor, adapters
from psycopg.pq import Format

from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.postgres

TIMESTAMPTZ = adapters.types["timestamptz"].oid
VALUES = """SELECT '2026-01-01 10:00:00.123+02'::timestamptz, '1999-12-31 23:59:59.999999-11:30'::timestamptz,
                   '0001-01-01 00:00:00+00'::timestamptz, '9999-12-31 23:59:59+00'::timestamptz,
                   now(), NULL::timestamptz"""


def read_with_djangos_own_loader() -> tuple[Any, ...]:
    cursor = ClientCursor(connection.connection)
    register_tzloader(connection.timezone, cursor)
    cursor.execute(VALUES)
    row: Any = cursor.fetchone()
    return tuple(row)


def test_the_c_loader_reads_what_djangos_loader_reads(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(VALUES)
        fast = cursor.fetchone()
    with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(VALUES)
        prepared = cursor.fetchone()
    slow = read_with_djangos_own_loader()
    assert fast[:4] == prepared[:4] == slow[:4]
    assert fast[0] == datetime.datetime(2026, 1, 1, 8, 0, 0, 123000, tzinfo=datetime.UTC)
    for value in [*fast[:5], *prepared[:5]]:
        assert value.tzinfo is datetime.UTC
    assert fast[5] is None
    # psycopg's own (C) loader, not Django's Python subclass of psycopg's Python one.
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert loader.__module__.startswith("psycopg"), loader


def test_model_timestamps_round_trip_exactly(db: Any) -> None:
    moment = datetime.datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=datetime.UTC)
    task = TaskFactory(created_at=moment, due_at=moment.replace(microsecond=0))
    task.refresh_from_db()
    assert (task.created_at, task.due_at) == (moment, moment.replace(microsecond=0))
    assert task.created_at.tzinfo is datetime.UTC
