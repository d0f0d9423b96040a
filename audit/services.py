from __future__ import annotations

from typing import Any

from django.utils import timezone

from audit.context import SYSTEM, RequestMeta
from audit.models import Event, EventType

# Keys that must never reach the log, whatever a caller passes in `details`.
_SECRET_KEYS = {"password", "new_password", "current_password", "token", "access", "refresh", "authorization"}


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if key.lower() not in _SECRET_KEYS}


def audit_record(
    *,
    event: EventType,
    user: Any = None,
    email: str = "",
    meta: RequestMeta | None = None,
    details: dict[str, Any] | None = None,
) -> Event:
    """Appends one event. Call it inside the transaction of the change, so both commit or neither."""
    meta = meta or SYSTEM
    return Event.objects.create(
        event=event,
        user=user if user is not None and getattr(user, "pk", None) else None,
        email=email or (getattr(user, "email", "") if user is not None else ""),
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
        request_id=meta.request_id,
        created_at=timezone.now(),
        details=_scrub(details or {}),
    )
