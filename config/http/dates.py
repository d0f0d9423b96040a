"""ISO 8601 instants in input: a datetime (naive means UTC) or a bare date. The one parser for bodies and query
strings alike (due dates, the task list's due filters, the audit log's since/until)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

MESSAGE = "Enter a valid ISO 8601 date (2030-01-31) or datetime (2030-01-31T17:00:00Z)."
_MAX_LENGTH = 64
# `?since=2026-11-24T10:00:00+02:00` sent without URL-encoding arrives with a space for the `+`.
_UNENCODED_OFFSET = re.compile(r"^(?P<stamp>.+[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (?P<offset>\d{2}(?::?\d{2})?)$")


def parse_when(text: object) -> tuple[datetime, bool]:
    """Returns the instant (aware, UTC) and whether the input was a bare date (meaning its midnight, UTC).

    Raises ValueError for anything else, including out-of-range values, so callers answer 400, never 500.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > _MAX_LENGTH:
        raise ValueError(MESSAGE)
    text = text.strip()
    if match := _UNENCODED_OFFSET.match(text):
        text = f"{match['stamp']}+{match['offset']}"
    try:
        if "T" not in text.upper() and " " not in text and ":" not in text:
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC), True
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC), False
    except (ValueError, OverflowError):
        raise ValueError(MESSAGE) from None
