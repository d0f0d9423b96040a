"""Django's PostgreSQL backend with a health check that costs no round trip while the connection is sound.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request that reuses a
connection: a whole extra round trip to the database on every API request. An idle connection has nothing
to read, so a zero-timeout poll of its socket tells what that query would in the cases that matter: a
server that closed the connection, restarted, or terminated the backend has sent EOF or a FATAL message,
and the socket is readable. Only then is the real `SELECT 1` run, and it decides. A connection that is
silently black-holed passes either check until its first query times out, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
