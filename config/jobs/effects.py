"""At-least-once made harmless: an outside effect (a mail, a call) is done once per key, however often
the job that does it runs."""

from __future__ import annotations

from collections.abc import Callable

from config.jobs.models import Effect


def once(key: str, action: Callable[[], object]) -> bool:
    """Runs `action` unless a run with this key already completed it; answers whether it ran now.

    The mark is written after the action, in its own commit: a crash between the two repeats the action
    on the next run (at least once), a crash anywhere else does not repeat it.
    """
    if Effect.objects.filter(key=key).exists():
        return False
    action()
    Effect.objects.get_or_create(key=key)
    return True
