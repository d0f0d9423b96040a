"""Retention of the audit log: deletes entries older than N days, a batch of ids at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.models import Event
from audit.services import AUDIT_RETENTION_DAYS, audit_prune

DEFAULT_DAYS = AUDIT_RETENTION_DAYS
DEFAULT_BATCH_SIZE = 5000


class Command(BaseCommand):
    help = (
        f"Delete audit events older than --days days (default {DEFAULT_DAYS}), in batches of --batch-size ids "
        f"(default {DEFAULT_BATCH_SIZE}) so no long lock is held, and print how many were deleted. A worker runs "
        "it daily with the defaults (the prune_audit periodic job)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=DEFAULT_DAYS, help=f"Keep this many days of events (default {DEFAULT_DAYS})."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Ids deleted per statement (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the events that would be deleted; delete nothing."
        )

    def handle(self, *args: Any, days: int, batch_size: int, dry_run: bool, **options: Any) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        old = Event.objects.filter(created_at__lt=cutoff)
        if dry_run:
            self.stdout.write(f"Would delete {old.count()} audit events older than {cutoff.isoformat()}.")
            return

        def report(count: int) -> None:
            if options["verbosity"] >= 2:
                self.stdout.write(f"  deleted {count}")

        deleted = audit_prune(days=days, batch_size=batch_size, on_batch=report)
        self.stdout.write(f"Deleted {deleted} audit events older than {cutoff.isoformat()}.")
