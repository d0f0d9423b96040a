"""GET /api/v1/tasks/stats/: counts that match the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tasks.models import Priority, Status
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)


def test_an_empty_account_has_every_key_with_zeros(owner_client: Any) -> None:
    assert owner_client.get("/api/v1/tasks/stats/").json() == {
        "total": 0,
        "by_status": {"pending": 0, "in_progress": 0, "completed": 0},
        "by_priority": {"low": 0, "medium": 0, "high": 0, "urgent": 0},
        "overdue": 0,
        "completed_last_7_days": 0,
    }


def test_the_counts_match_the_data(client_for: Any, user: Any, outsider: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        past, future = NOW - timedelta(days=1), NOW + timedelta(days=1)
        TaskFactory(owner=user, status=Status.PENDING, priority=Priority.LOW, due_at=past)  # overdue
        TaskFactory(owner=user, status=Status.IN_PROGRESS, priority=Priority.URGENT, due_at=past)  # overdue
        TaskFactory(owner=user, status=Status.PENDING, priority=Priority.URGENT, due_at=future)
        TaskFactory(
            owner=user,
            status=Status.COMPLETED,
            priority=Priority.HIGH,
            due_at=past,
            completed_at=NOW - timedelta(days=2),
        )
        TaskFactory(
            owner=user, status=Status.COMPLETED, priority=Priority.HIGH, completed_at=NOW - timedelta(days=6, hours=23)
        )
        TaskFactory(owner=user, status=Status.COMPLETED, priority=Priority.MEDIUM, completed_at=NOW - timedelta(days=8))
        TaskFactory(owner=user, status=Status.PENDING, priority=Priority.MEDIUM)
        # Neither the trash nor another user's tasks count.
        TaskFactory(owner=user, status=Status.PENDING, due_at=past, deleted_at=NOW)
        TaskFactory(owner=outsider, status=Status.COMPLETED, due_at=past, completed_at=NOW)

        body = client_for(user).get("/api/v1/tasks/stats").json()

    assert body == {
        "total": 7,
        "by_status": {"pending": 3, "in_progress": 1, "completed": 3},
        "by_priority": {"low": 1, "medium": 2, "high": 2, "urgent": 2},
        "overdue": 2,
        "completed_last_7_days": 2,
    }
