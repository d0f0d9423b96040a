"""Filters, search and ordering of the staff's user list (GET /api/v1/users/)."""

from __future__ import annotations

import unicodedata
from functools import reduce
from operator import or_
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from accounts.addresses import email_search_fragments
from accounts.models import User
from config.http.filters import MAX_SEARCH_TERMS, OrderingFilter, SearchFilter, StrictBooleanFilter

ORDERING_FIELDS = ("email", "date_joined", "last_login", "full_name")


def user_search(queryset: QuerySet[Any], terms: list[str]) -> QuerySet[Any]:
    """Users matching every term on the email or the name.

    Emails are stored canonical (accounts/addresses.py), so a term is matched against them in the same form:
    `VICTIM@example.com` with a fullwidth e finds `victim@example.com`, and `bücher` finds `xn--bcher-kva.de`.
    Names are matched in any case, in every script (`folded_contains`).
    """
    for term in terms:
        matches = [Q(email__icontains=fragment) for fragment in email_search_fragments(term) if fragment]
        matches.append(Q(full_name__folded_contains=unicodedata.normalize("NFKC", term)))
        queryset = queryset.filter(reduce(or_, matches))
    return queryset


class UserSearchFilter(SearchFilter):
    """`?search=` on the staff's user list: see `user_search`."""

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        return user_search(qs, (value or "").split()[:MAX_SEARCH_TERMS])


class StaffUserFilter(django_filters.rest_framework.FilterSet):
    is_active = StrictBooleanFilter(field_name="is_active", help_text="true or false")
    is_staff = StrictBooleanFilter(field_name="is_staff", help_text="true or false")
    email_verified = StrictBooleanFilter(field_name="email_verified", help_text="true or false")
    search = UserSearchFilter(
        fields=("email", "full_name"), help_text="Words that must each appear in the email (any spelling) or name."
    )
    # Users who never signed in (`last_login` null) come last either way; the unique email breaks ties, so a
    # page boundary inside a run of equal names or dates never repeats or skips a user.
    ordering = OrderingFilter(keys=ORDERING_FIELDS, tiebreak="email", nullable=("last_login",))

    class Meta:
        model = User
        fields = ["is_active", "is_staff", "email_verified"]
