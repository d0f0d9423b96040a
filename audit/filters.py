"""Query filters of the event list: `user`, `event`, `since`, `until`.

A malformed value is a 400 `validation_error` naming the parameter, never a 500 and never silently
ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from audit.models import Event, EventType

# `?since=2026-11-24T10:00:00+02:00` sent without URL-encoding arrives with a space for the `+`.
_UNENCODED_OFFSET = re.compile(r"^(?P<stamp>.+[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (?P<offset>\d{2}(?::?\d{2})?)$")
_MAX_EVENT_NAMES = 50


class CommaSeparatedWidget(forms.Widget):
    """`?event=a,b` and `?event=a&event=b` alike, as one list of names."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str] | None:
        raw = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        raw = [value for value in raw if value is not None]
        if not raw:
            return None
        return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


class EventTypesField(forms.Field):
    widget = CommaSeparatedWidget
    default_error_messages = {
        "invalid_choice": "Unknown event type %(value)s; expected dotted names such as auth.login_failed.",
        "too_many": "At most %(max)s event types at once.",
    }

    def to_python(self, value: Any) -> list[str]:
        return list(dict.fromkeys(value or []))

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > _MAX_EVENT_NAMES:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": _MAX_EVENT_NAMES}
            )
        known = set(EventType.values)
        for name in value:
            if name not in known:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": repr(name[:80])}
                )


class DateOrDateTimeField(forms.Field):
    """An ISO 8601 date (`2026-11-24`) or datetime (`2026-11-24T10:00:00Z`); naive datetimes are UTC."""

    default_error_messages = {
        "invalid": "Enter an ISO 8601 date (2026-11-24) or datetime (2026-11-24T10:00:00Z).",
    }

    def to_python(self, value: Any) -> date | datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if match := _UNENCODED_OFFSET.match(text):
            text = f"{match['stamp']}+{match['offset']}"
        try:
            if len(text) <= 10 and (day := parse_date(text)) is not None:
                return day
            moment = parse_datetime(text)
            if moment is None:
                raise ValueError(text)
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            # Normalised now, so an offset that pushes year 1 or 9999 over the edge fails here, as a 400.
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


def _start_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def _end_of(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.max, tzinfo=UTC)


@extend_schema_field(OpenApiTypes.UUID)
class UserFilter(django_filters.UUIDFilter):
    pass


class DateOrDateTimeFilter(django_filters.Filter):
    field_class = DateOrDateTimeField


class EventTypesFilter(django_filters.Filter):
    field_class = EventTypesField


class EventFilter(django_filters.FilterSet):
    user = UserFilter(method="filter_user", help_text="Staff only: the events of this user (id).")
    event = EventTypesFilter(
        method="filter_event",
        help_text="One or several event types, comma-separated: auth.login_failed,auth.locked_out.",
    )
    since = DateOrDateTimeFilter(
        method="filter_since", help_text="ISO 8601 datetime or date (from the start of that day, UTC)."
    )
    until = DateOrDateTimeFilter(
        method="filter_until", help_text="ISO 8601 datetime (inclusive) or date (to the end of that day, UTC)."
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
            if since is not None and until is not None and _start_of(since) > _end_of(until):
                self.form.add_error("until", "until must not be earlier than since.")
                return False
        return valid

    def filter_user(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet[Event]:
        # Someone else's events are staff-only: for anyone else the list is already their own, and stays so.
        if not getattr(self.request, "user", None) or not self.request.user.is_staff:
            return queryset
        return queryset.filter(user_id=value)

    def filter_event(self, queryset: QuerySet[Event], name: str, value: list[str]) -> QuerySet[Event]:
        return queryset.filter(event__in=value) if value else queryset

    def filter_since(self, queryset: QuerySet[Event], name: str, value: date | datetime) -> QuerySet[Event]:
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_until(self, queryset: QuerySet[Event], name: str, value: date | datetime) -> QuerySet[Event]:
        if isinstance(value, datetime):
            return queryset.filter(created_at__lte=value)
        if value == date.max:
            return queryset
        # A date means that whole day.
        return queryset.filter(created_at__lt=_start_of(value + timedelta(days=1)))
