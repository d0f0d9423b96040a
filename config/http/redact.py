"""What counts as a secret, for everything that records requests: the audit log and error reports.

A key naming a secret (`password`, `new_password`, `refresh_token`, `reset_link`, `Authorization`, ...) loses
its value wherever it appears; a value that is a credential whatever its key (anything holding a JWT, a
personal API token, or a whole `Bearer ...` header) is replaced.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Exact names, and fragments that mark a secret wherever they appear in a key.
_SECRET_KEYS = {"access", "refresh"}
_SECRET_KEY_FRAGMENTS = ("password", "passwd", "token", "secret", "authorization", "cookie", "api_key", "link")
# A JWT is three base64url parts, the first a JSON header (`eyJ`); personal API tokens start `tdk_`.
_CREDENTIAL = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+|\btdk_[\w-]{8,}")
_AUTHORIZATION = re.compile(r"\s*bearer\s+\S+\s*", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name in _SECRET_KEYS or any(fragment in name for fragment in _SECRET_KEY_FRAGMENTS)


def is_credential(value: str) -> bool:
    return bool(_CREDENTIAL.search(value) or _AUTHORIZATION.fullmatch(value))


def redact_credentials(value: str) -> str:
    """The text with every credential in it replaced (a log line or an error message keeps its sense)."""
    if _AUTHORIZATION.fullmatch(value):
        return REDACTED
    return _CREDENTIAL.sub(REDACTED, value)
