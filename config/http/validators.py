"""Validators of request fields shared by every app (the schema describes them: config/http/schema.py)."""

from __future__ import annotations

import unicodedata

from rest_framework import serializers


def single_line(value: str) -> None:
    """A name is one line of text: no newlines or other control characters.

    Names are rendered into emails, including the verification email a stranger can have sent to any
    address by signing up with it; a multi-line "name" would let them lay out text of their own there.
    """
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise serializers.ValidationError("Must be a single line of text, without control characters.")


class NotBlank:
    """Something besides whitespace, in a field that keeps the whitespace it is given (trim_whitespace=False)."""

    def __init__(self, message: str = "This field may not be blank.") -> None:
        self.message = message

    def __call__(self, value: str) -> None:
        if not value.strip():
            raise serializers.ValidationError(self.message)
