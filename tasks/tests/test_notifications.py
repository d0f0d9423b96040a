"""The inbox (SPEC 4c): newest first, unread filter, mark read, mark all read, only your own, in the schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from tasks.models import Notification, NotificationKind, Project
from tasks.services.notifications import notification_create
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def make(recipient: Any, count: int, **extra: Any) -> list[Notification]:
    start = timezone.now() - timedelta(hours=1)
    made = []
    for i in range(count):
        notification = notification_create(
            recipient=recipient,
            kind=extra.get("kind", NotificationKind.REMINDER),
            text=f"Number {i}",
            email=False,
            now=start + timedelta(minutes=i),
            **{k: v for k, v in extra.items() if k != "kind"},
        )
        assert notification is not None
        made.append(notification)
    return made


def test_the_inbox_is_newest_first_and_paginated(user: Any, owner_client: APIClient) -> None:
    make(user, 25)
    body = owner_client.get("/api/v1/notifications/").json()
    assert body["count"] == 25
    assert [n["text"] for n in body["results"][:3]] == ["Number 24", "Number 23", "Number 22"]
    assert body["next"] is not None
    assert len(owner_client.get("/api/v1/notifications/?page=2").json()["results"]) == 5
    assert owner_client.get("/api/v1/notifications/?page=3").status_code == 404


def test_each_notification_has_the_documented_shape(user: Any, outsider: Any, owner_client: APIClient) -> None:
    task = TaskFactory(owner=user, title="Pay rent")
    (made,) = make(user, 1, task=task, actor=outsider, kind=NotificationKind.ASSIGNED)
    (shown,) = owner_client.get("/api/v1/notifications/").json()["results"]
    assert shown == {
        "id": made.pk,
        "kind": "assigned",
        "text": "Number 0",
        "task": task.pk,
        "project": None,
        "actor": {"id": str(outsider.pk), "email": outsider.email, "full_name": outsider.full_name},
        "created_at": shown["created_at"],
        "read_at": None,
    }


def test_unread_filters_and_a_bad_value_is_a_400(user: Any, owner_client: APIClient) -> None:
    first, _ = make(user, 2)
    owner_client.post(f"/api/v1/notifications/{first.pk}/read")
    assert [n["text"] for n in owner_client.get("/api/v1/notifications/?unread=true").json()["results"]] == ["Number 1"]
    assert owner_client.get("/api/v1/notifications/?unread=false").json()["count"] == 2
    response = owner_client.get("/api/v1/notifications/?unread=maybe")
    assert response.status_code == 400
    assert response.json()["errors"] == {"unread": ["Use true or false."]}
    assert owner_client.get("/api/v1/notifications/?page_size=0").status_code == 400


def test_marking_one_read_answers_it_and_keeps_the_first_read_at(user: Any, owner_client: APIClient) -> None:
    (notification,) = make(user, 1)
    first = owner_client.post(f"/api/v1/notifications/{notification.pk}/read")
    assert first.status_code == 200
    assert first.json()["id"] == notification.pk
    assert first.json()["read_at"] is not None
    again = owner_client.post(f"/api/v1/notifications/{notification.pk}/read")
    assert again.json()["read_at"] == first.json()["read_at"]


def test_marking_all_read_answers_how_many(user: Any, outsider: Any, owner_client: APIClient) -> None:
    make(user, 3)
    make(outsider, 2)
    assert owner_client.post("/api/v1/notifications/read-all").json() == {"updated": 3}
    assert owner_client.post("/api/v1/notifications/read-all/").json() == {"updated": 0}
    assert Notification.objects.filter(recipient=outsider, read_at__isnull=True).count() == 2


def test_another_users_notification_is_a_404(outsider: Any, owner_client: APIClient) -> None:
    (theirs,) = make(outsider, 1)
    response = owner_client.post(f"/api/v1/notifications/{theirs.pk}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert owner_client.post("/api/v1/notifications/9999999999999999999/read").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert owner_client.get("/api/v1/notifications/").json()["count"] == 0


def test_it_needs_authentication(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/notifications/").status_code == 401


def test_the_list_costs_a_fixed_number_of_queries(
    user: Any, outsider: Any, owner_client: APIClient, django_assert_num_queries: Any
) -> None:
    make(user, 30, actor=outsider, task=TaskFactory(owner=user))
    # 1. session  2. the page with its actors joined, and the total as a window count (CountingPaginator)
    with django_assert_num_queries(2):
        assert len(owner_client.get("/api/v1/notifications/").json()["results"]) == 20


def test_nobody_is_notified_of_their_own_action_nor_when_inactive(user: Any) -> None:
    assert notification_create(recipient=user, kind="commented", text="x", actor=user) is None
    gone = UserFactory(is_active=False)
    assert notification_create(recipient=gone, kind="assigned", text="x") is None
    with pytest.raises(ValueError, match="unknown notification kind"):
        notification_create(recipient=user, kind="gossip", text="x")


def test_an_invitation_to_an_address_with_an_account_notifies_it_in_app(
    project: Project, owner_client: APIClient, outsider: Any, client_for: Callable[[Any], APIClient]
) -> None:
    response = owner_client.post(
        f"/api/v1/projects/{project.pk}/invitations", {"email": outsider.email, "role": "editor"}, format="json"
    )
    assert response.status_code == 202
    (notification,) = client_for(outsider).get("/api/v1/notifications/").json()["results"]
    assert notification["kind"] == "invited"
    assert notification["project"] == project.pk
    assert notification["actor"]["email"] == "owner@example.com"
    assert "Launch" in notification["text"]
    assert mail.outbox == []  # the invitation's own email is the mail; the notification adds none


def test_an_invitation_to_an_address_without_an_account_notifies_nobody(
    project: Project, owner_client: APIClient
) -> None:
    body = {"email": "stranger@example.com", "role": "viewer"}
    assert owner_client.post(f"/api/v1/projects/{project.pk}/invitations", body, format="json").status_code == 202
    assert Notification.objects.count() == 0


def test_the_schema_documents_the_inbox() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert set(paths["/api/v1/notifications/"]) == {"get"}
    assert set(paths["/api/v1/notifications/{id}/read/"]) == {"post"}
    assert set(paths["/api/v1/notifications/read-all/"]) == {"post"}
    listing = paths["/api/v1/notifications/"]["get"]
    assert {"unread", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    assert "404" in paths["/api/v1/notifications/{id}/read/"]["post"]["responses"]
    fields = schema["components"]["schemas"]["Notification"]["properties"]
    assert list(fields) == ["id", "kind", "text", "task", "project", "actor", "created_at", "read_at"]


def test_a_notification_is_mailed_once_when_its_fan_out_job_runs_twice(user: Any, run_jobs: Callable[[], int]) -> None:
    # At least once: a worker killed after the fan-out queued the email jobs, but before it recorded its
    # success, leaves the fan-out to run again, queuing a second email job for the same notification.
    from django_tasks_db.models import DBTaskResult

    from config.jobs.worker import requeue

    notification = notification_create(recipient=user, kind=NotificationKind.ASSIGNED, text="Yours now")
    assert notification is not None
    run_jobs()
    fan_out = DBTaskResult.objects.get(task_path="tasks.jobs.send_notification_emails")
    assert requeue([str(fan_out.pk)]) == 1
    run_jobs()

    sends = DBTaskResult.objects.filter(task_path="tasks.jobs.send_notification_email", status="SUCCESSFUL")
    assert sends.count() == 2
    assert [message.to for message in mail.outbox] == [[user.email]]
    assert sorted(str(job.return_value) for job in sends) == ["already sent", "sent"]
