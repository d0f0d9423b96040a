from __future__ import annotations

import uuid
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


# Staff user management ----------------------------------------------------------------------------------


def user_list_for_staff() -> QuerySet[User]:
    """Every user, for staff; filtering, search and ordering are applied by the view (accounts/filters.py)."""
    return User.objects.all().order_by("email")


def user_get_for_staff(*, user_id: Any) -> User:
    """The user with this id, or NotFound (also for a malformed id, which cannot name a user)."""
    try:
        return User.objects.get(pk=uuid.UUID(str(user_id)))
    except (ValueError, User.DoesNotExist):
        raise NotFound() from None
