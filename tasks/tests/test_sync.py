"""GET /api/v1/sync: a full sync in pages, then deltas for every kind of change; cursors that do not verify
are 400, stale ones 410. Black-box: each test applies the answers to a local copy, as an SPA would, and holds
it to what the lists show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.db.models import F
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from audit.context import SYSTEM
from tasks.changelog import Change
from tasks.jobs import prune_changes
from tasks.models import Project, Task
from tasks.services import projects as project_services
from tasks.services.tasks import tasks_purge_deleted
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


class Replica:
    """A client's local copy: applies every answer in order, as the SPEC's promise is stated."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.cursor: str | None = None
        self.projects: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}

    def call(self, **params: Any) -> dict[str, Any]:
        if self.cursor is not None:
            params["cursor"] = self.cursor
        response = self.client.get("/api/v1/sync", params)
        assert response.status_code == 200, response.content
        return response.json()

    def apply(self, body: dict[str, Any]) -> None:
        for project_id in body["removed"]["projects"]:
            self.projects.pop(project_id, None)
        for task_id in body["removed"]["tasks"]:
            self.tasks.pop(task_id, None)
        self.projects.update({p["id"]: p for p in body["projects"]})
        self.tasks.update({t["id"]: t for t in body["tasks"]})
        self.cursor = body["cursor"]

    def sync(self, **params: Any) -> dict[str, Any]:
        """One call (pages of a full sync until done); answers the last body."""
        while True:
            body = self.call(**params)
            self.apply(body)
            if not body["has_more"]:
                return body

    def listed(self) -> tuple[dict[int, Any], dict[int, Any]]:
        """What the lists show the same user, every page."""
        return _all(self.client, "/api/v1/projects/"), _all(self.client, "/api/v1/tasks/")

    def assert_matches_the_lists(self) -> None:
        projects, tasks = self.listed()
        assert self.projects == projects
        assert self.tasks == tasks


def _all(client: APIClient, path: str) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    page = 1
    while True:
        body = client.get(path, {"page": page, "page_size": 100}).json()
        rows.update({row["id"]: row for row in body["results"]})
        if not body["next"]:
            return rows
        page += 1


@pytest.fixture
def replica_for(client_for: Callable[[Any], APIClient]) -> Callable[[Any], Replica]:
    return lambda user: Replica(client_for(user))


def test_a_full_sync_pages_every_project_and_live_task_by_limit(
    user: Any, project: Project, outsider: Any, replica_for: Callable[[Any], Replica]
) -> None:
    second = project_services.project_create(owner=user, data={"name": "Second"}, meta=SYSTEM)
    personal = TaskFactory.create_batch(3, owner=user)
    shared = TaskFactory.create_batch(2, owner=user, project=project)
    TaskFactory(owner=user, deleted_at=timezone.now())  # trashed: not synced
    TaskFactory(owner=outsider)  # not theirs
    replica = replica_for(user)

    pages = []
    while True:
        body = replica.call(limit=3)
        replica.apply(body)
        pages.append(body)
        if not body["has_more"]:
            break

    assert all(page["full"] for page in pages)
    assert [len(page["projects"]) + len(page["tasks"]) for page in pages] == [3, 3, 1]
    assert set(replica.projects) == {project.pk, second.pk}
    assert set(replica.tasks) == {task.pk for task in [*personal, *shared]}
    assert replica.projects[project.pk]["role"] == "owner"
    assert replica.projects[project.pk]["members_count"] == 3
    replica.assert_matches_the_lists()
    # Then deltas. (Inside this test's open transaction PostgreSQL may send its rows again: duplicates are
    # allowed; test_sync_costs.py checks that a sync with nothing new is empty.)
    body = replica.sync()
    assert body["full"] is False and body["has_more"] is False
    replica.assert_matches_the_lists()


# Deltas ------------------------------------------------------------------------------------------------------
#
# Each test syncs the caller fully, makes one kind of change through the API (or, for what has no route of its
# own, the way the product does it), syncs again and checks both the answer and that the copy equals the lists.


@pytest.fixture
def shared(user: Any, project: Project) -> Task:
    return TaskFactory(owner=user, project=project, title="Shared")


def _ids(body: dict[str, Any]) -> tuple[set[int], set[int], set[int], set[int]]:
    return (
        {p["id"] for p in body["projects"]},
        {t["id"] for t in body["tasks"]},
        set(body["removed"]["projects"]),
        set(body["removed"]["tasks"]),
    )


def test_created_edited_and_completed_tasks_come_as_they_now_are(
    owner_client: APIClient,
    editor: Any,
    project: Project,
    shared: Task,
    replica_for: Callable[[Any], Replica],
) -> None:
    replica = replica_for(editor)
    replica.sync()
    created = owner_client.post("/api/v1/tasks/", {"title": "New", "project": project.pk}, format="json").json()
    owner_client.patch(f"/api/v1/tasks/{shared.pk}", {"title": "Renamed", "tags": ["x"]}, format="json")
    owner_client.post(f"/api/v1/tasks/{shared.pk}/complete")

    body = replica.sync()

    _, tasks, _, removed = _ids(body)
    assert {created["id"], shared.pk} <= tasks and not removed
    assert replica.tasks[shared.pk]["title"] == "Renamed"
    assert replica.tasks[shared.pk]["status"] == "completed"
    replica.assert_matches_the_lists()


def test_personal_tasks_reach_their_creator_only(
    owner_client: APIClient, user: Any, editor: Any, project: Project, replica_for: Callable[[Any], Replica]
) -> None:
    mine, theirs = replica_for(user), replica_for(editor)
    mine.sync()
    theirs.sync()
    created = owner_client.post("/api/v1/tasks/", {"title": "Private"}, format="json").json()

    assert created["id"] in _ids(mine.sync())[1]
    assert created["id"] not in _ids(theirs.sync())[1]
    mine.assert_matches_the_lists()
    theirs.assert_matches_the_lists()


def test_trashed_tasks_are_removed_and_restored_ones_come_back(
    owner_client: APIClient, viewer: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    child = TaskFactory(owner=shared.owner, project=shared.project, parent=shared)
    replica = replica_for(viewer)
    replica.sync()
    owner_client.delete(f"/api/v1/tasks/{shared.pk}")

    body = replica.sync()
    assert {shared.pk, child.pk} <= _ids(body)[3]
    replica.assert_matches_the_lists()

    owner_client.post(f"/api/v1/tasks/{shared.pk}/restore")
    body = replica.sync()
    assert {shared.pk, child.pk} <= _ids(body)[1]
    replica.assert_matches_the_lists()


def test_purged_tasks_are_removed(
    owner_client: APIClient, viewer: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    owner_client.delete(f"/api/v1/tasks/{shared.pk}")
    replica = replica_for(viewer)
    replica.sync()
    tasks_purge_deleted(now=timezone.now() + timedelta(days=31))
    assert not Task.objects.filter(pk=shared.pk).exists()

    assert shared.pk in _ids(replica.sync())[3]
    replica.assert_matches_the_lists()


def test_bulk_actions_and_counters_written_without_a_service_are_seen(
    owner_client: APIClient, editor: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    other = TaskFactory(owner=shared.owner, project=shared.project)
    replica = replica_for(editor)
    replica.sync()
    owner_client.post("/api/v1/tasks/bulk/", {"action": "complete", "ids": [shared.pk, other.pk]}, format="json")
    # A counter kept by a plain UPDATE (as the comment services keep comments_count): the trigger sees it too.
    Task.objects.filter(pk=other.pk).update(comments_count=F("comments_count") + 1)

    assert {shared.pk, other.pk} <= _ids(replica.sync())[1]
    assert replica.tasks[other.pk]["comments_count"] == 1
    assert replica.tasks[shared.pk]["status"] == "completed"
    replica.assert_matches_the_lists()


def test_assigning_a_member_changes_the_task(
    owner_client: APIClient, editor: Any, viewer: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    replica = replica_for(viewer)
    replica.sync()
    owner_client.patch(f"/api/v1/tasks/{shared.pk}", {"assignees": [str(editor.pk)]}, format="json")

    replica.sync()
    assert replica.tasks[shared.pk]["assignees"] == [str(editor.pk)]
    replica.assert_matches_the_lists()


def test_a_task_moved_to_a_project_the_caller_is_not_in_is_removed_and_one_moved_in_arrives(
    owner_client: APIClient, user: Any, viewer: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    elsewhere = project_services.project_create(owner=user, data={"name": "Elsewhere"}, meta=SYSTEM)
    incoming = TaskFactory(owner=user, project=elsewhere)
    replica = replica_for(viewer)
    replica.sync()
    owner_client.post(f"/api/v1/tasks/{shared.pk}/move", {"project": elsewhere.pk}, format="json")
    owner_client.post(f"/api/v1/tasks/{incoming.pk}/move", {"project": shared.project_id}, format="json")

    body = replica.sync()
    _, tasks, _, removed = _ids(body)
    assert shared.pk in removed and incoming.pk in tasks
    replica.assert_matches_the_lists()
    # The owner, a member of both, keeps seeing both.
    mine = replica_for(user)
    mine.sync()
    mine.assert_matches_the_lists()


def test_a_personal_task_moved_into_a_project_reaches_its_members(
    owner_client: APIClient, user: Any, viewer: Any, project: Project, replica_for: Callable[[Any], Replica]
) -> None:
    private = TaskFactory(owner=user)
    replica = replica_for(viewer)
    replica.sync()
    owner_client.post(f"/api/v1/tasks/{private.pk}/move", {"project": project.pk}, format="json")

    assert private.pk in _ids(replica.sync())[1]
    replica.assert_matches_the_lists()


def join(owner_client: APIClient, invitee: APIClient, *, project: Project, email: str, role: str) -> None:
    """The invitation flow: the owner invites the address, its user accepts."""
    owner_client.post(f"/api/v1/projects/{project.pk}/invitations", {"email": email, "role": role})
    invitation = invitee.get("/api/v1/invitations/").json()["results"][0]
    assert invitee.post(f"/api/v1/invitations/{invitation['id']}/accept").status_code == 200


def test_a_project_change_and_a_new_member_update_the_project(
    owner_client: APIClient,
    viewer: Any,
    outsider: Any,
    project: Project,
    client_for: Callable[[Any], APIClient],
    replica_for: Callable[[Any], Replica],
) -> None:
    replica = replica_for(viewer)
    replica.sync()
    owner_client.patch(f"/api/v1/projects/{project.pk}", {"name": "Relaunch"}, format="json")
    join(owner_client, client_for(outsider), project=project, email=outsider.email, role="viewer")

    replica.sync()
    assert replica.projects[project.pk]["name"] == "Relaunch"
    assert replica.projects[project.pk]["members_count"] == 4
    replica.assert_matches_the_lists()


def test_joining_a_project_brings_it_and_all_its_tasks(
    owner_client: APIClient,
    outsider: Any,
    project: Project,
    shared: Task,
    client_for: Callable[[Any], APIClient],
    replica_for: Callable[[Any], Replica],
) -> None:
    replica = replica_for(outsider)
    replica.sync()
    assert replica.tasks == {}
    join(owner_client, client_for(outsider), project=project, email=outsider.email, role="editor")

    projects, tasks, _, _ = _ids(replica.sync())
    assert project.pk in projects and shared.pk in tasks
    assert replica.projects[project.pk]["role"] == "editor"
    replica.assert_matches_the_lists()


def test_a_role_change_reaches_the_member(
    owner_client: APIClient, viewer: Any, project: Project, replica_for: Callable[[Any], Replica]
) -> None:
    replica = replica_for(viewer)
    replica.sync()
    owner_client.patch(f"/api/v1/projects/{project.pk}/members/{viewer.pk}", {"role": "editor"}, format="json")

    replica.sync()
    assert replica.projects[project.pk]["role"] == "editor"
    replica.assert_matches_the_lists()


@pytest.mark.parametrize("how", ["removed", "left"])
def test_losing_a_membership_removes_the_project_and_every_task_held_from_it(
    how: str,
    owner_client: APIClient,
    user: Any,
    viewer: Any,
    viewer_client: APIClient,
    project: Project,
    shared: Task,
    replica_for: Callable[[Any], Replica],
) -> None:
    moved_away = TaskFactory(owner=user, project=project)
    replica = replica_for(viewer)
    replica.sync()
    # A task leaves the project after the cursor and before the membership ends: still removed.
    elsewhere = project_services.project_create(owner=user, data={"name": "Elsewhere"}, meta=SYSTEM)
    owner_client.post(f"/api/v1/tasks/{moved_away.pk}/move", {"project": elsewhere.pk}, format="json")
    actor = owner_client if how == "removed" else viewer_client
    assert actor.delete(f"/api/v1/projects/{project.pk}/members/{viewer.pk}").status_code == 204

    _, _, removed_projects, removed_tasks = _ids(replica.sync())
    assert project.pk in removed_projects
    assert {shared.pk, moved_away.pk} <= removed_tasks
    assert replica.projects == {} and replica.tasks == {}
    replica.assert_matches_the_lists()


def test_a_deleted_project_takes_its_tasks_with_it(
    owner_client: APIClient, editor: Any, project: Project, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    replica = replica_for(editor)
    replica.sync()
    assert owner_client.delete(f"/api/v1/projects/{project.pk}").status_code == 204

    _, _, removed_projects, removed_tasks = _ids(replica.sync())
    assert project.pk in removed_projects and shared.pk in removed_tasks
    replica.assert_matches_the_lists()


def test_a_deleted_account_leaves_its_projects_and_its_shared_tasks_lose_their_creator(
    editor: Any,
    viewer: Any,
    project: Project,
    client_for: Callable[[Any], APIClient],
    replica_for: Callable[[Any], Replica],
) -> None:
    created = TaskFactory(owner=editor, project=project)
    replica = replica_for(viewer)
    replica.sync()
    assert client_for(editor).delete("/api/v1/auth/me", {"password": PASSWORD}, format="json").status_code == 204

    replica.sync()
    assert replica.tasks[created.pk]["created_by"] is None
    assert replica.projects[project.pk]["members_count"] == 2
    replica.assert_matches_the_lists()


def test_a_change_made_while_a_full_sync_pages_still_arrives(
    owner_client: APIClient, user: Any, replica_for: Callable[[Any], Replica]
) -> None:
    first, last = TaskFactory(owner=user), TaskFactory(owner=user)
    replica = replica_for(user)
    body = replica.call(limit=1)
    replica.apply(body)
    assert body["has_more"]
    # Behind the keyset: the next pages will not read it again.
    owner_client.patch(f"/api/v1/tasks/{first.pk}", {"title": "Changed meanwhile"}, format="json")
    owner_client.delete(f"/api/v1/tasks/{last.pk}")
    replica.sync(limit=1)

    replica.sync()
    assert replica.tasks[first.pk]["title"] == "Changed meanwhile"
    assert last.pk not in replica.tasks
    replica.assert_matches_the_lists()


def test_the_outsider_hears_nothing_of_a_project_it_is_not_in(
    owner_client: APIClient, outsider: Any, shared: Task, replica_for: Callable[[Any], Replica]
) -> None:
    replica = replica_for(outsider)
    replica.sync()
    owner_client.patch(f"/api/v1/tasks/{shared.pk}", {"title": "Secret"}, format="json")
    owner_client.patch(f"/api/v1/projects/{shared.project_id}", {"name": "Secret"}, format="json")

    body = replica.sync()
    assert _ids(body) == (set(), set(), set(), set())


def test_a_large_delta_comes_in_pages_of_limit_and_a_change_between_pages_still_arrives(
    owner_client: APIClient, user: Any, viewer: Any, project: Project, replica_for: Callable[[Any], Replica]
) -> None:
    tasks = TaskFactory.create_batch(5, owner=user, project=project)
    replica = replica_for(viewer)
    replica.sync()
    for task in tasks:
        owner_client.patch(f"/api/v1/tasks/{task.pk}", {"title": f"Changed {task.pk}"}, format="json")
    owner_client.delete(f"/api/v1/tasks/{tasks[0].pk}")
    owner_client.patch(f"/api/v1/projects/{project.pk}", {"color": "#123456"}, format="json")

    first = replica.call(limit=2)
    replica.apply(first)
    assert first["has_more"] and not first["full"]
    assert len(first["projects"]) + len(first["tasks"]) + len(first["removed"]["tasks"]) == 2
    # Written between two pages, to a task the first page already answered: it comes later, not never.
    owner_client.patch(f"/api/v1/tasks/{tasks[1].pk}", {"title": "Between pages"}, format="json")
    pages = [first]
    while pages[-1]["has_more"]:
        pages.append(replica.call(limit=2))
        replica.apply(pages[-1])
    assert all(len(p["projects"]) + len(p["tasks"]) + len(p["removed"]["tasks"]) <= 2 for p in pages)
    replica.sync()

    assert replica.projects[project.pk]["color"] == "#123456"
    assert tasks[0].pk not in replica.tasks
    assert replica.tasks[tasks[1].pk]["title"] == "Between pages"
    assert replica.tasks[tasks[4].pk]["title"] == f"Changed {tasks[4].pk}"
    replica.assert_matches_the_lists()


# Cursors and limits ------------------------------------------------------------------------------------------


def _cursor(client: APIClient) -> str:
    return str(client.get("/api/v1/sync").json()["cursor"])


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize("cursor", ["nonsense", "a:b:c", "x" * 300, "eyJ1IjoiYSJ9:1tAbc:forged"])
def test_a_malformed_or_forged_cursor_is_a_400_naming_cursor(owner_client: APIClient, cursor: str) -> None:
    body = _error(owner_client.get("/api/v1/sync", {"cursor": cursor}), 400, "validation_error")
    assert "cursor" in body["errors"]


def test_an_edited_cursor_is_a_400(owner_client: APIClient) -> None:
    cursor = _cursor(owner_client)
    payload, _, signature = cursor.rpartition(":")
    edited = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + signature
    assert "cursor" in _error(owner_client.get("/api/v1/sync", {"cursor": edited}), 400, "validation_error")["errors"]
    # The same data signed without the API's salt (any other signature of the project's key) is refused too.
    data = signing.loads(cursor, salt="tasks.sync.cursor")
    data["x"] = 0
    resigned = signing.dumps(data, salt="another.purpose")
    assert _error(owner_client.get("/api/v1/sync", {"cursor": resigned}), 400, "validation_error")


def test_another_users_cursor_is_a_400(owner_client: APIClient, outsider_api: APIClient) -> None:
    body = _error(outsider_api.get("/api/v1/sync", {"cursor": _cursor(owner_client)}), 400, "validation_error")
    assert "cursor" in body["errors"]


def test_a_cursor_older_than_the_trash_retention_is_410_sync_expired(
    user: Any, client_for: Callable[[Any], APIClient]
) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=30, minutes=1), tick=False):
        cursor = _cursor(client_for(user))
        recent = _cursor(client_for(user))
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        almost = _cursor(client_for(user))
    client = client_for(user)
    _error(client.get("/api/v1/sync", {"cursor": cursor}), 410, "sync_expired")
    _error(client.get("/api/v1/sync", {"cursor": recent}), 410, "sync_expired")
    assert client.get("/api/v1/sync", {"cursor": almost}).status_code == 200


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", " "])
def test_a_limit_out_of_bounds_is_a_400_naming_limit(owner_client: APIClient, limit: str) -> None:
    response = owner_client.get("/api/v1/sync", {"limit": limit})
    assert "limit" in _error(response, 400, "validation_error")["errors"]


@pytest.mark.parametrize("limit", ["1", "1000"])
def test_limits_at_the_bounds_are_accepted(owner_client: APIClient, user: Any, limit: str) -> None:
    TaskFactory.create_batch(2, owner=user)
    body = owner_client.get("/api/v1/sync", {"limit": limit}).json()
    assert len(body["tasks"]) == min(int(limit), 2)
    assert body["has_more"] is (limit == "1")


def test_sync_needs_authentication(api_client: APIClient) -> None:
    _error(api_client.get("/api/v1/sync"), 401, "not_authenticated")


# Retention -------------------------------------------------------------------------------------------------------


def test_the_change_log_keeps_31_days_and_a_periodic_job_prunes_the_rest(user: Any, settings: Any) -> None:
    TaskFactory(owner=user)
    Change.objects.update(created_at=timezone.now() - timedelta(days=31, minutes=1))
    recent = TaskFactory(owner=user)
    Change.objects.filter(object_id=recent.pk).update(created_at=timezone.now() - timedelta(days=30, hours=23))

    assert settings.PERIODIC_JOBS["prune_changes"]["job"] == "tasks.jobs.prune_changes"
    assert prune_changes.call() == 1
    assert list(Change.objects.values_list("object_id", flat=True)) == [recent.pk]


# OpenAPI ---------------------------------------------------------------------------------------------------------


def test_the_schema_documents_sync_its_errors_and_the_lists_conditional_get() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    sync = schema["paths"]["/api/v1/sync/"]["get"]
    assert {p["name"] for p in sync["parameters"]} == {"cursor", "limit"}
    assert {"200", "400", "401", "410"} <= set(sync["responses"])
    body = schema["components"]["schemas"]["Sync"]
    assert set(body["properties"]) == {"cursor", "full", "has_more", "projects", "tasks", "removed"}
    for path in ("/api/v1/tasks/", "/api/v1/projects/"):
        listing = schema["paths"][path]["get"]
        assert "304" in listing["responses"]
        assert "ETag" in listing["responses"]["200"]["headers"]
        assert "If-None-Match" in {p["name"] for p in listing["parameters"]}
