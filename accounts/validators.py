from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from accounts.addresses import INVISIBLE_MESSAGE, refused_characters


class MaximumLengthValidator:
    """Passwords are used whole, never truncated, so a bound keeps hashing cost predictable."""

    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long. It must contain at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."


def validate_email_characters(value: str) -> None:
    """No invisible, formatting or control character in an address: they make look-alikes of real ones."""
    if refused_characters(value or ""):
        raise ValidationError(INVISIBLE_MESSAGE, code="invisible_characters")
