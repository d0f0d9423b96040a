"""What a poll costs: a sync with nothing new is a constant, small number of queries, however much the caller
holds and however much changed elsewhere.

Transactional tests: on PostgreSQL the change log's position only moves past transactions that have ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tasks.models import Project
from tasks.tests.factories import TaskFactory
from tasks.tests.test_list_etags import settled

pytestmark = pytest.mark.django_db(transaction=True)

# GET /api/v1/sync?cursor=... with nothing new:
#   1. the change log's position (PostgreSQL: the current snapshot, no table; SQLite: one row of
#      sqlite_sequence), with the caller's session and its user beside it (PendingSession)
#   2. the caller's change-log rows since the cursor: their own (index (user_id, xid)) UNION those of the
#      projects they are in (index (project_id, xid), one range per membership) - none
NOTHING_NEW_QUERIES = 2


@pytest.mark.parametrize("size", [1, 40])
def test_a_sync_with_nothing_new_costs_two_queries_whatever_the_caller_holds(
    size: int,
    user: Any,
    outsider: Any,
    project: Project,
    client_for: Callable[[Any], APIClient],
    django_assert_num_queries: Any,
) -> None:
    TaskFactory.create_batch(size, owner=user)
    TaskFactory.create_batch(size, owner=user, project=project)
    client = client_for(user)
    cursor = client.get("/api/v1/sync").json()["cursor"]
    # Writes elsewhere do not count against the caller.
    TaskFactory.create_batch(5, owner=outsider)
    settled()
    cursor = client.get("/api/v1/sync", {"cursor": cursor}).json()["cursor"]

    with django_assert_num_queries(NOTHING_NEW_QUERIES):
        body = client.get("/api/v1/sync", {"cursor": cursor}).json()

    assert body["full"] is False and body["has_more"] is False
    assert body["projects"] == [] and body["tasks"] == []
    assert body["removed"] == {"projects": [], "tasks": []}
