"""Conditional GET on the task and project lists: an ETag per exact query and page, 304 while nothing the
caller sees has changed (answered from the change log: one query after authentication), 200 with a new ETag
as soon as something has, including a change that commits late.

Transactional tests: on PostgreSQL the change log's position only moves past transactions that have ended,
and a test wrapped in one open transaction would never let it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tasks.changelog import Change
from tasks.models import Project
from tasks.selectors.sync import Position, change_position
from tasks.tests.factories import TaskFactory
from tasks.views import conditional

pytestmark = pytest.mark.django_db(transaction=True)


def settled() -> None:
    """Waits until the log's position covers every write so far (on PostgreSQL, until the transactions that wrote
    them are seen as finished by a new snapshot)."""
    newest = Change.objects.order_by("-xid").values_list("xid", flat=True).first() or 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        position = change_position()
        if newest < position.base and newest not in position.pending:
            return
        time.sleep(0.05)


def _get(client: APIClient, path: str, etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else {}
    return client.get(path, headers=headers)


@pytest.fixture
def tasks_of(user: Any) -> Any:
    return TaskFactory.create_batch(3, owner=user)


# A list with a matching If-None-Match: EXISTS, a change-log row of the caller's (personal tasks, memberships)
# or of their projects at or after the ETag's position (index ranges on (user_id, xid) and (project_id, xid)).
# The task list checks the caller's session in the same statement; the project list with a query of its own.
NOT_MODIFIED_QUERIES = {"/api/v1/tasks/": 1, "/api/v1/tasks/?page_size=2&page=2": 1, "/api/v1/projects/": 2}


@pytest.mark.parametrize("path", ["/api/v1/tasks/", "/api/v1/tasks/?page_size=2&page=2", "/api/v1/projects/"])
def test_a_matching_if_none_match_is_a_304_without_reading_the_page(
    path: str, owner_client: APIClient, tasks_of: Any, project: Project, django_assert_num_queries: Any
) -> None:
    settled()
    first = _get(owner_client, path)
    etag = first["ETag"]
    assert first.status_code == 200 and etag

    with django_assert_num_queries(NOT_MODIFIED_QUERIES[path]):
        again = _get(owner_client, path, etag)

    assert again.status_code == 304
    assert again["ETag"] == etag
    assert again.content == b""


def test_any_change_the_caller_sees_makes_it_a_200_with_a_new_etag(
    owner_client: APIClient, editor_client: APIClient, project: Project, tasks_of: Any
) -> None:
    settled()
    etag = _get(owner_client, "/api/v1/tasks/")["ETag"]
    editor_client.post("/api/v1/tasks/", {"title": "From the editor", "project": project.pk}, format="json")

    response = _get(owner_client, "/api/v1/tasks/", etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "From the editor" in {task["title"] for task in response.json()["results"]}


def test_a_membership_change_invalidates_the_project_list(
    owner_client: APIClient, viewer: Any, project: Project
) -> None:
    settled()
    etag = _get(owner_client, "/api/v1/projects/")["ETag"]
    owner_client.delete(f"/api/v1/projects/{project.pk}/members/{viewer.pk}")

    response = _get(owner_client, "/api/v1/projects/", etag)
    assert response.status_code == 200
    assert response.json()["results"][0]["members_count"] == 2


def test_changes_elsewhere_do_not_invalidate_it(
    owner_client: APIClient, outsider: Any, tasks_of: Any, client_for: Callable[[Any], APIClient]
) -> None:
    settled()
    etag = _get(owner_client, "/api/v1/tasks/")["ETag"]
    client_for(outsider).post("/api/v1/tasks/", {"title": "Someone else's"}, format="json")
    settled()

    assert _get(owner_client, "/api/v1/tasks/", etag).status_code == 304


def test_an_etag_holds_for_its_own_query_and_user_only(
    owner_client: APIClient, user: Any, outsider_api: APIClient, tasks_of: Any
) -> None:
    settled()
    etag = _get(owner_client, "/api/v1/tasks/?page_size=2")["ETag"]

    assert _get(owner_client, "/api/v1/tasks/?page_size=3", etag).status_code == 200
    assert _get(owner_client, "/api/v1/tasks/?page_size=2&page=2", etag).status_code == 200
    assert _get(owner_client, "/api/v1/projects/?page_size=2", etag).status_code == 200
    assert _get(outsider_api, "/api/v1/tasks/?page_size=2", etag).status_code == 200
    for forged in ['W/"999999999999.0000"', '"*"', "garbage", etag.replace('W/"', 'W/"1')]:
        assert _get(owner_client, "/api/v1/tasks/?page_size=2", forged).status_code == 200


def test_the_overdue_filter_moves_with_the_clock_and_has_no_etag(owner_client: APIClient, tasks_of: Any) -> None:
    response = _get(owner_client, "/api/v1/tasks/?overdue=true")
    assert response.status_code == 200
    assert "ETag" not in response


def test_a_position_with_transactions_in_flight_round_trips_through_the_etag(
    owner_client: APIClient, tasks_of: Any, monkeypatch: Any
) -> None:
    settled()
    now = change_position()
    # As PostgreSQL answers while other transactions are open (xid 0 is never a real one). A filtered list
    # takes its position with `change_position` (the default list reads it in its page's query).
    monkeypatch.setattr(conditional, "change_position", lambda: Position(now.base, (0,)))
    etag = _get(owner_client, "/api/v1/tasks/?status=pending")["ETag"]
    assert f'W/"{now.base}-0.' in etag

    assert _get(owner_client, "/api/v1/tasks/?status=pending", etag).status_code == 304
