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


# Look-alike characters people put in place of letters ("T4skd3sk"), read back as the letters they stand for.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


class ContextWordsValidator:
    """Refuses a password that is little more than a word of this service's context (ASVS 5.0 6.1.2, 6.2.11).

    The documented list is settings.PASSWORD_CONTEXT_WORDS (docs/security.md). Each word found in the
    password (any case, digits and symbols read as the letters they imitate) is taken out; if what is left
    is shorter than the minimum length, the password was the word plus a suffix ("Taskdesk2024!") and is
    refused. A long passphrase that merely contains one of the words is fine.
    """

    def __init__(self, words: tuple[str, ...] = (), min_rest: int = 8) -> None:
        self.words = tuple(sorted({word.casefold() for word in words if word}, key=len, reverse=True))
        self.min_rest = min_rest

    def validate(self, password: str, user: Any = None) -> None:
        text = password.casefold().translate(_LEET)
        found = [word for word in self.words if word in text]
        if not found:
            return
        for word in found:
            text = text.replace(word, "")
        if len(text) < self.min_rest:
            raise ValidationError(
                f"This password is too close to the name of this service ({found[0]!r}). "
                "Choose one that is not built around it.",
                code="password_context_word",
            )

    def get_help_text(self) -> str:
        return "Your password cannot be built around the name of this service."


def validate_email_characters(value: str) -> None:
    """No invisible, formatting or control character in an address: they make look-alikes of real ones."""
    if refused_characters(value or ""):
        raise ValidationError(INVISIBLE_MESSAGE, code="invisible_characters")
