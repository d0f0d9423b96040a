"""`manage.py purge_deleted_tasks [--days N]`: deletes for good what has sat in the trash too long."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tasks.services.tasks import idempotency_keys_purge, tasks_purge_deleted


class Command(BaseCommand):
    help = (
        "Permanently delete tasks that have been in the trash for more than --days days (default 30), "
        "and forget idempotency keys older than 24 hours."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=30, help="Purge tasks deleted more than this many days ago (default 30)."
        )

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 0:
            self.stderr.write("--days must be 0 or more.")
            raise SystemExit(2)
        purged = tasks_purge_deleted(days=days)
        keys = idempotency_keys_purge()
        self.stdout.write(
            f"Purged {purged} task{'s' if purged != 1 else ''} deleted more than {days} days ago "
            f"and {keys} expired idempotency key{'s' if keys != 1 else ''}."
        )
