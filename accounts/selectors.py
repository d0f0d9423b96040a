from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Session, User
from config.errors import NotFound


def session_list_for(*, user: User) -> QuerySet[Session]:
    return Session.objects.live().filter(user=user).order_by("-created_at")


def session_get_for(*, user: User, session_id: Any) -> Session:
    """The user's live session, or NotFound (another user's session is indistinguishable from none)."""
    try:
        return session_list_for(user=user).select_related("user").get(pk=session_id)
    except Session.DoesNotExist:
        raise NotFound() from None
