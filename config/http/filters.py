"""Query-string parameters shared by every list: booleans, comma lists, instants, ordering and search.

Each is a django-filter Filter whose form field validates the value, so a malformed one is a 400
`validation_error` naming the parameter (django-filter's DRF backend raises it), on every list alike, and the
OpenAPI schema states the values each accepts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import django_filters as df
from django import forms
from django.db import models
from django.db.models import F, Lookup, OrderBy, Q, QuerySet
from django.db.models.lookups import IContains
from drf_spectacular.drainage import set_override

from config.http.dates import MESSAGE as WHEN_MESSAGE
from config.http.dates import parse_when

# A UUID as Python's uuid.UUID reads one: hex digits in the usual groups, the hyphens optional.
UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10
_WHEN_PARAMETER: dict[str, Any] = {
    "type": "string",
    "anyOf": [{"format": "date-time"}, {"format": "date"}],
    "example": "2030-01-31T17:00:00Z",
    "description": "ISO 8601 datetime (naive means UTC) or date.",
}


def split_commas(values: Iterable[object]) -> list[str]:
    """`?x=a,b&x=c` as ["a", "b", "c"]: every comma-separated list parameter is read by this, and only this."""
    return [part.strip() for value in values if value is not None for part in str(value).split(",") if part.strip()]


class CommaListWidget(forms.Widget):
    """The parameter repeated, or comma-separated, or both, as one list."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str] | None:
        raw = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        raw = [value for value in raw if value is not None]
        return split_commas(raw) if raw else None


# Booleans ---------------------------------------------------------------------------------------------

_TRUE = {"true", "1"}
_BOOLEAN_CHOICES = [(value, value) for value in ("true", "false", "1", "0")]


def _to_bool(value: str) -> bool:
    return value.lower() in _TRUE


class StrictBooleanFilter(df.TypedChoiceFilter):
    """`true`/`false` (or `1`/`0`); anything else is a 400 rather than a silently ignored filter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", _BOOLEAN_CHOICES)
        kwargs.setdefault("coerce", _to_bool)
        super().__init__(*args, **kwargs)
        # A boolean on the wire (true/false; 1/0 are read too), not an enum of its spellings.
        set_override(self, "field", {"type": "boolean", "description": self.extra.get("help_text", "")})


# Instants ---------------------------------------------------------------------------------------------


class WhenFormField(forms.Field):
    """An ISO 8601 datetime or date; cleans to (instant in UTC, was it a bare date)."""

    default_error_messages = {"invalid": WHEN_MESSAGE}

    def to_python(self, value: Any) -> tuple[datetime, bool] | None:
        if value in self.empty_values:
            return None
        try:
            return parse_when(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class WhenFilter(df.Filter):
    field_class = WhenFormField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_override(self, "field", {**_WHEN_PARAMETER, "description": self.extra.get("help_text", "")})


# Ordering ---------------------------------------------------------------------------------------------


class OrderingFormField(forms.Field):
    """A comma-separated list of the allowed keys, each optionally prefixed with `-` for descending."""

    def __init__(self, *args: Any, keys: tuple[str, ...], **kwargs: Any) -> None:
        self.keys = keys
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> list[str]:
        terms = list(dict.fromkeys(split_commas([value] if isinstance(value, str) else [])))
        for term in terms:
            if term.removeprefix("-") not in self.keys:
                raise forms.ValidationError(
                    "Order by " + ", ".join(self.keys) + " (prefix - for descending).", code="invalid"
                )
        return terms


class OrderingFilter(df.Filter):
    """`?ordering=-priority,due_at` over `keys`. Nullable keys sort their nulls last either way, on PostgreSQL
    and SQLite alike (they disagree by default); `tiebreak`, a unique column, makes pages stable."""

    field_class = OrderingFormField

    def __init__(
        self, *, keys: tuple[str, ...], tiebreak: str, nullable: tuple[str, ...] = (), help_text: str = ""
    ) -> None:
        self.keys, self.tiebreak, self.nullable = keys, tiebreak, nullable
        super().__init__(keys=keys, help_text=help_text)
        choices = "|".join(keys)
        set_override(
            self,
            "field",
            {
                "type": "string",
                "pattern": rf"^-?({choices})(,-?({choices}))*$",
                "example": f"-{keys[0]}",
                "description": help_text
                or "Comma-separated keys among " + ", ".join(keys) + ", each with an optional - for descending.",
            },
        )

    def _order_by(self, term: str) -> OrderBy:
        name = term.removeprefix("-")
        # A plain ORDER BY on a column that is never null can walk an index.
        nulls_last = True if name in self.nullable else None
        return F(name).desc(nulls_last=nulls_last) if term.startswith("-") else F(name).asc(nulls_last=nulls_last)

    def filter(self, qs: QuerySet[Any], value: list[str]) -> QuerySet[Any]:
        if not value:
            return qs
        terms = [self._order_by(term) for term in value]
        if self.tiebreak not in {term.removeprefix("-") for term in value}:
            # In the direction of the first key, so the index of that key serves both.
            terms.append(F(self.tiebreak).desc() if value[0].startswith("-") else F(self.tiebreak).asc())
        return qs.order_by(*terms)


# Search -----------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case-insensitive comparison form of any text, not only ASCII: "Ünïc" and "ünïc" fold alike."""
    return unicodedata.normalize("NFKC", text).casefold()


def _fold_or_null(value: str | None) -> str | None:
    return None if value is None else fold(value)


def sqlite_fold_function(connection: Any) -> str:
    """Makes `taskdesk_fold(text)` (Python's `fold`) callable in this SQLite connection's SQL; returns its name.

    Registered once per database connection (the wrapper outlives reconnects, so it remembers which).
    """
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_taskdesk_fold_on", None) is not raw:
        raw.create_function("taskdesk_fold", 1, _fold_or_null, deterministic=True)
        connection._taskdesk_fold_on = raw
    return "taskdesk_fold"


@models.CharField.register_lookup
@models.TextField.register_lookup
class FoldedContains(Lookup):
    """`field__folded_contains=term`: case-insensitive containment for every script, on both databases.

    PostgreSQL's ILIKE already folds non-ASCII letters; SQLite's LIKE folds ASCII only, so there the column
    and the term go through Python's casefold (a function registered on the connection).
    """

    lookup_name = "folded_contains"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        return IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        sqlite_fold_function(connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"instr(taskdesk_fold({lhs}), %s) > 0", (*lhs_params, fold(str(self.rhs)))


class SearchFilter(df.CharFilter):
    """`?search=` words that must each appear, case-insensitively, in one of `fields`."""

    def __init__(self, *, fields: tuple[str, ...], help_text: str) -> None:
        self.fields = fields
        super().__init__(max_length=MAX_SEARCH_LENGTH, help_text=help_text)
        set_override(self, "field", {"type": "string", "maxLength": MAX_SEARCH_LENGTH, "description": help_text})

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        for term in (value or "").split()[:MAX_SEARCH_TERMS]:
            match = Q()
            for field in self.fields:
                match |= Q(**{f"{field}__folded_contains": term})
            qs = qs.filter(match)
        return qs
