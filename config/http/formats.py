"""Output formats shared by the hand-written serializers of the hot paths."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    """The API's timestamp format: ISO 8601 in UTC with a `Z`, as DRF's DateTimeField writes it."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
