"""Idempotency-Key on create: a retry returns the first response and creates nothing, even when racing."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from audit.models import Event, EventType
from tasks.models import IdempotencyKey, Task

pytestmark = pytest.mark.django_db

BODY = {"title": "Pay rent", "priority": "high", "tags": ["home"]}


def create(client: Any, key: str | None, body: Any = BODY) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/tasks/", body, format="json", **headers)


def test_a_retry_returns_the_first_response_and_creates_nothing(owner_client: Any) -> None:
    first = create(owner_client, "key-1")
    second = create(owner_client, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Task.objects.count() == 1
    assert Event.objects.filter(event=EventType.TASK_CREATED).count() == 1


def test_the_replay_is_the_first_response_even_after_the_task_changed(owner_client: Any) -> None:
    first = create(owner_client, "key-1").json()
    owner_client.patch(f"/api/v1/tasks/{first['id']}", {"title": "changed"}, format="json")
    assert create(owner_client, "key-1").json() == first


def test_the_same_body_in_another_key_order_is_the_same_request(owner_client: Any) -> None:
    first = create(owner_client, "k", {"title": "a", "tags": ["x"], "priority": "low"})
    second = create(owner_client, "k", {"priority": "low", "tags": ["x"], "title": "a"})
    assert second.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_a_409(owner_client: Any) -> None:
    create(owner_client, "key-1")
    response = create(owner_client, "key-1", {**BODY, "title": "Something else"})
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Task.objects.count() == 1


def test_another_body_under_a_used_key_is_a_409_even_if_invalid(owner_client: Any) -> None:
    create(owner_client, "key-1")
    assert create(owner_client, "key-1", {"title": ""}).status_code == 409


def test_keys_are_per_user(owner_client: Any, outsider_api: Any) -> None:
    mine = create(owner_client, "shared-key")
    theirs = create(outsider_api, "shared-key")
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    assert Task.objects.count() == 2


def test_different_keys_create_different_tasks(owner_client: Any) -> None:
    assert create(owner_client, "a").json()["id"] != create(owner_client, "b").json()["id"]
    assert create(owner_client, None).json()["id"] != create(owner_client, None).json()["id"]
    assert Task.objects.count() == 4


def test_a_failed_create_does_not_use_up_the_key(owner_client: Any) -> None:
    assert create(owner_client, "key-1", {"title": ""}).status_code == 400
    assert create(owner_client, "key-1").status_code == 201
    assert create(owner_client, "key-1").headers["Idempotent-Replayed"] == "true"


def test_a_key_older_than_24_hours_starts_over(client_for: Any, user: Any) -> None:
    first = create(client_for(user), "key-1").json()
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        client = client_for(user)
        again = create(client, "key-1")
        assert again.status_code == 201
        assert again.json()["id"] != first["id"]
        assert "Idempotent-Replayed" not in again.headers
        # and the new response is now the one replayed
        assert create(client, "key-1").json()["id"] == again.json()["id"]
        assert create(client, "key-1", {"title": "other"}).status_code == 409
    assert IdempotencyKey.objects.count() == 1


def test_a_key_within_24_hours_still_replays(client_for: Any, user: Any) -> None:
    first = create(client_for(user), "key-1").json()
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert create(client_for(user), "key-1").json() == first


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey", "ключ"])
def test_a_malformed_key_is_a_400(owner_client: Any, key: str) -> None:
    response = owner_client.post(
        "/api/v1/tasks/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert Task.objects.count() == 0


def test_the_compat_route_honours_the_key_too(owner_client: Any, user: Any) -> None:
    first = owner_client.post(f"/api/{user.pk}/tasks", BODY, format="json", HTTP_IDEMPOTENCY_KEY="c")
    second = owner_client.post("/api/v1/tasks", BODY, format="json", HTTP_IDEMPOTENCY_KEY="c")
    assert second.json() == first.json()
    assert Task.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_retries_create_one_task_and_all_get_the_same_body(client_for: Any, user: Any) -> None:
    """Eight threads send the same keyed create at once: one task, eight identical 201s."""
    clients = [client_for(user) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    responses: list[Any] = []
    errors: list[BaseException] = []

    def send(client: Any) -> None:
        try:
            barrier.wait()
            responses.append(create(client, "racing-key"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert [r.status_code for r in responses] == [201] * len(clients)
    assert len({r.content for r in responses}) == 1
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    assert Task.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert Event.objects.filter(event=EventType.TASK_CREATED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_key_and_different_bodies_create_one_task(client_for: Any, user: Any) -> None:
    clients = [client_for(user) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client: Any, title: str) -> None:
        try:
            barrier.wait()
            statuses.append(create(client, "contested", {"title": title}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c, f"title {i}")) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 409, 409, 409]
    assert Task.objects.count() == 1
