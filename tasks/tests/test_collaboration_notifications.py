"""Notifications of a team at work: `assigned` to whoever someone else assigns, `commented` to a task's creator and
assignees (never the comment's author), and reminders to the assignees (or, with none, the creator)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail

from accounts.models import User
from tasks import jobs
from tasks.models import Membership, Notification, Project

pytestmark = pytest.mark.django_db


def kinds(user: Any) -> list[tuple[str, int | None]]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "task_id"))


@pytest.fixture
def shared(editor_client: Any, project: Project) -> int:
    response = editor_client.post("/api/v1/tasks/", {"title": "Ship it", "project": project.pk}, format="json")
    return int(response.json()["id"])


def test_assigning_someone_else_notifies_them_and_assigning_yourself_does_not(
    owner_client: Any, shared: int, editor: Any, viewer: Any, user: Any, run_jobs: Callable[[], int]
) -> None:
    body = {"assignees": [str(viewer.pk), str(user.pk)]}
    assert owner_client.patch(f"/api/v1/tasks/{shared}", body, format="json").status_code == 200
    assert kinds(viewer) == [("assigned", shared)]
    assert kinds(user) == []
    run_jobs()
    assert [m.to for m in mail.outbox] == [[viewer.email]]
    # Kept on the task: nobody is assigned again, so nobody hears of it again.
    owner_client.patch(f"/api/v1/tasks/{shared}", body, format="json")
    assert Notification.objects.filter(kind="assigned").count() == 1


def test_a_comment_notifies_the_creator_and_assignees_but_not_its_author(
    owner_client: Any, editor_client: Any, viewer_client: Any, shared: int, editor: Any, viewer: Any, user: Any
) -> None:
    owner_client.patch(f"/api/v1/tasks/{shared}", {"assignees": [str(viewer.pk)]}, format="json")
    viewer_client.post(f"/api/v1/tasks/{shared}/comments", {"body": "Looks good"}, format="json")
    assert kinds(editor) == [("commented", shared)]  # the creator
    assert ("commented", shared) not in kinds(viewer)  # the author
    assert kinds(user) == []  # neither creator nor assignee
    owner_client.post(f"/api/v1/tasks/{shared}/comments", {"body": "Agreed"}, format="json")
    assert kinds(viewer)[-1] == ("commented", shared)
    assert kinds(editor)[-1] == ("commented", shared)


def test_a_creator_who_left_the_project_hears_nothing_more(
    owner_client: Any, viewer_client: Any, shared: int, editor: Any, project: Project
) -> None:
    Membership.objects.filter(project=project, user=editor).delete()
    viewer_client.post(f"/api/v1/tasks/{shared}/comments", {"body": "Anyone?"}, format="json")
    assert kinds(editor) == []


def test_a_reminder_goes_to_the_assignees_else_the_creator(
    client_for: Any, project: Project, viewer: Any, editor: Any, clock: Any, run_jobs: Callable[[], int]
) -> None:
    editor_client = client_for(editor)  # a token minted at the test's clock
    due = "2026-03-20T10:00:00Z"
    assigned = editor_client.post(
        "/api/v1/tasks/",
        {
            "title": "A",
            "project": project.pk,
            "due_at": due,
            "assignees": [str(viewer.pk)],
            "reminders": [{"before_due": 0}],
        },
        format="json",
    ).json()["id"]
    alone = editor_client.post(
        "/api/v1/tasks/",
        {"title": "B", "project": project.pk, "due_at": due, "reminders": [{"before_due": 0}]},
        format="json",
    ).json()["id"]
    clock.move_to(datetime(2026, 3, 20, 10, 0, 5, tzinfo=UTC))
    jobs.fire_reminders.enqueue()
    run_jobs()
    assert ("reminder", assigned) in kinds(viewer)
    assert ("reminder", assigned) not in kinds(editor)
    assert ("reminder", alone) in kinds(editor)
    assert (
        not User.objects.filter(notifications__kind="reminder", notifications__task_id=alone)
        .exclude(pk=editor.pk)
        .exists()
    )
