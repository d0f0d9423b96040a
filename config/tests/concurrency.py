"""Requests released at the same instant from several threads, each on its own database connection: how the
tests that need PostgreSQL show what a row lock or a unique index decides under a race."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections


def all_at_once(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Runs each call in its own thread (its own connection), released together; answers their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as exc:  # surfaced below: an assertion in a thread would be lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    return results
