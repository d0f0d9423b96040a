"""The change log behind sync and the lists' ETags: one row per write to a task, project or membership row.

Rows are appended by database triggers (migration 0004), never by Python: whatever writes the row (a service,
a bulk `.update()`, the delete collector's cascades, the admin, a purge, raw SQL) is logged in the same
transaction, and a rolled-back write logs nothing. See docs/architecture.md, "Sync".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now


class ChangeKind(models.IntegerChoices):
    TASK = 1, "Task"
    PROJECT = 2, "Project"
    MEMBERSHIP = 3, "Membership"


class Change(models.Model):
    """A write to one row, from one side: an update that moves a task to another project (or owner) logs the
    old side and the new side, so the members of both hear of it.

    `xid` orders the log. On PostgreSQL it is the writing transaction's id (`pg_current_xact_id()`): a reader
    that only trusts the positions below `pg_snapshot_xmin` (every transaction below it has finished) cannot
    skip a transaction that commits late. On SQLite writers are serialised and `xid` is the row's own id.
    """

    id = models.BigAutoField(primary_key=True)
    xid = models.BigIntegerField()
    kind = models.PositiveSmallIntegerField(choices=ChangeKind.choices)
    # The task's, project's or membership's id.
    object_id = models.BigIntegerField()
    # The project the row was (or is) in; a project's own id for a project row.
    project_id = models.BigIntegerField(null=True)
    # A personal task's creator; a membership's member. No foreign key: the log outlives what it names.
    user_id = models.UUIDField(null=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        # Every read asks "what changed for this user, or in one of these projects, since position X".
        indexes = [
            models.Index(fields=["user_id", "xid"], name="change_user_xid_idx"),
            models.Index(fields=["project_id", "xid"], name="change_project_xid_idx"),
            models.Index(fields=["created_at"], name="change_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_id} at {self.xid}"


# Positions -----------------------------------------------------------------------------------------------------

# PostgreSQL: the current snapshot as text, "xmin:xmax:xip,xip,...": the oldest transaction in flight, the
# first not yet begun, and those in flight between them. Parsed here: the cheapest form to ask for. Within a
# statement it is that statement's own snapshot, so a query that reads rows and this together gets a position
# that covers exactly what it read.
_PG_POSITION = "pg_current_snapshot()::text"
# SQLite: writers are serialised, so the next id of the log is the position.
_SQLITE_POSITION = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'tasks_change')"
# Past this many transactions in flight a position keeps xmin alone (every row from it on): as safe, a
# little more to read again, and a cursor and an ETag of bounded size.
MAX_PENDING = 32


@dataclass(frozen=True)
class Position:
    """A point of the change log: every transaction below `base` that is not in `pending` had finished when
    it was taken. What a reader has not seen yet is the rows at or above `base` and those of `pending`."""

    base: int
    pending: tuple[int, ...] = ()

    def since(self) -> tuple[str, list[int]]:
        """The SQL condition on `xid` (and its parameters) for the rows not seen from this position."""
        if not self.pending:
            return "xid >= %s", [self.base]
        return f"(xid >= %s OR xid IN ({', '.join(['%s'] * len(self.pending))}))", [self.base, *self.pending]

    def q(self) -> Q:
        return Q(xid__gte=self.base) | Q(xid__in=self.pending) if self.pending else Q(xid__gte=self.base)

    def to_list(self) -> list[int]:
        return [self.base, *self.pending]

    @classmethod
    def from_list(cls, values: Any) -> Position | None:
        """From `to_list()`'s form; None if it is not one."""
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_PENDING + 1:
            return None
        if not all(isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in values):
            return None
        return cls(values[0], tuple(values[1:]))


def position_sql(vendor: str) -> str:
    """The SQL expression of the current position, for a SELECT list (read with `position_from`)."""
    return _PG_POSITION if vendor == "postgresql" else _SQLITE_POSITION


def position_from(value: Any, vendor: str) -> Position:
    """The Position that `position_sql(vendor)` read as `value`."""
    if vendor != "postgresql":
        return Position(int(value))
    xmin, xmax, in_flight = str(value).split(":")
    pending = in_flight.split(",") if in_flight else []
    if len(pending) > MAX_PENDING:
        return Position(int(xmin))
    return Position(int(xmax), tuple(sorted(int(xid) for xid in pending)))
