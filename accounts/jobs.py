"""Background jobs of the accounts app: the sessions' retention."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

SESSIONS_KEEP_DAYS = 7


@task()
def prune_sessions() -> int:
    """Deletes sessions ended or expired a week ago (`prune_sessions --days N` by hand)."""
    # Imported here: the services queue this module's emails, so they import it first.
    from accounts.services import sessions_prune

    return sessions_prune(older_than=timedelta(days=SESSIONS_KEEP_DAYS))
