"""The live-task counters behind the list's total stay exact through every kind of write."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory
from tasks.models import Membership, Project, Role, Tally, Task
from tasks.selectors.tasks import task_list_for
from tasks.services.tasks import tasks_purge_deleted
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def assert_tallies_exact() -> None:
    """Every counter equals a count of the rows, and every scope with live tasks has its counter."""
    live = Task.objects.filter(deleted_at__isnull=True)
    expected: Counter[tuple[str, Any]] = Counter()
    for project_id, owner_id in live.values_list("project_id", "owner_id"):
        expected[("project", project_id) if project_id is not None else ("user", owner_id)] += 1
    held = Counter(
        {
            ("project", row.project_id) if row.project_id is not None else ("user", row.user_id): row.live
            for row in Tally.objects.all()
        }
    )
    assert +held == +expected  # `+` drops the zeros left by emptied scopes


def assert_listed_totals(*clients_and_users: tuple[Any, Any]) -> None:
    for client, user in clients_and_users:
        response = client.get("/api/v1/tasks/?page_size=5")
        assert response.status_code == 200
        assert response.json()["count"] == task_list_for(user=user).count()


def test_every_kind_of_write_keeps_the_counts_and_the_totals_exact(user: Any, outsider: Any, client_for: Any) -> None:
    ada, bob = client_for(user), client_for(outsider)
    both = ((ada, user), (bob, outsider))
    shared = ada.post("/api/v1/projects/", {"name": "Shared"}, format="json").json()
    other = ada.post("/api/v1/projects/", {"name": "Other"}, format="json").json()
    Membership.objects.create(project_id=shared["id"], user=outsider, role=Role.EDITOR)
    Membership.objects.create(project_id=other["id"], user=outsider, role=Role.EDITOR)
    assert_listed_totals(*both)

    created = [ada.post("/api/v1/tasks/", {"title": f"personal {n}"}, format="json").json()["id"] for n in range(3)] + [
        bob.post("/api/v1/tasks/", {"title": f"shared {n}", "project": shared["id"]}, format="json").json()["id"]
        for n in range(3)
    ]
    parent = created[3]
    child = bob.post(
        "/api/v1/tasks/", {"title": "sub", "project": shared["id"], "parent": parent}, format="json"
    ).json()["id"]
    assert_tallies_exact()
    assert_listed_totals(*both)

    # Updates that change nothing countable, then trash and restore (with a subtask), bulk, moves.
    renamed = ada.patch(f"/api/v1/tasks/{created[0]}", {"title": "renamed", "status": "completed"}, format="json")
    assert renamed.status_code == 200
    assert bob.delete(f"/api/v1/tasks/{parent}").status_code == 204
    assert Task.objects.get(pk=child).deleted_at is not None
    assert_tallies_exact()
    assert_listed_totals(*both)
    assert ada.post(f"/api/v1/tasks/{parent}/restore").status_code == 200
    bulk = ada.post("/api/v1/tasks/bulk/", {"action": "delete", "ids": created[:2]}, format="json")
    assert bulk.status_code == 200, bulk.json()
    assert_tallies_exact()
    moves = [
        (created[2], {"project": shared["id"]}),  # personal -> project
        (created[4], {"project": other["id"]}),  # project -> project
        (created[5], {"project": None}),  # project -> the mover's personal list
    ]
    for task_id, body in moves:
        response = ada.post(f"/api/v1/tasks/{task_id}/move", body, format="json")
        assert response.status_code == 200, response.json()
    assert_tallies_exact()
    assert_listed_totals(*both)

    # The trash purged for good, a project deleted with its tasks, an account deleted: its personal tasks go,
    # the tasks it created in a project stay.
    Task.objects.filter(pk__in=created[:2]).update(deleted_at=timezone.now() - timedelta(days=40))
    assert tasks_purge_deleted(days=30) == 2
    assert ada.delete(f"/api/v1/projects/{other['id']}").status_code == 204
    assert_tallies_exact()
    assert_listed_totals(*both)
    assert bob.post("/api/v1/tasks/", {"title": "bob's own"}, format="json").status_code == 201
    assert bob.delete("/api/v1/auth/me", {"password": PASSWORD}, format="json").status_code == 204
    assert_tallies_exact()
    assert_listed_totals((ada, user))


def test_an_empty_page_and_a_page_past_the_end_still_know_the_total(user: Any, owner_client: Any) -> None:
    assert owner_client.get("/api/v1/tasks/").json() == {"count": 0, "next": None, "previous": None, "results": []}
    TaskFactory.create_batch(3, owner=user)
    assert owner_client.get("/api/v1/tasks/?page_size=2&page=2").json()["count"] == 3
    assert owner_client.get("/api/v1/tasks/?page_size=2&page=3").status_code == 404


def test_the_default_page_merges_personal_and_project_tasks_newest_first(user: Any, owner_client: Any) -> None:
    mate = UserFactory()
    projects = [Project.objects.create(name=f"P{n}") for n in range(3)]
    for each in projects:
        Membership.objects.create(project=each, user=user, role=Role.VIEWER)
    start = timezone.now() - timedelta(days=1)
    for n in range(24):
        project = projects[n % 4] if n % 4 < 3 else None
        TaskFactory(
            owner=user if project is None else mate,
            project=project,
            created_at=start + timedelta(minutes=n // 2),  # pairs share a moment: the id breaks the tie
        )
    TaskFactory.create_batch(2, owner=mate)  # someone else's personal tasks
    expected = list(task_list_for(user=user).values_list("id", flat=True))
    assert len(expected) == 24
    pages = [owner_client.get(f"/api/v1/tasks/?page_size=5&page={n}").json() for n in range(1, 6)]
    assert [task["id"] for page in pages for task in page["results"]] == expected
    assert {page["count"] for page in pages} == {24}
