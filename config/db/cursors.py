"""The cursor for fixed statements that run on hot paths."""

from __future__ import annotations

from typing import Any


def prepared_cursor(connection: Any) -> Any:
    """A cursor whose statements PostgreSQL plans once per connection (config/db/postgresql, `prepared_cursor`);
    on another database, the plain one. For statements whose SQL is fixed (their values are parameters)."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()
