"""`manage.py seed_demo --users N --tasks M [--projects P --members K]`: demo accounts with M tasks each,
optionally sharing P projects, inserted in bulk (see tasks/services/demo.py)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks.services.demo import DEMO_PASSWORD, Shape, demo_seed

DEFAULT = Shape()
# The Shape fields given as --project-share and so on, and what each is a share of.
SHARES = {
    "project_share": "each user's tasks created in their projects",
    "subtask_share": "tasks that are subtasks",
    "assigned_share": "tasks with assignees",
    "commented_share": "tasks with comments",
}


class Command(BaseCommand):
    help = (
        "Create demo users (demo1@example.com ... demoN@example.com, password "
        f'"{DEMO_PASSWORD}") with --tasks tasks each, in bulk, optionally in --projects shared projects '
        "(with subtasks, assignees and comments). Existing demo users are reused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=5, help="How many demo users (default 5).")
        parser.add_argument("--tasks", type=int, default=200, help="How many tasks each user creates (default 200).")
        parser.add_argument(
            "--projects", type=int, default=0, help="Projects shared among the users, each owned by one in turn."
        )
        parser.add_argument(
            "--members",
            type=int,
            default=DEFAULT.members,
            help=f"Members of each project, its owner included; the last is a viewer from 3 on (default "
            f"{DEFAULT.members}).",
        )
        for name, what in SHARES.items():
            default = getattr(DEFAULT, name)
            parser.add_argument(
                "--" + name.replace("_", "-"), type=float, default=default, help=f"Share of {what} (default {default})."
            )
        parser.add_argument("--prefix", default="demo", help='Emails are <prefix>1@example.com, ... (default "demo").')
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per INSERT (default 5000).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password of the demo users.")

    def handle(self, *args: Any, **options: Any) -> None:
        users, tasks, batch_size, prefix = options["users"], options["tasks"], options["batch_size"], options["prefix"]
        if users < 1 or tasks < 0 or batch_size < 1:
            raise CommandError("--users must be at least 1, --tasks at least 0, --batch-size at least 1.")
        if not prefix.isalnum():
            raise CommandError("--prefix takes letters and digits only.")
        try:
            shape = Shape(
                projects=options["projects"], members=options["members"], **{name: options[name] for name in SHARES}
            )
        except ValueError as error:
            raise CommandError(f"{error}.")
        started = time.monotonic()
        seeded = demo_seed(
            users=users,
            tasks=tasks,
            shape=shape,
            prefix=prefix,
            batch_size=batch_size,
            seed=options["seed"],
            password=options["password"],
        )
        extras = f", {seeded.projects} projects ({seeded.memberships} memberships)" if seeded.projects else ""
        self.stdout.write(
            f"Seeded {seeded.users} demo users ({prefix}1@example.com .. {prefix}{users}@example.com) with "
            f"{seeded.tasks} tasks{extras}, {seeded.assignments} assignments and {seeded.comments} comments in "
            f"{time.monotonic() - started:.1f}s."
        )
