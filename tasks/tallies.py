"""How many live tasks each project and each user's personal list holds, kept by database triggers.

The task list answers `count` on every page. Counting the rows a user sees grows with their history; these
counters do not: the unfiltered total is the user's personal tally plus their projects' (one small indexed
read, folded into the page's own query). The triggers (migration 0007) move the counts in the transaction of
the write, whatever makes it (a service, a bulk `.update()`, the delete collector, the admin, a data load), so
they are exact whenever the rows are; a rolled-back write moves nothing. Concurrent writers of one project
queue on its counter row for the rest of their transaction, as they already queue on the project's row lock.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Tally(models.Model):
    """The live (not trashed) tasks of one project (`project_id`) or one user's personal tasks (`user_id`)."""

    id = models.BigAutoField(primary_key=True)
    # No foreign keys: a deleted project's or user's row is left behind at zero and never read again (nobody
    # is a member of that project, nobody is that user), and the triggers need not order their writes
    # around the delete collector's.
    project_id = models.BigIntegerField(null=True)
    user_id = models.UUIDField(null=True)
    live = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project_id"], condition=Q(project_id__isnull=False), name="tally_project_uniq"
            ),
            models.UniqueConstraint(fields=["user_id"], condition=Q(user_id__isnull=False), name="tally_user_uniq"),
            models.CheckConstraint(
                condition=Q(project_id__isnull=True) ^ Q(user_id__isnull=True), name="tally_one_scope"
            ),
        ]

    def __str__(self) -> str:
        scope = f"project {self.project_id}" if self.project_id is not None else f"user {self.user_id}"
        return f"{scope}: {self.live} live"
