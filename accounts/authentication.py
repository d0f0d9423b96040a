"""Bearer authentication: session access tokens (JWT) and personal API tokens (`tdk_...`).

The JWT is verified without I/O; then one indexed lookup (the session by primary key, joined to its user)
decides whether the session is still live, so an ended session's tokens fail on the very next request on
every app instance. Most requests make it a query of its own. The hottest reads (the task list, its 304, one task)
embed it in their own statement instead (`PendingSession`): one round trip to the database for the whole
request, and the same check, made before anything is answered. A personal API token costs one query (the
token by primary key, joined to its user), then a constant-time comparison of digests.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import router
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import apitokens
from accounts.models import Session, User
from accounts.selectors import api_token_with_user, session_from_columns, session_param, session_with_user
from accounts.services.api_tokens import api_token_touch
from accounts.services.sessions import session_touch
from accounts.tokens import SESSION_CLAIM, decode_access
from config.http.errors import ApplicationError, InsufficientScope, TokenInvalid

_API_TOKEN_MARK = apitokens.PREFIX.encode()


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tdk_...`: a personal API token, within its scopes.

    Listed before SessionTokenAuthentication; anything that is not a `tdk_` bearer token is left to it (None),
    after one substring search, so the access-token path stays as fast as it was.

    The scope is enforced here, right after the token is verified (an expired or revoked token is 401
    first), and not by a permission class: views replace their permission classes (the staff views, the
    compatibility routes), but every view that accepts a token authenticates through here. A view opens
    itself to API tokens by naming a scope family, `token_scope = "tasks"` or `"projects"`; safe methods need
    `<family>:read`, the others `<family>:write`. Every other view (accounts, sessions, tokens, MFA, users,
    audit) answers 403 `insufficient_scope` to any API token.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if apitokens.PREFIX not in header:
            return None
        parts = header.encode("latin-1", "replace").split()
        if len(parts) != 2 or parts[0].lower() != b"bearer" or not parts[1].startswith(_API_TOKEN_MARK):
            return None
        parsed = apitokens.parse(parts[1].decode("latin-1"))
        token = api_token_with_user(parsed.token_id) if parsed is not None else None
        if (
            parsed is None
            or token is None
            or not token.is_live
            or not token.user.is_active
            or not apitokens.secret_matches(parsed.secret, token.secret_hash)
        ):
            raise TokenInvalid("The API token is invalid, expired or revoked.")
        view = (request.parser_context or {}).get("view")
        if not apitokens.allows(token.scopes, family=getattr(view, "token_scope", None), method=request.method or ""):
            raise InsufficientScope()
        api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class SessionTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.encode("latin-1", "replace").split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise TokenInvalid("The Authorization header must be 'Bearer <token>'.")
        token = decode_access(parts[1])
        session_id = uuid.UUID(str(token[SESSION_CLAIM]))
        view = (request.parser_context or {}).get("view")
        if request.method in ("GET", "HEAD") and isinstance(view, SessionCheckedByRead):
            pending = PendingSession(request, session_id, token.payload)
            request.pending_session = pending  # type: ignore[attr-defined]
            return pending.user, token
        user = accept_session(session_with_user(session_id), token.payload)
        request.session_id = session_id  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def accept_session(session: Session | None, claims: Mapping[str, Any]) -> User:
    """The signed-in user, when `session` (read for the access token's `sid`) is live and the token's; else
    TokenInvalid. Marks the session used (at most once a minute)."""
    if (
        session is None
        or not session.is_live
        or str(session.user_id) != str(claims["user_id"])
        or not session.user.is_active
    ):
        raise TokenInvalid()
    session_touch(session=session)
    return session.user


class PendingSession:
    """A verified access token whose session the view's own read checks, in the same statement.

    Until then `request.user` is the user the token names with only its id loaded (any other field is read
    from the database if touched, so nothing is ever answered from a guess). The read embeds the session lookup
    (`accounts.selectors.session_cte`) and hands what it found to `check`, which applies the very
    checks of `accept_session` and puts the real user on the request, or raises TokenInvalid (401). Whatever
    path the view takes instead (a 400 before its read, a 404, a filtered list that reads no session),
    `SessionCheckedByRead.finalize_response` checks the session with a query of its own before anything is
    answered: an ended session is refused on its next request, always.
    """

    __slots__ = ("checked", "claims", "request", "session_id", "user")

    def __init__(self, request: Request, session_id: uuid.UUID, claims: Mapping[str, Any]) -> None:
        self.request = request
        self.session_id = session_id
        self.claims = claims
        self.user = User.from_db(router.db_for_read(User), ["id"], [uuid.UUID(str(claims["user_id"]))])
        self.checked = False

    def check(self, session: Session | None) -> None:
        self.checked = True
        try:
            user = accept_session(session, self.claims)
        except TokenInvalid:
            self.request.user = AnonymousUser()
            raise
        self.request.user = user
        self.request.session_id = self.session_id  # type: ignore[attr-defined]

    def check_now(self) -> None:
        self.check(session_with_user(self.session_id))

    def param(self, alias: str) -> Any:
        """The session's id, ready for the embedded lookup's one parameter (`session_cte`)."""
        return session_param(self.session_id, alias)

    def check_columns(self, alias: str, values: Sequence[Any]) -> None:
        """`check` on what the embedded lookup found: its columns as the read's statement gave them."""
        self.check(session_from_columns(alias, values))


def pending_session(request: Request) -> PendingSession | None:
    """The request's session still to be checked by its read, if any."""
    pending = getattr(request, "pending_session", None)
    return pending if pending is not None and not pending.checked else None


class SessionCheckedByRead:
    """For APIViews whose GET reads check the session in their own statement (PendingSession).

    Only GET and HEAD are deferred: every other method checks the session before the view runs, as any view.
    """

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        pending = pending_session(request)
        if pending is not None:
            try:
                pending.check_now()
            except (APIException, ApplicationError) as exc:
                response = self.handle_exception(exc)  # type: ignore[attr-defined]
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc, no-any-return]
