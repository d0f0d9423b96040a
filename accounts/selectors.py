from __future__ import annotations

import uuid
from collections.abc import Sequence
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


# The session lookup's columns: the session's, then its user's.
SESSION_COLUMNS = len(_SESSION_FIELDS) + len(_USER_FIELDS)


def session_with_user(session_id: uuid.UUID) -> Session | None:
    """The session by primary key with its user: the one query every authenticated request makes, unless the
    request's own statement embeds it (`session_cte`).

    The same instances as `Session.objects.select_related("user").get(pk=...)`, from SQL compiled once per
    connection (config/http/compiled.py).
    """
    alias = router.db_for_read(Session)
    rows = _session_query.rows(using=alias, params=[session_param(session_id, alias)])
    return _session_from(alias, rows[0]) if rows else None


def session_param(session_id: uuid.UUID, alias: str) -> Any:
    return Session._meta.pk.get_db_prep_value(session_id, connections[alias])  # type: ignore[union-attr]


# The lookup's columns as another statement names them (the session's and the user's share names such as id).
SESSION_COLUMN_NAMES = tuple(f"signed_in_{index}" for index in range(SESSION_COLUMNS))


def session_cte(connection: Any) -> str:
    """`session_with_user`'s statement as a common table expression, `signed_in`, for a read to embed (`WITH
    ... SELECT`) so that the session is checked in the read's round trip: one row when the session exists, none
    otherwise, its columns SESSION_COLUMN_NAMES; one parameter, `session_param`, first of the statement's. The
    columns go to `session_from_columns`."""
    return f"signed_in({', '.join(SESSION_COLUMN_NAMES)}) AS ({_session_query.sql(connection)})"


def session_beside(sql: str, connection: Any) -> str:
    """`sql`, a read answering at most one row, with the session's columns after its own: always one row (null
    columns where nothing was found). Its parameters: `session_param`, then `sql`'s."""
    found = f"SELECT found.*, signed_in.* FROM (SELECT 1 AS one) AS one LEFT JOIN ({sql}) AS found ON 1 = 1"  # noqa: S608
    return f"WITH {session_cte(connection)} {found} LEFT JOIN signed_in ON 1 = 1"


def session_from_columns(alias: str, values: Sequence[Any]) -> Session | None:
    """The session (with its user) that `session_cte` found, from its columns as another statement read
    them; None when it found none."""
    if values[0] is None:
        return None
    return _session_from(alias, _session_query.convert(connections[alias], values))


def _session_from(alias: str, row: Sequence[Any]) -> Session:
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
