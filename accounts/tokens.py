"""JSON Web Tokens bound to a session.

Both tokens carry the session id (`sid`); the refresh token's `jti` names the one rotation of the session
it belongs to. Signing and verification (signature, algorithm, expiry, token type) are simplejwt's.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from config.http.errors import TokenInvalid

SESSION_CLAIM = "sid"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    # Seconds until the refresh token expires: the cookie mode's Max-Age (accounts/cookies.py).
    refresh_expires_in: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "access": self.access,
            "refresh": self.refresh,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def _stamp(token: Token, *, user_id: str, session_id: str, now: datetime, expires: datetime) -> str:
    token.set_iat(at_time=now)
    token.set_exp(from_time=now, lifetime=expires - now)
    token["user_id"] = user_id
    token[SESSION_CLAIM] = session_id
    return str(token)


def issue_pair(*, user_id: str, session_id: str, refresh_jti: str, session_expires_at: datetime) -> TokenPair:
    """Mints an access token and the refresh token `refresh_jti` for a live session."""
    now = timezone.now()
    access_lifetime = timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)
    access_expires = min(now + access_lifetime, session_expires_at)
    refresh_expires = min(now + timedelta(days=settings.REFRESH_TOKEN_DAYS), session_expires_at)
    access = AccessToken()
    refresh = RefreshToken()
    refresh["jti"] = refresh_jti
    return TokenPair(
        access=_stamp(access, user_id=user_id, session_id=session_id, now=now, expires=access_expires),
        refresh=_stamp(refresh, user_id=user_id, session_id=session_id, now=now, expires=refresh_expires),
        expires_in=max(0, int((access_expires - now).total_seconds())),
        refresh_expires_in=max(0, int((refresh_expires - now).total_seconds())),
    )


def decode(raw: str | bytes, kind: type[Token]) -> Token:
    """A verified token of `kind`, or TokenInvalid. Never trusts the token's own `alg` header."""
    try:
        token = kind(raw)  # type: ignore[arg-type]
    except TokenError:
        raise TokenInvalid() from None
    # Both claims are primary keys looked up next; a value that is not a UUID would make the lookup raise
    # (a 500), so it is refused here like any other bad token.
    for claim in (SESSION_CLAIM, "user_id"):
        try:
            uuid.UUID(str(token.get(claim)))
        except ValueError:
            raise TokenInvalid() from None
    return token


def decode_refresh(raw: str) -> Token:
    return decode(raw, RefreshToken)


# Access tokens this process has verified: (signing key, the token's exact bytes) -> its claims. A client
# sends the same access token on every request for its lifetime, and verifying it (base64, JSON, HMAC, the
# claims, through simplejwt's and PyJWT's layers) is a good share of an authenticated request's work. A hit
# needs the identical bytes, signature included, under the same key; only the expiry moves with the clock,
# and it is checked on every use. Whether the session is still live is decided after this, on every request.
_VERIFIED_MAX = 2048
_verified: dict[tuple[str, bytes], dict[str, Any]] = {}


def decode_access(raw: str | bytes) -> Token:
    key = (api_settings.SIGNING_KEY, raw.encode() if isinstance(raw, str) else raw)
    claims = _verified.get(key)
    if claims is None:
        token = decode(raw, AccessToken)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = dict(token.payload)
        return token
    if claims["exp"] <= time.time():
        _verified.pop(key, None)
        raise TokenInvalid()
    # The token as AccessToken(raw) would build it, without verifying what was verified already.
    token = AccessToken.__new__(AccessToken)
    token.token = raw  # type: ignore[assignment]
    token.current_time = timezone.now()
    token.payload = dict(claims)
    return token
