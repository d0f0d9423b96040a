"""The tasks admin: list with owner, status, priority, due date; filters including the trash; search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from audit.models import Event
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

URL = f"/{settings.ADMIN_URL}tasks/task/"


@pytest.fixture
def admin_client_(db: Any) -> Client:
    admin = User.objects.create_superuser("root@example.com", "a long root passphrase")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def rows(user: Any, outsider: Any) -> None:
    TaskFactory(owner=user, title="Live one", due_at=timezone.now())
    TaskFactory(owner=outsider, title="Binned one", deleted_at=timezone.now())


def test_the_changelist_shows_owner_status_priority_and_due_date(admin_client_: Client, rows: None) -> None:
    response = admin_client_.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Live one", "Binned one", "owner@example.com", "Pending", "Medium", "Due at", "In the trash"):
        assert text in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"), [("trash=trash", "Binned one", "Live one"), ("trash=live", "Live one", "Binned one")]
)
def test_the_trash_filter(admin_client_: Client, rows: None, query: str, shown: str, hidden: str) -> None:
    html = admin_client_.get(f"{URL}?{query}").content.decode()
    assert shown in html
    assert hidden not in html


def test_search_by_title_or_owner_email(admin_client_: Client, rows: None) -> None:
    assert "Binned one" in admin_client_.get(f"{URL}?q=outsider@").content.decode()
    assert "Live one" not in admin_client_.get(f"{URL}?q=binned").content.decode()


def test_trash_and_restore_actions(admin_client_: Client, user: Any) -> None:
    task = TaskFactory(owner=user)
    admin_client_.post(URL, {"action": "move_to_trash", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.deleted_at is not None and task.version == 2
    admin_client_.post(URL, {"action": "restore_from_trash", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.deleted_at is None and task.version == 3


def test_editing_in_the_admin_moves_the_etag_and_keeps_completed_at_consistent(
    admin_client_: Client, user: Any
) -> None:
    task = TaskFactory(owner=user)
    response = admin_client_.post(
        f"{URL}{task.pk}/change/",
        {
            "owner": str(user.pk),
            "title": "Edited",
            "description": "",
            "status": "completed",
            "priority": "4",
            "tags": "[]",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(pk=task.pk)
    assert (task.title, task.version, task.priority) == ("Edited", 2, 4)
    assert task.completed_at is not None


def test_the_change_page_opens(admin_client_: Client, user: Any) -> None:
    task = TaskFactory(owner=user)
    assert admin_client_.get(f"{URL}{task.pk}/change/").status_code == 200


# Every change made in the admin goes through the API's services: same rules, same audit events, with the
# staff member as the actor and the task's owner as the user concerned.


def _events(name: str) -> list[Event]:
    return list(Event.objects.filter(event=name).order_by("id"))


def test_an_admin_edit_is_audited_with_the_staff_member_as_actor(admin_client_: Client, user: Any) -> None:
    task = TaskFactory(owner=user, title="Before")
    response = admin_client_.post(
        f"{URL}{task.pk}/change/",
        {"title": "After", "description": "", "status": "in_progress", "priority": "2", "tags": '[" Home ", "x"]'},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task.refresh_from_db()
    assert (task.title, task.status, task.tags, task.version) == ("After", "in_progress", ["Home", "x"], 2)
    [event] = _events("task.updated")
    assert event.user == user
    assert event.actor_email == "root@example.com"
    assert event.details == {
        "task_id": task.pk,
        "project_id": None,
        "fields": ["completed_at", "status", "tags", "title"],
    }


def test_an_admin_edit_refuses_what_the_api_refuses(admin_client_: Client, user: Any) -> None:
    task = TaskFactory(owner=user, title="Before")
    response = admin_client_.post(
        f"{URL}{task.pk}/change/",
        {"title": "After", "description": "", "status": "pending", "priority": "2", "tags": '["a;b"]'},
    )
    assert response.status_code == 200  # the form again, with its error
    assert "cannot contain" in response.content.decode()
    task.refresh_from_db()
    assert task.title == "Before" and task.version == 1
    assert not _events("task.updated")


def test_completing_a_recurring_task_in_the_admin_advances_it_and_its_due_date_stays(
    admin_client_: Client, user: Any
) -> None:
    due = timezone.now() + timedelta(days=1)
    task = TaskFactory(owner=user, title="Daily", due_at=due, recurrence="FREQ=DAILY", timezone="UTC")
    form = {"title": "Daily", "description": "", "priority": "2", "tags": "[]"}
    cleared = admin_client_.post(
        f"{URL}{task.pk}/change/", {**form, "status": "pending", "due_at_0": "", "due_at_1": ""}
    )
    assert cleared.status_code == 200  # the form again, with its error
    assert "A recurring task needs a due date." in cleared.content.decode()
    response = admin_client_.post(
        f"{URL}{task.pk}/change/",
        {**form, "status": "completed", "due_at_0": due.strftime("%Y-%m-%d"), "due_at_1": due.strftime("%H:%M:%S")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.due_at == due.replace(microsecond=0) + timedelta(days=1)
    [event] = _events("task.completed")
    assert event.actor_email == "root@example.com"


def test_a_task_added_in_the_admin_is_audited(admin_client_: Client, user: Any) -> None:
    response = admin_client_.post(
        f"{URL}add/",
        {"owner": str(user.pk), "title": "Made by staff", "description": "", "status": "completed", "priority": "3"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(title="Made by staff")
    assert task.owner == user and task.completed_at is not None
    [event] = _events("task.created")
    assert (event.user, event.actor_email, event.details) == (
        user,
        "root@example.com",
        {"task_id": task.pk, "project_id": None},
    )


def test_trash_and_restore_in_the_admin_are_audited_per_owner(admin_client_: Client, user: Any, outsider: Any) -> None:
    mine, theirs = TaskFactory(owner=user), TaskFactory(owner=outsider)
    admin_client_.post(URL, {"action": "move_to_trash", "_selected_action": [mine.pk, theirs.pk]})
    trashed = _events("task.bulk_action")
    assert {(e.user, e.details["action"], tuple(e.details["task_ids"])) for e in trashed} == {
        (user, "delete", (mine.pk,)),
        (outsider, "delete", (theirs.pk,)),
    }
    assert all(e.actor_email == "root@example.com" for e in trashed)
    admin_client_.post(URL, {"action": "restore_from_trash", "_selected_action": [mine.pk]})
    restored = _events("task.bulk_action")[2:]
    assert [(e.user, e.details["action"]) for e in restored] == [(user, "restore")]
    assert Task.objects.trashed().get() == theirs


def test_tasks_are_not_deleted_for_good_from_the_admin(admin_client_: Client, user: Any) -> None:
    task = TaskFactory(owner=user)
    assert admin_client_.get(f"{URL}{task.pk}/delete/").status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()
