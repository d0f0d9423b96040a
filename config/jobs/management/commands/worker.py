"""`manage.py worker`: runs background jobs in the foreground until SIGTERM or Ctrl+C.

Run as many as the load needs, on as many machines, with the web processes' environment: they share the
queue in the database. The first SIGTERM/SIGINT finishes the job in hand and exits; a second one stops at
once and puts that job back in the queue.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tasks import DEFAULT_TASK_QUEUE_NAME

from config.jobs.worker import Worker


class Command(BaseCommand):
    help = "Run background jobs (emails, maintenance) until stopped. Start one or more beside the web processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            default=DEFAULT_TASK_QUEUE_NAME,
            help=f"Comma-separated queues to serve (default {DEFAULT_TASK_QUEUE_NAME}).",
        )
        parser.add_argument(
            "--burst", action="store_true", help="Run the jobs ready now, then exit (no heartbeat, no periodic jobs)."
        )

    def handle(self, *args: Any, queue: str, burst: bool, **options: Any) -> None:
        worker = Worker(queues=[name.strip() for name in queue.split(",") if name.strip()])
        if burst:
            ran = worker.run_pending()
            self.stdout.write(f"Ran {ran} job{'s' if ran != 1 else ''}.")
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        with contextlib.suppress(KeyboardInterrupt):
            worker.serve(stop)
