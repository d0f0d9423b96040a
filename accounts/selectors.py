from __future__ import annotations

import uuid
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from accounts.models import Session, User
from config.errors import NotFound


class _SessionLookup:
    """The session by primary key with its user: the one query every authenticated request makes.

    The ORM's work to compile this fixed-shape query costs several times the query itself on a busy API,
    so it is compiled once per database connection and re-executed with the new id. Rows go through the
    same converters and `Model.from_db` the ORM uses, so the instances are exactly what
    `Session.objects.select_related("user").get(pk=...)` returns.
    """

    _ATTR = "_taskdesk_session_lookup"

    def _compiled(self, alias: str) -> tuple[str, Any, Any]:
        connection = connections[alias]
        compiled = getattr(connection, self._ATTR, None)
        if compiled is None:
            query = Session.objects.using(alias).select_related("user").filter(pk=uuid.UUID(int=0)).query
            compiler = query.get_compiler(using=alias)
            sql, _ = compiler.as_sql()
            converters = compiler.get_converters([column for column, _, _ in compiler.select])
            compiled = (sql, compiler, converters)
            setattr(connection, self._ATTR, compiled)
        return compiled

    def __call__(self, session_id: uuid.UUID) -> Session | None:
        alias = router.db_for_read(Session)
        sql, compiler, converters = self._compiled(alias)
        connection = connections[alias]
        param = Session._meta.pk.get_db_prep_value(session_id, connection)  # type: ignore[union-attr]
        with connection.cursor() as cursor:
            cursor.execute(sql, [param])
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        split = len(_SESSION_FIELDS)
        session = Session.from_db(alias, _SESSION_FIELDS, row[:split])
        user = User.from_db(alias, _USER_FIELDS, row[split : split + len(_USER_FIELDS)])
        Session.user.field.set_cached_value(session, user)
        return session


_SESSION_FIELDS = [field.attname for field in Session._meta.concrete_fields]
_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
session_with_user = _SessionLookup()


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
