"""Validators of request fields shared by every app (the schema describes them: config/http/schema.py)."""

from __future__ import annotations

import unicodedata

from rest_framework import serializers

# Unicode's own line and paragraph separators (categories Zl, Zp) break a line as \n does; the bidi embeddings
# and overrides (U+202A..U+202E) make text display in another order than it reads ("Trojan Source"). The
# isolates (U+2066..U+2069), which mixed-direction names need, stay allowed.
_NOT_IN_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})
_BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")


def single_line(value: str) -> None:
    """A name is one line of text: no newlines (of any kind), control characters or bidi overrides.

    Names are rendered into emails, and into their subject lines, including the verification email a stranger
    can have sent to any address by signing up with it and the invitation an owner sends to any address; a
    multi-line or reordered "name" would let them lay out text of their own there.
    """
    if any(unicodedata.category(char) in _NOT_IN_ONE_LINE or char in _BIDI_OVERRIDES for char in value):
        raise serializers.ValidationError(
            "Must be a single line of text, without control characters or direction overrides."
        )


class NotBlank:
    """Something besides whitespace, in a field that keeps the whitespace it is given (trim_whitespace=False)."""

    def __init__(self, message: str = "This field may not be blank.") -> None:
        self.message = message

    def __call__(self, value: str) -> None:
        if not value.strip():
            raise serializers.ValidationError(self.message)
