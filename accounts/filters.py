"""Filters, search and ordering of the staff's user list (GET /api/v1/users/)."""

from __future__ import annotations

import unicodedata
from functools import reduce
from operator import or_
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from accounts.addresses import email_search_fragments
from accounts.models import User

_TRUE = {"true", "1"}
_BOOLEAN_CHOICES = [(value, value) for value in ("true", "false", "True", "False", "1", "0")]


def _to_bool(value: str) -> bool:
    return value.lower() in _TRUE


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true`/`false` (or `1`/`0`); anything else is a 400 rather than a silently ignored filter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", _BOOLEAN_CHOICES)
        kwargs.setdefault("coerce", _to_bool)
        super().__init__(*args, **kwargs)


class StaffUserFilter(django_filters.rest_framework.FilterSet):
    is_active = StrictBooleanFilter(field_name="is_active", help_text="true or false")
    is_staff = StrictBooleanFilter(field_name="is_staff", help_text="true or false")
    email_verified = StrictBooleanFilter(field_name="email_verified", help_text="true or false")

    class Meta:
        model = User
        fields = ["is_active", "is_staff", "email_verified"]


class UserOrderingFilter(OrderingFilter):
    """DRF's `?ordering=` with two fixes for paging a user list.

    Users who never signed in (`last_login` null) come last either way, on PostgreSQL and SQLite alike
    (they disagree on where NULLs sort); and the unique email breaks ties, so a page boundary inside a run
    of equal names or dates never repeats or skips a user.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        terms = []
        names = set()
        for term in ordering:
            name = term.lstrip("-")
            names.add(name)
            terms.append(F(name).desc(nulls_last=True) if term.startswith("-") else F(name).asc(nulls_last=True))
        if "email" not in names:
            terms.append(F("email").asc())
        return queryset.order_by(*terms)


def user_search(queryset: QuerySet[Any], terms: list[str]) -> QuerySet[Any]:
    """Users matching every term on the email or the name.

    Emails are stored canonical (accounts/addresses.py), so a term is matched against them in the same form:
    `VICTIM@example.com` with a fullwidth e finds `victim@example.com`, and `bücher` finds `xn--bcher-kva.de`.
    Names are matched as written (NFKC only: a case-folded `Straße` would no longer find `Straße`).
    """
    for term in terms:
        matches = [Q(email__icontains=fragment) for fragment in email_search_fragments(term) if fragment]
        matches.append(Q(full_name__icontains=unicodedata.normalize("NFKC", term)))
        queryset = queryset.filter(reduce(or_, matches))
    return queryset


class UserSearchFilter(SearchFilter):
    """`?search=` on the staff's user list: see `user_search`."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        return user_search(queryset, self.get_search_terms(request))
