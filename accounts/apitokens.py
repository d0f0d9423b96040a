"""Personal API tokens as values: their format, their digest, and what their scopes allow.

A token is `tdk_<32 hex: the row's id>_<43 url-safe characters: 256 random bits>`. The `tdk_` prefix lets the
authentication tell one from a JWT without decoding anything, and secret scanners recognise it (and so does
config/http/redact.py, which keeps it out of the audit log and error reports).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "tdk_"
_ID_HEX = 32
SCOPE_FAMILIES = ("tasks", "projects")
SCOPES = tuple(f"{family}:{access}" for family in SCOPE_FAMILIES for access in ("read", "write"))
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Parsed:
    token_id: uuid.UUID
    secret: str


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def compose(token_id: uuid.UUID, secret: str) -> str:
    return f"{PREFIX}{token_id.hex}_{secret}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(raw: str) -> Parsed | None:
    """The id and secret of a well-formed token; None for anything else (never raises)."""
    if not raw.startswith(PREFIX):
        return None
    body = raw[len(PREFIX) :]
    id_hex, sep, secret = body[:_ID_HEX], body[_ID_HEX : _ID_HEX + 1], body[_ID_HEX + 1 :]
    if sep != "_" or not secret or len(secret) > 128:
        return None
    try:
        return Parsed(token_id=uuid.UUID(hex=id_hex), secret=secret)
    except ValueError:
        return None


def secret_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def allows(scopes: Iterable[str], *, family: str | tuple[str, ...] | None, method: str) -> bool:
    """Whether a token with `scopes` may call a view of scope `family` (None: no token may; several, as sync
    answers tasks and projects: each of them) with `method`.

    Safe methods need `<family>:read`, others `<family>:write`; a write scope includes its read.
    """
    if not family:
        return False
    granted = set(scopes)
    safe = method.upper() in SAFE_METHODS
    families = (family,) if isinstance(family, str) else family
    return all(f"{name}:write" in granted or (safe and f"{name}:read" in granted) for name in families)
