"""Bearer authentication that checks the token's session on every request.

The JWT is verified without I/O; then one indexed query (the session by primary key, joined to its user)
decides whether the session is still live, so an ended session's tokens fail on the very next request on
every app instance.
"""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.selectors import session_with_user
from accounts.services.sessions import session_touch
from accounts.tokens import SESSION_CLAIM, decode_access
from config.http.errors import TokenInvalid


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
