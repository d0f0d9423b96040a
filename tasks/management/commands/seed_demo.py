"""`manage.py seed_demo --users N --tasks M`: demo accounts with M tasks each, inserted in bulk (see
tasks/services/demo.py)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks.services.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = (
        "Create demo users (demo1@example.com ... demoN@example.com, password "
        f'"{DEMO_PASSWORD}") with --tasks tasks each, in bulk. Existing demo users are reused.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=5, help="How many demo users (default 5).")
        parser.add_argument("--tasks", type=int, default=200, help="How many tasks per user (default 200).")
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per INSERT (default 5000).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password of the demo users.")

    def handle(
        self, *args: Any, users: int, tasks: int, batch_size: int, seed: int | None, password: str, **_: Any
    ) -> None:
        if users < 1 or tasks < 0 or batch_size < 1:
            raise CommandError("--users must be at least 1, --tasks at least 0, --batch-size at least 1.")
        started = time.monotonic()
        seeded = demo_seed(users=users, tasks=tasks, batch_size=batch_size, seed=seed, password=password)
        self.stdout.write(
            f"Seeded {seeded.users} demo users (demo1@example.com .. demo{users}@example.com) with {seeded.tasks} "
            f"tasks in {time.monotonic() - started:.1f}s."
        )
