"""Pagination for every list: `?page=` and `?page_size=` (default 20, at most 100).

Malformed values are refused the same way on every list: a `page` or `page_size` that is not a whole number
in range is 400 `validation_error` naming the parameter; a well-formed page past the last is 404.
"""

from __future__ import annotations

from typing import Any, Protocol, cast, runtime_checkable

from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.core.paginator import Paginator as DjangoPaginator
from django.db import connections
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable, ValuesIterable, ValuesListIterable
from rest_framework import pagination
from rest_framework.request import Request

from config.http.errors import ValidationFailed

# The name of the window count on each row of a page; precompiled rows (see `PageRows`) end with it too.
PAGE_TOTAL = "_page_total"
_MAX_OFFSET = 2**62
_WINDOWABLE = (ModelIterable, ValuesIterable, ValuesListIterable)


@runtime_checkable
class PageRows(Protocol):
    """A list that reads its own pages: rows whose last value is the total (a window count)."""

    def page_rows(self, *, offset: int, limit: int) -> list[tuple[Any, ...]]: ...

    def count(self) -> int: ...


class CountingPaginator(DjangoPaginator):
    """Reads a page and the total count in one query (`COUNT(*) OVER ()`), not two.

    Django's paginator counts first, then fetches the page. A window count comes back on every row of the
    page, so the list endpoints make one query where they made two. When the page is empty (an empty list,
    or a page past the end) the total is unknown and a plain count answers it; querysets the window cannot
    count exactly (DISTINCT, already sliced, other iterables) take Django's usual path. An object list that
    reads its own pages (`PageRows`, e.g. a precompiled query) is asked for the page's rows directly.
    """

    def _windowable(self) -> bool:
        qs = self.object_list
        return (
            isinstance(qs, QuerySet)
            and qs._iterable_class in _WINDOWABLE  # type: ignore[attr-defined]
            and not qs.query.distinct
            and not qs.query.is_sliced
            and connections[qs.db].features.supports_over_clause
        )

    def validate_number(self, number: Any) -> int:
        """A positive integer; whether the page exists is known once it is read."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number: Any) -> Page:
        own_pages = isinstance(self.object_list, PageRows)
        if not own_pages and not self._windowable():
            return super().page(super().validate_number(number))
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom > _MAX_OFFSET:  # past any real list, and past what a 64-bit OFFSET can say
            raise EmptyPage("That page contains no results")
        rows: list[Any]
        if own_pages:
            rows = cast(PageRows, self.object_list).page_rows(offset=bottom, limit=self.per_page)
        else:
            qs = cast(QuerySet[Any], self.object_list)  # `_windowable()` checked it is a QuerySet
            rows = list(qs.annotate(**{PAGE_TOTAL: Window(Count("*"))})[bottom : bottom + self.per_page])
        if not rows:
            if number > 1:
                raise EmptyPage("That page contains no results")
            self.__dict__["count"] = cast(PageRows, self.object_list).count()
            return Page([], number, self)
        self.__dict__["count"] = _strip_total(rows)
        return Page(rows, number, self)


def _strip_total(rows: list[Any]) -> int:
    """Takes the window count off every row (in place) and returns it."""
    first = rows[0]
    if isinstance(first, dict):
        total = first[PAGE_TOTAL]
        for row in rows:
            del row[PAGE_TOTAL]
    elif isinstance(first, tuple):
        total = first[-1]
        rows[:] = [row[:-1] for row in rows]
    else:
        total = getattr(first, PAGE_TOTAL)
        for row in rows:
            delattr(row, PAGE_TOTAL)
    return int(total)


def _whole_number(request: Request, name: str, *, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum is not None else "1 or more"
        raise ValidationFailed.on(name, f"Enter a whole number {bound}.")
    return value


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    django_paginator_class = CountingPaginator

    def get_page_size(self, request: Request) -> int:
        return _whole_number(request, self.page_size_query_param, default=self.page_size, maximum=self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return raw
        return _whole_number(request, self.page_query_param, default=1)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            schema = parameter["schema"]
            schema["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                schema["maximum"] = self.max_page_size
                schema["default"] = self.page_size
            else:
                # Past the last page is a 404; a number longer than _whole_number reads is a 400.
                schema["maximum"] = 2**63 - 1
        return parameters
