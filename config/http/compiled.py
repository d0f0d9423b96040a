"""Fixed-shape queries compiled once per database connection.

On a busy API the ORM's work to build and compile a query can cost several times the query itself. For the
few queries that run on nearly every request and never change shape (the session lookup, the default task
list) the SQL is compiled once per connection from the ORM's own queryset and re-executed with new parameter
values. Rows go through the same converters the ORM applies, so values are exactly what the queryset gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from django.db import connections
from django.db.models import JSONField, QuerySet

from config.db.cursors import prepared_cursor


class CompiledQuery:
    def __init__(
        self,
        name: str,
        build: Callable[[], QuerySet[Any]],
        *,
        param_count: int,
        sql: Callable[[Any], str] | None = None,
    ) -> None:
        """`build` returns the queryset with placeholder values for its `param_count` parameters.

        `sql(connection)`, when given, is run instead of the queryset's own SQL (for a statement the ORM cannot
        say); its rows begin with the queryset's columns, converted as the ORM would, and may carry more.
        """
        self._attr = f"_taskdesk_compiled_{name}"
        self._build = build
        self._param_count = param_count
        self._sql = sql

    def _compiled(self, connection: Any) -> tuple[str, Any, Any]:
        compiled = getattr(connection, self._attr, None)
        if compiled is None:
            compiler = self._build().query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            # The shape is fixed by construction; a change to the queryset that adds a parameter must not
            # silently bind values to the wrong placeholders.
            if len(params) != self._param_count:
                raise RuntimeError(f"{self._attr}: expected {self._param_count} parameters, got {len(params)}")
            if self._sql is not None:
                sql = self._sql(connection)
            converters = _fast_json(compiler.get_converters([column for column, _, _ in compiler.select]))
            compiled = (sql, compiler, converters)
            setattr(connection, self._attr, compiled)
        return compiled

    def sql(self, connection: Any) -> str:
        """The statement, for another statement to embed (`convert` then reads its columns there)."""
        return self._compiled(connection)[0]

    def convert(self, connection: Any, values: Sequence[Any]) -> tuple[Any, ...]:
        """`values`, this query's columns read by another statement, converted as `rows` converts them."""
        _, compiler, converters = self._compiled(connection)
        if not converters:
            return tuple(values)
        return tuple(next(iter(compiler.apply_converters([list(values)], converters))))

    def rows(self, *, using: str, params: Sequence[Any]) -> list[Any]:
        """Runs the query with database-ready `params`."""
        connection = connections[using]
        sql, compiler, converters = self._compiled(connection)
        with prepared_cursor(connection) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows


def _json_from_db(value: Any, expression: Any, connection: Any) -> Any:
    """JSONField.from_db_value, decoding with orjson (the standard library for what orjson refuses)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value


def _fast_json(converters: dict[int, tuple[list[Any], Any]]) -> dict[int, tuple[list[Any], Any]]:
    """The same converters, with a plain JSON column's (no custom decoder) decoded by `_json_from_db`."""
    for index, (functions, expression) in converters.items():
        field = getattr(expression, "output_field", None)
        if isinstance(field, JSONField) and field.decoder is None and functions == [field.from_db_value]:
            converters[index] = ([_json_from_db], expression)
    return converters
