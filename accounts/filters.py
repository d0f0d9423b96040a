"""Filters, search and ordering of the staff's user list (GET /api/v1/users/)."""

from __future__ import annotations

import django_filters

from accounts.models import User
from config.http.filters import OrderingFilter, SearchFilter, StrictBooleanFilter

ORDERING_FIELDS = ("email", "date_joined", "last_login", "full_name")


class StaffUserFilter(django_filters.rest_framework.FilterSet):
    is_active = StrictBooleanFilter(field_name="is_active", help_text="true or false")
    is_staff = StrictBooleanFilter(field_name="is_staff", help_text="true or false")
    email_verified = StrictBooleanFilter(field_name="email_verified", help_text="true or false")
    search = SearchFilter(fields=("email", "full_name"), help_text="Words that must each appear in the email or name.")
    # Users who never signed in (`last_login` null) come last either way; the unique email breaks ties, so a
    # page boundary inside a run of equal names or dates never repeats or skips a user.
    ordering = OrderingFilter(keys=ORDERING_FIELDS, tiebreak="email", nullable=("last_login",))

    class Meta:
        model = User
        fields = ["is_active", "is_staff", "email_verified"]
