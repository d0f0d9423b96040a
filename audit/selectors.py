"""Reads of the audit log, already scoped to what the caller may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from audit.models import Event
from config.http.errors import NotFound


def event_list_for(*, user: Any) -> QuerySet[Event]:
    """Staff see every event; anyone else only the events recorded against their own account. Newest first."""
    events = Event.objects.order_by("-created_at", "-id")
    if user.is_staff:
        return events
    return events.filter(user=user)


def event_get_for(*, user: Any, event_id: int) -> Event:
    """One event the user may see, or NotFound (someone else's event is indistinguishable from none)."""
    try:
        return event_list_for(user=user).get(pk=event_id)
    except Event.DoesNotExist:
        raise NotFound() from None
