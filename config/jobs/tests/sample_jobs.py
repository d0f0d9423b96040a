"""Jobs the tests enqueue; module-level so a worker in another process imports them by path."""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import TaskContext, task

from config.jobs.effects import once


def _append(log: str, line: str) -> None:
    with Path(log).open("a") as file:
        file.write(line + "\n")


@task()
def always_fails() -> None:
    raise RuntimeError("the mail server said no")


@task(takes_context=True)
def visit(context: TaskContext, *, key: str, log: str, pause: str, seconds: float) -> None:
    """Logs each start, and its effect (one line) once per key; on its first attempt it pauses `seconds`
    before or after the effect, long enough for a test to kill the worker there."""
    first = len(context.task_result.worker_ids) == 1
    _append(log, f"start {context.task_result.worker_ids[-1]}")
    if first and pause == "before":
        time.sleep(seconds)
    once(key, lambda: _append(log, "effect"))
    if first and pause == "after":
        time.sleep(seconds)


@task(takes_context=True)
def note(context: TaskContext, *, n: int, log: str) -> None:
    time.sleep(0.02)
    _append(log, f"{n} {context.task_result.worker_ids[-1]}")
