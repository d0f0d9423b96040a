"""A task or staff change whose transaction fails after its event was recorded leaves neither the change
nor the event: the event exists exactly when its change committed."""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from audit.models import Event
from audit.services import audit_event, audit_record
from audit.tests.helpers import patch_accounts_audit
from tasks.models import Task

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def raise_after_recording(**kwargs: Any) -> Any:
    audit_record(**kwargs)
    raise Boom("the transaction fails after the event was recorded")


def fails_with_nothing_recorded(response: Any, events_before: int) -> None:
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert Event.objects.count() == events_before


def unstorable(**kwargs: Any) -> Any:
    """The real event, naming a user that does not exist: its foreign key is checked when the transaction
    commits, after the task's row and the event's were both written."""
    event = audit_event(**kwargs)
    event.user_id = uuid.uuid4()
    return event


@pytest.mark.django_db(transaction=True)  # a deferred foreign key is checked at the real commit
def test_a_task_create_that_rolls_back_records_nothing_and_creates_nothing(auth_client: APIClient) -> None:
    before = Event.objects.count()
    with mock.patch("tasks.services.tasks.audit_event", side_effect=unstorable) as patched:
        response = auth_client.post("/api/v1/tasks/", {"title": "Never saved"}, format="json")

    assert patched.called
    fails_with_nothing_recorded(response, before)
    assert not Task.objects.exists()


def test_a_task_create_with_more_to_write_that_rolls_back_records_nothing(auth_client: APIClient) -> None:
    project = auth_client.post("/api/v1/projects/", {"name": "Home"}, format="json").json()["id"]
    before = Event.objects.count()
    with mock.patch("tasks.services.tasks.audit_record", side_effect=raise_after_recording) as patched:
        response = auth_client.post("/api/v1/tasks/", {"title": "Never saved", "project": project}, format="json")

    assert patched.called
    fails_with_nothing_recorded(response, before)
    assert not Task.objects.exists()


def test_a_task_update_that_rolls_back_records_nothing_and_changes_nothing(auth_client: APIClient) -> None:
    task_id = auth_client.post("/api/v1/tasks/", {"title": "Original"}, format="json").json()["id"]
    before = Event.objects.count()
    with mock.patch("tasks.services.tasks.audit_record", side_effect=raise_after_recording):
        response = auth_client.patch(f"/api/v1/tasks/{task_id}", {"title": "Changed"}, format="json")

    fails_with_nothing_recorded(response, before)
    assert Task.objects.get(pk=task_id).title == "Original"


def test_a_bulk_action_that_rolls_back_records_nothing_and_changes_no_task(auth_client: APIClient) -> None:
    ids = [auth_client.post("/api/v1/tasks/", {"title": f"T{n}"}, format="json").json()["id"] for n in range(3)]
    before = Event.objects.count()
    with mock.patch("tasks.services.tasks.audit_record", side_effect=raise_after_recording):
        response = auth_client.post("/api/v1/tasks/bulk/", {"action": "delete", "ids": ids}, format="json")

    fails_with_nothing_recorded(response, before)
    assert Task.objects.filter(pk__in=ids, deleted_at__isnull=True).count() == 3


def test_a_deactivation_that_rolls_back_records_nothing_and_ends_no_session(
    staff_client: APIClient, user: User, auth_client: APIClient
) -> None:
    before = Event.objects.count()
    with patch_accounts_audit(side_effect=raise_after_recording):
        response = staff_client.patch(f"/api/v1/users/{user.pk}", {"is_active": False}, format="json")

    fails_with_nothing_recorded(response, before)
    user.refresh_from_db()
    assert user.is_active
    assert Session.objects.filter(user=user, ended_at__isnull=True).exists()
    assert auth_client.get("/api/v1/audit/events/").status_code == 200
