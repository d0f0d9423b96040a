"""Background jobs of the tasks app: the trash and idempotency-key retention, run periodically."""

from __future__ import annotations

from django_tasks import task

from tasks.services.tasks import idempotency_keys_purge, tasks_purge_deleted


@task()
def purge_trash() -> int:
    """Deletes for good what sat in the trash past its 30 days (`purge_deleted_tasks` by hand)."""
    return tasks_purge_deleted()


@task()
def purge_idempotency_keys() -> int:
    """Forgets idempotency keys past their 24 hours."""
    return idempotency_keys_purge()
