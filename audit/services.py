from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from audit.context import SYSTEM, USER_AGENT_MAX, RequestContext
from audit.models import Event, EventType
from config.http.redact import REDACTED, is_credential, is_secret_key

TRUNCATED = "[truncated]"
# Details are a small JSON object: deeper structures are cut rather than stored.
_MAX_DEPTH = 4


def _clean_text(value: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL in text and in jsonb; a stray one must not turn an audited change into a 500.
    value = value.replace("\x00", "")
    return value[:limit] if limit is not None else value


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        return {
            _clean_text(str(key)): _scrub(item, depth + 1) for key, item in value.items() if not is_secret_key(str(key))
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        if is_credential(value):
            return REDACTED
        return _clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON, and jsonb refuses them
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # UUIDs, datetimes, Decimals...: their text, which is what the JSON column would hold anyway.
    return _clean_text(str(value))


def audit_record(
    *,
    event: EventType,
    user: Any = None,
    email: str = "",
    meta: RequestContext | None = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> Event:
    """Appends one event. Call it inside the transaction of the change, so both commit or neither.

    Strings are stored as data, never interpreted: the API answers them as JSON and the admin escapes
    them. `details` loses any key that names a secret and any value that looks like a token. The actor is
    `actor` when given, else the context's (the signed-in user behind the request; none for commands and jobs).
    """
    meta = meta or SYSTEM
    email = email or (getattr(user, "email", "") if user is not None else "")
    actor = actor if actor is not None else meta.actor
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    return Event.objects.create(
        event=event,
        # An anonymous user has no row to point at; the email still says who it was.
        user=user if user is not None and getattr(user, "pk", None) else None,
        email=_clean_text(email or "", 254),
        actor_id=actor_id,
        actor_email=_clean_text(getattr(actor, "email", "") or "", 254) if actor_id else "",
        ip_address=meta.ip_address or None,
        user_agent=_clean_text(meta.user_agent or "", USER_AGENT_MAX),
        request_id=_clean_text(meta.request_id or "", 128),
        created_at=timezone.now(),
        details=_scrub(dict(details or {})),
    )


AUDIT_RETENTION_DAYS = 365


def audit_prune(
    *, days: int = AUDIT_RETENTION_DAYS, batch_size: int = 5000, on_batch: Callable[[int], None] | None = None
) -> int:
    """Deletes entries older than `days`, `batch_size` ids at a time; answers how many were deleted.

    Each batch is its own short statement (autocommit): the created_at index finds the ids, the primary key
    deletes them, and writers recording new events are never held up for long.
    """
    old = Event.objects.filter(created_at__lt=timezone.now() - timedelta(days=days))
    deleted = 0
    while True:
        ids = list(old.order_by("created_at", "id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = Event.objects.filter(pk__in=ids).delete()
        deleted += count
        if on_batch is not None:
            on_batch(count)
