"""Background jobs of the audit app: the log's retention, run daily."""

from __future__ import annotations

from django_tasks import task

from audit.services import AUDIT_RETENTION_DAYS, audit_prune


@task()
def prune_audit() -> int:
    """Deletes entries older than the retention (`prune_audit --days N` by hand)."""
    return audit_prune(days=AUDIT_RETENTION_DAYS)
