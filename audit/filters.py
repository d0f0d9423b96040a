"""Query filters of the event list: `user`, `event`, `since`, `until`.

A malformed value is a 400 `validation_error` naming the parameter, never a 500 and never silently
ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from audit.models import Event, EventType
from config.http.filters import CommaListWidget, WhenFilter

_MAX_EVENT_NAMES = 50


class EventTypesField(forms.Field):
    widget = CommaListWidget
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


@extend_schema_field(OpenApiTypes.UUID)
class UserFilter(django_filters.UUIDFilter):
    pass


class EventTypesFilter(django_filters.Filter):
    field_class = EventTypesField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {"type": "string", "enum": sorted(EventType.values)}
        schema = {"type": "array", "items": names, "maxItems": _MAX_EVENT_NAMES}
        set_override(self, "field", {**schema, "description": self.extra["help_text"]})


class EventFilter(django_filters.FilterSet):
    user = UserFilter(method="filter_user", help_text="Staff only: the events concerning this user (id).")
    actor = UserFilter(method="filter_actor", help_text="Staff only: the events this user did (id).")
    event = EventTypesFilter(
        method="filter_event",
        help_text="One or several event types, comma-separated: auth.login_failed,auth.locked_out.",
    )
    since = WhenFilter(method="filter_since", help_text="ISO 8601 datetime or date (from the start of that day, UTC).")
    until = WhenFilter(
        method="filter_until", help_text="ISO 8601 datetime (inclusive) or date (to the end of that day, UTC)."
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            since, until = self.form.cleaned_data.get("since"), self.form.cleaned_data.get("until")
            if since is not None and until is not None and since[0] > _end_of(until):
                self.form.add_error("until", "until must not be earlier than since.")
                return False
        return valid

    def _staff(self) -> bool:
        user = getattr(self.request, "user", None)
        return bool(user is not None and user.is_staff)

    def filter_user(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet[Event]:
        # Someone else's events are staff-only: for anyone else the list is already their own, and stays so.
        return queryset.filter(user_id=value) if self._staff() else queryset

    def filter_actor(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet[Event]:
        return queryset.filter(actor_id=value) if self._staff() else queryset

    def filter_event(self, queryset: QuerySet[Event], name: str, value: list[str]) -> QuerySet[Event]:
        return queryset.filter(event__in=value) if value else queryset

    def filter_since(self, queryset: QuerySet[Event], name: str, value: tuple[datetime, bool]) -> QuerySet[Event]:
        return queryset.filter(created_at__gte=value[0])

    def filter_until(self, queryset: QuerySet[Event], name: str, value: tuple[datetime, bool]) -> QuerySet[Event]:
        instant, is_date = value
        if not is_date:
            return queryset.filter(created_at__lte=instant)
        try:
            # A date means that whole day.
            return queryset.filter(created_at__lt=instant + timedelta(days=1))
        except OverflowError:  # the last day of year 9999
            return queryset


def _end_of(value: tuple[datetime, bool]) -> datetime:
    instant, is_date = value
    if not is_date:
        return instant
    try:
        return instant + timedelta(days=1) - timedelta(microseconds=1)
    except OverflowError:
        return datetime.max.replace(tzinfo=instant.tzinfo)
