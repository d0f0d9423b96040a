"""`manage.py prune_sessions [--days N]`: deletes sessions that ended or expired long enough ago."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import services
from accounts.jobs import SESSIONS_KEEP_DAYS

DEFAULT_DAYS = SESSIONS_KEEP_DAYS


class Command(BaseCommand):
    help = (
        "Delete sessions that ended (logout, revoke, ...) or expired more than --days ago. Live sessions are "
        "never deleted. A worker runs it daily (the prune_sessions periodic job); this is the same by hand."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"Keep ended and expired sessions this many days after their end (default {DEFAULT_DAYS}).",
        )

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        deleted = services.sessions.sessions_prune(older_than=timedelta(days=days))
        self.stdout.write(f"Deleted {deleted} session(s) ended or expired more than {days} day(s) ago.")
