"""Sync under concurrent writers: a transaction that commits after a sync read its rows is still reported,
and a replica fed every answer equals the lists after writers ran in random order with transactions held open.

Needs PostgreSQL: only a server database lets several threads hold real connections and open transactions at
once (and there the change log's position is the transaction id, the part under test).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services.sessions import session_open
from accounts.tests.factories import UserFactory
from audit.context import SYSTEM
from tasks import changelog
from tasks.models import Membership, Project, Role, Task
from tasks.services.projects import project_create
from tasks.services.tasks import tasks_purge_deleted
from tasks.tests.factories import TaskFactory
from tasks.tests.test_sync import Replica

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTIONS: tuple[str, ...] = ("create", "create_own", "edit", "edit_own", "complete", "move", "move_personal")
ACTIONS += ("trash", "restore", "purge", "leave", "join", "rename_project")


def _client(user: Any) -> APIClient:
    """A client whose failed requests (a write refused by a race, a deadlock victim) answer instead of raising."""
    _, pair = session_open(user=user, meta=SYSTEM)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    return client


def in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # surfaced by the caller: an assertion in a thread would be lost
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


@pytest.mark.parametrize("in_flight", ["listed", "too many to list"])
def test_a_write_that_commits_after_a_sync_read_comes_in_the_next_sync(
    in_flight: str, user: Any, project: Project, editor: Any, monkeypatch: Any
) -> None:
    if in_flight == "too many to list":
        # Past MAX_PENDING transactions in flight a position keeps only xmin: the same promise, more repeated.
        monkeypatch.setattr(changelog, "MAX_PENDING", 0)
    slow = TaskFactory(owner=user, project=project, title="Before")
    replica = Replica(_client(editor))
    replica.sync()
    written, release = threading.Event(), threading.Event()

    def held_open() -> None:
        with transaction.atomic():
            Task.objects.filter(pk=slow.pk).update(title="Committed late", version=slow.version + 1)
            written.set()
            assert release.wait(30)

    thread, errors = in_thread(held_open)
    assert written.wait(30)
    # A write that starts after the slow one and commits first: a cursor that followed row numbers alone would
    # now move past the slow transaction's row.
    fast = _client(user).post("/api/v1/tasks/", {"title": "Committed first", "project": project.pk}, format="json")
    replica.sync()
    assert fast.json()["id"] in replica.tasks
    assert replica.tasks[slow.pk]["title"] == "Before"  # not committed yet: not visible

    release.set()
    thread.join(30)
    assert not errors, errors

    replica.sync()
    assert replica.tasks[slow.pk]["title"] == "Committed late"
    replica.assert_matches_the_lists()


def test_a_replica_fed_every_answer_equals_the_lists_whatever_the_writers_do(user: Any) -> None:
    rng = random.Random(1313)
    member: Any = UserFactory(email="member@example.com", email_verified=True)
    other: Any = UserFactory(email="other@example.com", email_verified=True)
    projects = [project_create(owner=user, data={"name": f"P{n}"}, meta=SYSTEM) for n in range(3)]
    for project in projects:
        Membership.objects.create(project=project, user=other, role=Role.EDITOR)
    for project in projects[:2]:
        Membership.objects.create(project=project, user=member, role=Role.EDITOR)
    for project in projects:
        TaskFactory.create_batch(4, owner=user, project=project)
    TaskFactory.create_batch(4, owner=member)
    replica = Replica(_client(member))
    replica.sync(limit=7)

    def writer(actor: Any, seed: int) -> Callable[[], None]:
        client, local = _client(actor), random.Random(seed)
        member_client = _client(member)

        def op() -> None:
            ids = list(Task.objects.values_list("pk", flat=True))
            trashed = list(Task.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
            task_id = local.choice(ids) if ids else 0
            project = local.choice(projects)
            action = local.choice(ACTIONS)
            if action == "create":
                client.post("/api/v1/tasks/", {"title": "New", "project": project.pk}, format="json")
            elif action == "create_own":
                member_client.post("/api/v1/tasks/", {"title": "Mine"}, format="json")
            elif action == "edit":
                client.patch(f"/api/v1/tasks/{task_id}", {"title": f"Edit {local.random()}"}, format="json")
            elif action == "edit_own":
                member_client.patch(f"/api/v1/tasks/{task_id}", {"priority": "high"}, format="json")
            elif action == "complete":
                client.post(f"/api/v1/tasks/{task_id}/complete")
            elif action == "move":
                client.post(f"/api/v1/tasks/{task_id}/move", {"project": project.pk}, format="json")
            elif action == "move_personal":
                member_client.post(f"/api/v1/tasks/{task_id}/move", {"project": project.pk}, format="json")
            elif action == "trash":
                client.delete(f"/api/v1/tasks/{task_id}")
            elif action == "restore" and trashed:
                client.post(f"/api/v1/tasks/{local.choice(trashed)}/restore")
            elif action == "purge":
                Task.objects.filter(pk__in=trashed[:2]).update(deleted_at=timezone.now() - timedelta(days=31))
                tasks_purge_deleted()
            elif action == "leave":
                Membership.objects.filter(project=project, user=member).delete()
            elif action == "join":
                Membership.objects.get_or_create(project=project, user=member, defaults={"role": Role.EDITOR})
            elif action == "rename_project":
                client.patch(f"/api/v1/projects/{project.pk}", {"name": f"R{local.random()}"}, format="json")

        def run() -> None:
            for _ in range(12):
                try:
                    if local.random() < 0.4:
                        # Held open: other writers commit and the replica syncs meanwhile.
                        with transaction.atomic():
                            op()
                            time.sleep(local.uniform(0.01, 0.15))
                    else:
                        op()
                except Exception:  # a deadlock victim or a refused write: rolled back, logged nothing
                    pass
                time.sleep(local.uniform(0, 0.03))

        return run

    held: set[tuple[str, int]] = set()
    for _round in range(3):
        running = [in_thread(writer(actor, rng.randrange(10**6))) for actor in (user, other, user)]
        while any(thread.is_alive() for thread, _ in running):
            replica.sync(limit=rng.choice([3, 500]))  # deltas in pages too, while the writers write
            time.sleep(rng.uniform(0, 0.05))
        for thread, errors in running:
            thread.join(60)
            assert not errors, errors
        replica.sync()
        replica.assert_matches_the_lists()
        held |= {("project", pk) for pk in replica.projects} | {("task", pk) for pk in replica.tasks}
    # The comparison was not between two empty copies (the member may have left every project by the end).
    assert any(kind == "project" for kind, _ in held) and any(kind == "task" for kind, _ in held)
