"""Output formats shared by the hand-written serializers of the hot paths."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | str | None) -> str | None:
    """The API's timestamp format: ISO 8601 in UTC with a `Z`, as DRF's DateTimeField writes it. A string is
    a timestamp the database wrote in this format already (tasks/selectors/tasks.py, the default page)."""
    if value is None or isinstance(value, str):
        return value
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
