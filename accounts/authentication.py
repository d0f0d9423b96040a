"""Bearer authentication: session access tokens (JWT) and personal API tokens (`tdk_...`).

The JWT is verified without I/O; then one indexed query (the session by primary key, joined to its user)
decides whether the session is still live, so an ended session's tokens fail on the very next request on
every app instance. A personal API token costs the same: one query (the token by primary key, joined to its
user), then a constant-time comparison of digests.
"""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts import apitokens
from accounts.selectors import api_token_with_user, session_with_user
from accounts.services.api_tokens import api_token_touch
from accounts.services.sessions import session_touch
from accounts.tokens import SESSION_CLAIM, decode_access
from config.http.errors import InsufficientScope, TokenInvalid

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
        session = session_with_user(uuid.UUID(str(token[SESSION_CLAIM])))
        if (
            session is None
            or not session.is_live
            or str(session.user_id) != str(token["user_id"])
            or not session.user.is_active
        ):
            raise TokenInvalid()
        session_touch(session=session)
        request.session_id = session.pk  # type: ignore[attr-defined]
        return session.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
