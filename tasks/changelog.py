"""The change log behind sync and the lists' ETags: one row per write to a task, project or membership row.

Rows are appended by database triggers (migration 0004), never by Python: whatever writes the row (a service,
a bulk `.update()`, the delete collector's cascades, the admin, a purge, raw SQL) is logged in the same
transaction, and a rolled-back write logs nothing. See docs/architecture.md, "Sync".
"""

from __future__ import annotations

from django.db import models
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
