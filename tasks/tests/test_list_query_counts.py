"""Query counts of the task endpoints, pinned: the list costs the same for a page of 1 and a page of 100.

Every authenticated request checks its session, joined to its user (accounts): with a query of its own, or,
for the default list and one task, inside their own statement (accounts.authentication.PendingSession).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

# GET /api/v1/tasks/: one statement (tasks/selectors/tasks.py, TaskListRows): the page's columns, tags included
# (a JSON column: no per-task or prefetch query), the total (the caller's tallies: tasks/tallies.py), the change
# log's position for the ETag, and the caller's session with its user.
LIST_QUERIES = 1
# A filtered list: the session, the page with its total as COUNT(*) OVER (), and the change log's position
# for the ETag (no table read on PostgreSQL: the current snapshot; one row of sqlite_sequence on SQLite).
FILTERED_QUERIES = 3


@pytest.fixture
def many_tasks(user: Any) -> None:
    TaskFactory.create_batch(
        120,
        owner=user,
        tags=["home", "errand"],
        description="with a description",
        due_at=timezone.now() + timedelta(days=3),
    )


@pytest.mark.parametrize("page_size", [1, 100])
def test_the_list_costs_the_same_queries_for_a_page_of_1_and_of_100(
    owner_client: Any, many_tasks: None, page_size: int, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(LIST_QUERIES):
        response = owner_client.get(f"/api/v1/tasks/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    assert response.json()["results"][0]["tags"] == ["home", "errand"]


def test_filters_search_and_ordering_add_no_query(
    owner_client: Any, many_tasks: None, django_assert_num_queries: Any
) -> None:
    # `overdue` moves with the clock, so that list has no ETag and reads no change-log position.
    with django_assert_num_queries(FILTERED_QUERIES - 1):
        response = owner_client.get(
            "/api/v1/tasks/?page_size=100&status=pending&priority=medium&tag=home&search=desc&overdue=false"
            "&due_after=2000-01-01&ordering=-priority,due_at"
        )
    assert response.status_code == 200
    assert response.json()["count"] == 120


def test_the_trash_costs_the_same_queries_as_the_list(
    owner_client: Any, user: Any, django_assert_num_queries: Any
) -> None:
    TaskFactory.create_batch(30, owner=user, deleted_at=timezone.now())
    with django_assert_num_queries(FILTERED_QUERIES - 1):  # the trash: the session and its page; no ETag
        response = owner_client.get("/api/v1/tasks/trash/?page_size=100")
    assert response.json()["count"] == 30


def test_reading_one_task_is_one_query_after_authentication(
    owner_client: Any, task: Any, django_assert_num_queries: Any
) -> None:
    # The task, with the caller's session beside it.
    with django_assert_num_queries(1):
        assert owner_client.get(f"/api/v1/tasks/{task.id}").status_code == 200


def test_stats_are_one_aggregate_query(owner_client: Any, many_tasks: None, django_assert_num_queries: Any) -> None:
    # 1. session  2. the change log's position (the cache entry's)  3. one SELECT of every count; served from
    # the cache afterwards (tasks/tests/test_stats_cache.py)
    with django_assert_num_queries(3):
        assert owner_client.get("/api/v1/tasks/stats/").json()["total"] == 120


@pytest.mark.parametrize(
    ("method", "path", "body", "queries"),
    [
        ("patch", "/api/v1/tasks/{id}", {"title": "Renamed"}, 6),
        ("put", "/api/v1/tasks/{id}", {"title": "Replaced"}, 6),
        ("post", "/api/v1/tasks/{id}/complete", None, 7),
        ("delete", "/api/v1/tasks/{id}", None, 7),
    ],
)
def test_a_change_to_one_task_is_bounded(
    owner_client: Any, task: Any, method: str, path: str, body: Any, queries: int, django_assert_num_queries: Any
) -> None:
    # 1. session  2. SAVEPOINT (the test's transaction encloses the service's)  3. SELECT ... FOR UPDATE of the
    # task with the caller's role  4. UPDATE  5. INSERT of the audit event  6. RELEASE SAVEPOINT; completing and
    # deleting also look for the task's subtasks (one query per level that has any; a task without: one).
    with django_assert_num_queries(queries):
        response = getattr(owner_client, method)(path.format(id=task.id), body, format="json")
    assert response.status_code in (200, 204)


def test_creating_is_bounded(owner_client: Any, django_assert_num_queries: Any) -> None:
    # 1. session  2. the task and its audit event in one statement (PostgreSQL). SQLite: SAVEPOINT, INSERT task,
    # INSERT audit event, RELEASE SAVEPOINT.
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 5):
        assert owner_client.post("/api/v1/tasks/", {"title": "New"}, format="json").status_code == 201


def test_a_bulk_action_is_bounded_whatever_the_number_of_ids(
    owner_client: Any, user: Any, django_assert_num_queries: Any
) -> None:
    ids = [t.id for t in TaskFactory.create_batch(200, owner=user)]
    # 1. session  2. SAVEPOINT  3. SELECT ... FOR UPDATE of the ids (with the caller's role in each)  4. SELECT
    # those recurring or with reminders (none here)  5. one UPDATE  6. the subtasks to complete with them (none
    # here: one query)  7. audit  8. RELEASE
    with django_assert_num_queries(8):
        response = owner_client.post("/api/v1/tasks/bulk/", {"action": "complete", "ids": ids}, format="json")
    assert response.json() == {"updated": 200}


@pytest.mark.parametrize("projects", [1, 12])
def test_the_list_with_projects_assignees_and_subtasks_costs_the_same(
    owner_client: Any, user: Any, projects: int, django_assert_num_queries: Any
) -> None:
    from accounts.tests.factories import UserFactory
    from tasks.models import Assignment, Membership, Project, Role

    teammates = UserFactory.create_batch(3)
    for n in range(projects):
        project = Project.objects.create(name=f"P{n}")
        Membership.objects.create(project=project, user=user, role=Role.EDITOR)
        for mate in teammates:
            Membership.objects.create(project=project, user=mate, role=Role.VIEWER)
        top = TaskFactory(owner=teammates[0], project=project, assignee_ids=[str(user.pk)])
        Assignment.objects.create(task=top, user=user)
        TaskFactory.create_batch(3, owner=user, project=project, parent=top, comments_count=2)
    # Visibility is one condition in the same SELECT; assignees and comments_count are columns of the row.
    with django_assert_num_queries(LIST_QUERIES):
        response = owner_client.get("/api/v1/tasks/?page_size=100")
    assert response.json()["count"] == projects * 4
    with django_assert_num_queries(FILTERED_QUERIES):
        assert owner_client.get("/api/v1/tasks/?assignee=me&ordering=position").json()["count"] == projects
    top_id = response.json()["results"][-1]["id"]
    # The task with the caller's session beside it.
    with django_assert_num_queries(1):
        assert owner_client.get(f"/api/v1/tasks/{top_id}").status_code == 200


def test_creating_in_a_project_with_assignees_is_bounded(
    owner_client: Any, user: Any, django_assert_num_queries: Any
) -> None:
    from tasks.models import Membership, Project, Role

    project = Project.objects.create(name="P")
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    body = {"title": "New", "project": project.pk, "assignees": [str(user.pk)]}
    # 1. session  2. SAVEPOINT  3. the caller's role in the project  4. the project's row lock (no member is
    # removed between the check and the insert)  5. the assignees' memberships  6. INSERT task  7. INSERT audit
    # (created)  8. INSERT assignment  9. INSERT audit (assigned)  10. UPDATE the task's copy of its assignees
    # 11. RELEASE SAVEPOINT
    with django_assert_num_queries(11):
        assert owner_client.post("/api/v1/tasks/", body, format="json").status_code == 201
