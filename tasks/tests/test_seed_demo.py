"""seed_demo with projects: the rows it inserts in bulk are those the services would have written, so the API,
sync and the ETags see seeded data as they see real data (and `make bench` measures a realistic list)."""

from __future__ import annotations

from collections import Counter, defaultdict
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tasks.changelog import Change, ChangeKind
from tasks.models import MAX_DEPTH, Assignment, Comment, Membership, Project, Role, Status, Task
from tasks.services import tree

pytestmark = pytest.mark.django_db

PASSWORD = "seed password 2026"
# 4 users, all members of all 3 projects; each creates 60 tasks, half of them in projects. A member sees their
# own 30 personal tasks and the 4 x 30 tasks of the projects.
USERS, TASKS, VISIBLE = 4, 60, 30 + 4 * 30


@pytest.fixture
def seeded() -> str:
    out = StringIO()
    call_command(
        "seed_demo",
        *("--prefix", "seed", "--users", str(USERS), "--tasks", str(TASKS), "--projects", "3", "--members", "4"),
        *("--subtask-share", "0.4", "--assigned-share", "0.5", "--commented-share", "0.5"),
        # Batches smaller than a user's tasks: parents and children land in different INSERTs.
        *("--batch-size", "25", "--seed", "11", "--password", PASSWORD),
        stdout=out,
    )
    return out.getvalue()


def signed_in(email: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def pages(client: APIClient, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_the_command_says_what_it_seeded(seeded: str) -> None:
    assert seeded.startswith(
        f"Seeded {USERS} demo users (seed1@example.com .. seed4@example.com) with {USERS * TASKS} tasks, "
        "3 projects (12 memberships), "
    )
    assert f"{Assignment.objects.count()} assignments and {Comment.objects.count()} comments in " in seeded


def test_projects_have_one_owner_and_tasks_come_from_their_writers(seeded: str) -> None:
    roles = Counter(Membership.objects.values_list("project_id", "role"))
    assert Project.objects.count() == 3
    for project in Project.objects.all():
        assert [roles[(project.pk, role)] for role in (Role.OWNER, Role.EDITOR, Role.VIEWER)] == [1, 2, 1]
    writers = set(Membership.objects.exclude(role=Role.VIEWER).values_list("project_id", "user_id"))
    in_projects = Task.objects.filter(project__isnull=False)
    assert in_projects.count() == USERS * TASKS // 2
    assert all((task.project_id, task.owner_id) in writers for task in in_projects)


def test_denormalised_copies_match_their_rows(seeded: str) -> None:
    assigned: dict[int, list[str]] = defaultdict(list)
    for task_id, user_id in Assignment.objects.values_list("task_id", "user_id"):
        assigned[task_id].append(str(user_id))
    comments = Counter(Comment.objects.values_list("task_id", flat=True))
    members = defaultdict(set)
    for project_id, user_id in Membership.objects.values_list("project_id", "user_id"):
        members[project_id].add(str(user_id))
    assert assigned and comments
    for task in Task.objects.all():
        assert task.assignee_ids == sorted(assigned[task.pk])
        assert task.comments_count == comments[task.pk]
        allowed = members[task.project_id] if task.project_id else {str(task.owner_id)}
        assert set(task.assignee_ids) <= allowed
    authors = Comment.objects.values_list("task__project_id", "task__owner_id", "author_id")
    assert all(str(author) in (members[project] if project else {str(owner)}) for project, owner, author in authors)


def test_subtasks_sit_under_a_parent_of_their_own_list(seeded: str) -> None:
    tasks: dict[int | None, Task] = {task.pk: task for task in Task.objects.all()}
    children = [task for task in tasks.values() if task.parent_id]
    assert len(children) > USERS * TASKS // 5
    for task in children:
        parent = tasks[task.parent_id]
        assert parent.project_id == task.project_id
        if task.project_id is None:
            assert parent.owner_id == task.owner_id
        assert parent.created_at <= task.created_at
        if parent.status == Status.COMPLETED:
            assert task.status == Status.COMPLETED
            assert task.completed_at is not None and parent.completed_at is not None
            assert task.completed_at <= parent.completed_at
        depth, above = 1, parent
        while above.parent_id:
            depth, above = depth + 1, tasks[above.parent_id]
        assert depth < MAX_DEPTH
    assert any(tasks[task.parent_id].parent_id for task in children), "no second level of subtasks"
    for task in tasks.values():
        assert (task.status == Status.COMPLETED) == (task.completed_at is not None)


def test_positions_are_distinct_among_siblings_and_before_a_new_task(seeded: str) -> None:
    siblings = Counter(
        (task.project_id, None if task.project_id else task.owner_id, task.parent_id, task.position)
        for task in Task.objects.all()
    )
    assert max(siblings.values()) == 1
    assert Task.objects.order_by("-position").values_list("position", flat=True)[0] < tree.new_position()

    member = signed_in("seed1@example.com")
    project = Project.objects.order_by("pk").first()
    assert project is not None
    created = member.post("/api/v1/tasks/", {"title": "After the seeded ones", "project": project.pk}, format="json")
    assert created.status_code == 201, created.content
    ordered = pages(member, f"/api/v1/tasks/?project={project.pk}&parent=none&ordering=position&page_size=100")
    assert ordered[-1]["id"] == created.json()["id"]


def test_the_change_log_holds_every_seeded_row_once(seeded: str) -> None:
    logged = Counter(Change.objects.values_list("kind", "object_id"))
    expected = Counter(
        [(ChangeKind.TASK, pk) for pk in Task.objects.values_list("pk", flat=True)]
        + [(ChangeKind.PROJECT, pk) for pk in Project.objects.values_list("pk", flat=True)]
        + [(ChangeKind.MEMBERSHIP, pk) for pk in Membership.objects.values_list("pk", flat=True)]
    )
    assert logged == expected


def test_a_member_lists_and_syncs_exactly_the_seeded_tasks_they_may_see(seeded: str) -> None:
    member = signed_in("seed2@example.com")
    listed = pages(member, "/api/v1/tasks/?page_size=100")
    assert len(listed) == VISIBLE
    by_id = {task.pk: task for task in Task.objects.all()}
    for row in listed:
        task = by_id[row["id"]]
        assert row["comments_count"] == task.comments_count
        assert row["assignees"] == task.assignee_ids

    synced: list[dict[str, Any]] = []
    body = member.get("/api/v1/sync?limit=40").json()
    synced += body["tasks"]
    while body["has_more"]:
        body = member.get("/api/v1/sync", {"cursor": body["cursor"], "limit": 40}).json()
        synced += body["tasks"]
    assert sorted(row["id"] for row in synced) == sorted(row["id"] for row in listed)
    # Nothing was written since: the next call brings nothing new (a change may come twice while the seed's
    # transaction, this test's, is still open on PostgreSQL) and nothing removed.
    after = member.get("/api/v1/sync", {"cursor": body["cursor"]}).json()
    assert after["full"] is False
    assert {row["id"] for row in after["tasks"]} <= {row["id"] for row in listed}
    assert after["removed"] == {"projects": [], "tasks": []}

    outsider_view = signed_in("seed1@example.com").get(f"/api/v1/tasks/{_personal_of('seed2@example.com')}")
    assert outsider_view.status_code == 404


def _personal_of(email: str) -> int:
    task = Task.objects.filter(owner__email=email, project__isnull=True).first()
    assert task is not None
    return task.pk
