from __future__ import annotations

from typing import Any, cast

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger

from accounts.models import User
from accounts.tests.factories import UserFactory
from config.http.pagination import CountingPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_users() -> list[User]:
    return [cast(User, UserFactory(email=f"u{n}@example.com")) for n in range(7)]


@pytest.mark.parametrize(
    "shape",
    [
        lambda qs: qs,
        lambda qs: qs.values("email"),
        lambda qs: qs.values_list("email"),
    ],
    ids=["models", "values", "values_list"],
)
def test_one_query_reads_the_page_and_the_total(
    seven_users: list[User], shape: Any, django_assert_num_queries: Any
) -> None:
    paginator = CountingPaginator(shape(User.objects.order_by("email")), 3)
    with django_assert_num_queries(1):
        page = paginator.page(3)
        assert paginator.count == 7
        assert paginator.num_pages == 3
        assert not page.has_next()
        rows = list(page)
    assert len(rows) == 1
    first = rows[0]
    email = first.email if isinstance(first, User) else first["email"] if isinstance(first, dict) else first[0]
    assert email == "u6@example.com"
    assert first == (email,) or isinstance(first, (User, dict))
    if isinstance(first, dict):
        assert set(first) == {"email"}
    if isinstance(first, User):
        assert not hasattr(first, "_page_total")


def test_an_empty_list_is_one_empty_page_with_a_zero_count(db: Any) -> None:
    paginator = CountingPaginator(User.objects.order_by("email"), 3)
    page = paginator.page(1)
    assert list(page) == []
    assert paginator.count == 0


@pytest.mark.parametrize("number", [4, 0, -1, 2**70])
def test_a_page_past_the_end_or_below_one_is_empty(seven_users: list[User], number: int) -> None:
    with pytest.raises(EmptyPage):
        CountingPaginator(User.objects.order_by("email"), 3).page(number)


@pytest.mark.parametrize("number", ["x", "1.5", None])
def test_a_page_that_is_not_an_integer_is_refused(seven_users: list[User], number: Any) -> None:
    with pytest.raises(PageNotAnInteger):
        CountingPaginator(User.objects.order_by("email"), 3).page(number)


def test_a_distinct_queryset_is_counted_the_usual_way(seven_users: list[User], django_assert_num_queries: Any) -> None:
    paginator = CountingPaginator(User.objects.order_by("email").distinct(), 3)
    with django_assert_num_queries(2):
        assert len(list(paginator.page(1))) == 3
        assert paginator.count == 7
