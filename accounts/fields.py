"""Encryption of secrets kept in the database (TOTP secrets), with keys from FIELD_ENCRYPTION_KEY.

MultiFernet (AES-128-CBC with HMAC-SHA256, from `cryptography`): the first key of FIELD_ENCRYPTION_KEYS
encrypts, every key decrypts, so a new key is put first and the old ones stay behind it until
`rotate_field_encryption` has re-encrypted every row. A database dump without the keys yields no secret.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    # Keyed on the keys themselves, so a test (or a reload) that changes the setting gets its own instance.
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text, or InvalidToken when no configured key made it, or it was tampered with or mangled."""
    try:
        return _current().decrypt(token.encode()).decode()
    except (ValueError, TypeError) as exc:  # not even base64: mangled, as a tampered token is
        raise InvalidToken() from exc


def reencrypt(token: str) -> str:
    """The same plain text encrypted with the first key (MultiFernet.rotate)."""
    return _current().rotate(token.encode()).decode()
