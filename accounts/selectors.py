from __future__ import annotations

import uuid
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from accounts.models import ApiToken, Session, User
from config.http.compiled import CompiledQuery
from config.http.errors import NotFound

_SESSION_FIELDS = [field.attname for field in Session._meta.concrete_fields]
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
_session_query = CompiledQuery(
    "session_with_user",
    lambda: Session.objects.select_related("user").filter(pk=uuid.UUID(int=0)),
    param_count=1,
)


def session_with_user(session_id: uuid.UUID) -> Session | None:
    """The session by primary key with its user: the one query every authenticated request makes.

    The same instances as `Session.objects.select_related("user").get(pk=...)`, from SQL compiled once per
    connection (config/http/compiled.py).
    """
    alias = router.db_for_read(Session)
    param = Session._meta.pk.get_db_prep_value(session_id, connections[alias])  # type: ignore[union-attr]
    rows = _session_query.rows(using=alias, params=[param])
    if not rows:
        return None
    row = rows[0]
    split = len(_SESSION_FIELDS)
    session = Session.from_db(alias, _SESSION_FIELDS, row[:split])
    user = User.from_db(alias, _USER_FIELDS, row[split : split + len(_USER_FIELDS)])
    Session.user.field.set_cached_value(session, user)
    return session


def session_list_for(*, user: User) -> QuerySet[Session]:
    return Session.objects.live().filter(user=user).order_by("-created_at")


def session_get_for(*, user: User, session_id: Any) -> Session:
    """The user's live session, or NotFound (another user's session is indistinguishable from none)."""
    try:
        return session_list_for(user=user).select_related("user").get(pk=session_id)
    except Session.DoesNotExist:
        raise NotFound() from None


def api_token_with_user(token_id: uuid.UUID) -> ApiToken | None:
    """The token by primary key with its user: the one query a request with an API token makes."""
    return ApiToken.objects.select_related("user").filter(pk=token_id).first()


def api_token_list_for(*, user: User) -> QuerySet[ApiToken]:
    """The user's live tokens (not revoked, not expired), newest first."""
    return ApiToken.objects.live().filter(user=user).order_by("-created_at", "-pk")


def api_token_get_for(*, user: User, token_id: Any) -> ApiToken:
    """The user's live token, or NotFound (another user's token is indistinguishable from none)."""
    try:
        return api_token_list_for(user=user).select_related("user").get(pk=token_id)
    except ApiToken.DoesNotExist:
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
