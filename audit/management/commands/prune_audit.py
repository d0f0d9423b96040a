"""Retention of the audit log: deletes entries older than N days, a batch of ids at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.models import Event

DEFAULT_DAYS = 365
DEFAULT_BATCH_SIZE = 5000


class Command(BaseCommand):
    help = (
        f"Delete audit events older than --days days (default {DEFAULT_DAYS}), in batches of --batch-size ids "
        f"(default {DEFAULT_BATCH_SIZE}) so no long lock is held, and print how many were deleted."
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
        deleted = 0
        while True:
            # Each batch is its own short statement (autocommit): the created_at index finds the ids, the
            # primary key deletes them, and writers recording new events are never held up for long.
            ids = list(old.order_by("created_at", "id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            count, _ = Event.objects.filter(pk__in=ids).delete()
            deleted += count
            if options["verbosity"] >= 2:
                self.stdout.write(f"  deleted {count}")
        self.stdout.write(f"Deleted {deleted} audit events older than {cutoff.isoformat()}.")
