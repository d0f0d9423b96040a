"""The plain list reads through precompiled SQL; it must answer exactly what the ORM path answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count, Window

from config.http.pagination import PAGE_TOTAL
from tasks.models import Priority, Status
from tasks.selectors import tasks as selectors
from tasks.serializers.tasks import TASK_COLUMNS, task_row_to_dict
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def seven(user: Any, outsider: Any) -> None:
    for n in range(7):
        TaskFactory(
            owner=user,
            title=f"task {n}",
            description="ünïcode ✓" if n % 2 else "",
            status=[Status.PENDING, Status.IN_PROGRESS, Status.COMPLETED][n % 3],
            priority=[Priority.LOW, Priority.URGENT][n % 2],
            due_at=START + timedelta(days=n) if n % 3 else None,
            tags=["home", f"t{n}"] if n % 2 else [],
            # Whole seconds and not: PostgreSQL writes the timestamps of the page as the API does.
            created_at=START + timedelta(hours=n, microseconds=1234 * n if n % 2 else 0),
            completed_at=START + timedelta(days=n, microseconds=n) if n % 3 == 2 else None,
        )
    TaskFactory(owner=outsider, title="not yours", created_at=START + timedelta(hours=3))
    TaskFactory(owner=user, title="in the trash", deleted_at=START, created_at=START + timedelta(hours=4))


def test_the_precompiled_rows_equal_the_orm_rows(user: Any, seven: None) -> None:
    orm = list(
        selectors.task_list_for(user=user)
        .annotate(**{PAGE_TOTAL: Window(Count("*"))})
        .values_list(*TASK_COLUMNS, PAGE_TOTAL)[2:5]
    )
    compiled = selectors.TaskListRows(user=user, columns=TASK_COLUMNS).page_rows(offset=2, limit=3)
    # What the API shows of each row is the same, timestamps included, and so is the total.
    assert [task_row_to_dict(row[:-1]) for row in compiled] == [task_row_to_dict(row[:-1]) for row in orm]
    assert [row[-1] for row in compiled] == [row[-1] for row in orm] == [7, 7, 7]


NEWEST_FIRST = [f"task {n}" for n in range(6, -1, -1)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("page_size=3", NEWEST_FIRST[0:3]),
        ("page_size=3&page=2", NEWEST_FIRST[3:6]),
        ("page_size=3&page=3", NEWEST_FIRST[6:]),
        ("page_size=100", NEWEST_FIRST),
    ],
)
def test_the_plain_list_answers_what_the_filtered_path_answers(
    owner_client: Any, seven: None, query: str, expected: list[str]
) -> None:
    plain = owner_client.get(f"/api/v1/tasks/?{query}")
    # An explicit ordering equal to the default goes through django-filter and the ORM.
    via_orm = owner_client.get(f"/api/v1/tasks/?{query}&ordering=-created_at")
    assert plain.status_code == via_orm.status_code == 200
    plain_body, orm_body = plain.json(), via_orm.json()
    assert plain_body["count"] == orm_body["count"] == 7
    assert plain_body["results"] == orm_body["results"]
    assert [task["title"] for task in plain_body["results"]] == expected


def test_a_page_past_the_end_of_the_plain_list_is_a_404(owner_client: Any, seven: None) -> None:
    response = owner_client.get("/api/v1/tasks/?page_size=3&page=4")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_empty_plain_list_is_one_empty_page(owner_client: Any) -> None:
    assert owner_client.get("/api/v1/tasks/").json() == {"count": 0, "next": None, "previous": None, "results": []}
