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


ORDERED = {"/api/v1/tasks/", "/api/v1/users/"}
LISTS = ["/api/v1/tasks/", "/api/v1/tasks/trash/", "/api/v1/users/", "/api/v1/auth/sessions", "/api/v1/audit/events/"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("ordering=password", "ordering"),
    ],
)
def test_every_list_refuses_malformed_paging_alike(
    staff: User, login_as: Any, path: str, query: str, name: str
) -> None:
    client = login_as(staff)
    response = client.get(f"{path}?{query}")
    if name == "ordering" and path not in ORDERED:
        assert response.status_code == 200  # that list has no ordering parameter: nothing to refuse
        return
    assert response.status_code == 400, (path, query, response.content)
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [name]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_404_past_the_last_page(staff: User, login_as: Any, path: str) -> None:
    response = login_as(staff).get(f"{path}?page=999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
