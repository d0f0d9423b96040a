"""Fixed-shape queries compiled once per database connection.

On a busy API the ORM's work to build and compile a query can cost several times the query itself. For the
few queries that run on nearly every request and never change shape (the session lookup, the default task
list) the SQL is compiled once per connection from the ORM's own queryset and re-executed with new parameter
values. Rows go through the same converters the ORM applies, so values are exactly what the queryset gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import QuerySet


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
            converters = compiler.get_converters([column for column, _, _ in compiler.select])
            compiled = (sql, compiler, converters)
            setattr(connection, self._attr, compiled)
        return compiled

    def rows(
        self, *, using: str, params: Sequence[Any], suffix: str = "", suffix_params: Sequence[Any] = ()
    ) -> list[Any]:
        """Runs the query (plus an SQL `suffix` such as LIMIT/OFFSET) with database-ready `params`."""
        connection = connections[using]
        sql, compiler, converters = self._compiled(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql + suffix, [*params, *suffix_params])
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows
