"""The API's request body parser: JSON that is also text, or a 400 before any view sees it."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# After decoding, a surrogate code point in a string can only be a lone one: a proper pair ("\ud83d\ude00")
# decodes to the one character it encodes.
_SURROGATE = re.compile("[\ud800-\udfff]")

LONE_SURROGATE = (
    "JSON parse error - the body contains a lone UTF-16 surrogate escape (\\ud800 to \\udfff), "
    "which is not a character."
)


def _has_lone_surrogate(data: Any) -> bool:
    """Whether any string in the parsed body, object keys included and at any depth, holds a lone surrogate."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing a body with a lone surrogate escape such as "\\ud800" (400 parse_error).

    Python's json module accepts such an escape and yields a string that is not text: it cannot be encoded
    as UTF-8, so whatever touched it next failed with a 500 (hashing an email for a rate limit,
    fingerprinting a body for an Idempotency-Key, rendering an error message that repeats the input,
    writing it to PostgreSQL). Refused once, here, no later code ever sees one. Bytes that are not UTF-8
    at all are already a parse error in DRF's parser.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _has_lone_surrogate(data):
            raise ParseError(LONE_SURROGATE)
        return data
