"""Lost-update protection: a strong ETag that changes with the task, and If-Match honoured by every write."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

WRITES = [
    ("put", "/api/v1/tasks/{id}", {"title": "Replaced"}),
    ("patch", "/api/v1/tasks/{id}", {"title": "Renamed"}),
    ("post", "/api/v1/tasks/{id}/complete", None),
    ("post", "/api/v1/tasks/{id}/reopen", None),
    ("delete", "/api/v1/tasks/{id}", None),
]


def write(client: Any, method: str, path: str, body: Any, task: Any, **headers: Any) -> Any:
    return getattr(client, method)(path.format(id=task.id), body, format="json", **headers)


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_it_rejects_a_stale_if_match(owner_client: Any, task: Any, method: str, path: str, body: Any) -> None:
    stale = owner_client.get(f"/api/v1/tasks/{task.id}").headers["ETag"]
    owner_client.patch(f"/api/v1/tasks/{task.id}", {"status": "in_progress"}, format="json")
    before = Task.objects.get(pk=task.pk)

    response = write(owner_client, method, path, body, task, HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert response.headers["ETag"] == before.etag
    after = Task.objects.get(pk=task.pk)
    assert (after.title, after.status, after.deleted_at, after.version) == (
        before.title,
        before.status,
        before.deleted_at,
        before.version,
    )


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_it_accepts_the_current_etag(owner_client: Any, task: Any, method: str, path: str, body: Any) -> None:
    if "reopen" in path:
        owner_client.post(f"/api/v1/tasks/{task.id}/complete")
    etag = owner_client.get(f"/api/v1/tasks/{task.id}").headers["ETag"]
    response = write(owner_client, method, path, body, task, HTTP_IF_MATCH=etag)
    assert response.status_code in (200, 204)
    if response.status_code == 200:
        assert response.headers["ETag"] != etag


@pytest.mark.parametrize("header", ["*", '"nope", {etag}', '{etag}, "nope"'], ids=["star", "list-last", "list-first"])
def test_if_match_takes_a_star_or_a_list(owner_client: Any, task: Any, header: str) -> None:
    response = owner_client.patch(
        f"/api/v1/tasks/{task.id}", {"title": "x"}, format="json", HTTP_IF_MATCH=header.format(etag=task.etag)
    )
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["W/{etag}", '"nope"', "", "garbage"])
def test_a_weak_or_wrong_if_match_never_matches(owner_client: Any, task: Any, header: str) -> None:
    response = owner_client.patch(
        f"/api/v1/tasks/{task.id}", {"title": "x"}, format="json", HTTP_IF_MATCH=header.format(etag=task.etag)
    )
    assert response.status_code == 412


def test_without_if_match_the_write_goes_through(owner_client: Any, task: Any) -> None:
    assert owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": "x"}, format="json").status_code == 200


def test_the_etag_changes_whenever_the_task_changes(owner_client: Any, task: Any) -> None:
    seen = {owner_client.get(f"/api/v1/tasks/{task.id}").headers["ETag"]}
    steps = [
        lambda: owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": "a"}, format="json"),
        lambda: owner_client.put(f"/api/v1/tasks/{task.id}", {"title": "b"}, format="json"),
        lambda: owner_client.post(f"/api/v1/tasks/{task.id}/complete"),
        lambda: owner_client.post(f"/api/v1/tasks/{task.id}/reopen"),
        lambda: owner_client.post(
            "/api/v1/tasks/bulk/", {"action": "update", "ids": [task.id], "fields": {"tags": ["z"]}}, format="json"
        ),
        lambda: owner_client.delete(f"/api/v1/tasks/{task.id}"),
        lambda: owner_client.post(f"/api/v1/tasks/{task.id}/restore"),
    ]
    for step in steps:  # each step changes the task
        assert step().status_code in (200, 204)
        etag = Task.objects.get(pk=task.pk).etag  # a trashed task has no GET
        assert etag not in seen
        seen.add(etag)


def test_a_write_that_changes_nothing_keeps_the_etag(owner_client: Any, task: Any) -> None:
    response = owner_client.patch(f"/api/v1/tasks/{task.id}", {"title": task.title}, format="json")
    assert response.headers["ETag"] == task.etag
    assert owner_client.post(f"/api/v1/tasks/{task.id}/reopen").headers["ETag"] == task.etag


def test_two_tasks_never_share_an_etag(user: Any) -> None:
    a, b = TaskFactory(owner=user), TaskFactory(owner=user)
    assert a.etag != b.etag


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_with_the_same_etag_cannot_both_write(client_for: Any, user: Any) -> None:
    """The row lock serialises the two writes; the second sees the new version and gets 412."""
    task = TaskFactory(owner=user)
    clients = [client_for(user) for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def edit(client: Any, title: str) -> None:
        try:
            barrier.wait()
            response = client.patch(
                f"/api/v1/tasks/{task.id}", {"title": title}, format="json", HTTP_IF_MATCH=task.etag
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(c, f"title {i}")) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 412]
    assert Task.objects.get(pk=task.pk).version == 2
