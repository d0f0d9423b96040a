"""Bearer authentication that checks the token's session on every request.

The JWT is verified without I/O; then one indexed query (the session by primary key, joined to its user)
decides whether the session is still live, so an ended session's tokens fail on the very next request on
every app instance.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import Session
from accounts.services import session_touch
from accounts.tokens import SESSION_CLAIM, decode_access
from config.errors import TokenInvalid


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
        session = (
            Session.objects.select_related("user")
            .filter(pk=token[SESSION_CLAIM], ended_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if session is None or str(session.user_id) != str(token["user_id"]) or not session.user.is_active:
            raise TokenInvalid()
        session_touch(session=session)
        request.session_id = session.pk  # type: ignore[attr-defined]
        return session.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
