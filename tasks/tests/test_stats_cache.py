"""GET /api/v1/tasks/stats/ from the cache (tasks/selectors/stats.py): fewer queries while nothing changed, and
always exactly what the aggregate answers now: after any write the caller can see, as time passes, and with
Redis down.

Transactional tests: on PostgreSQL the change log's position only moves past transactions that have ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from audit.context import SYSTEM
from config.tests.test_redis_unreachable import redis_down  # noqa: F401 (a fixture)
from tasks.models import Priority, Project, Status
from tasks.selectors import stats
from tasks.selectors.stats import task_stats_uncached
from tasks.services.projects import project_create
from tasks.tests.factories import TaskFactory
from tasks.tests.test_list_etags import settled

pytestmark = pytest.mark.django_db(transaction=True)

STATS = "/api/v1/tasks/stats/"

# GET /api/v1/tasks/stats/, nothing cached (or no longer true):
#   1. the session and its user (authentication)
#   2. the change log's position (PostgreSQL: the current snapshot, no table; SQLite: one row of sqlite_sequence)
#   3. the aggregate over every live task the caller sees
MISS_QUERIES = 3
# And served from the cache:
#   1. the session and its user (authentication)
#   2. EXISTS: a change-log row of the caller's or of their projects since the entry's position (two indexes)
HIT_QUERIES = 2


def get_stats(client: APIClient, project: Any = None) -> dict[str, Any]:
    response = client.get(STATS, {} if project is None else {"project": project})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def uncached(user: Any, project: Any = None) -> dict[str, Any]:
    return task_stats_uncached(user=user, project=project, now=timezone.now())[0]


def exact(client: APIClient, user: Any, project: Any = None) -> dict[str, Any]:
    """The caller's stats, checked against the aggregate computed directly at this moment."""
    body = get_stats(client, project)
    assert body == uncached(user, project)
    return body


@pytest.fixture
def some_tasks(user: Any, project: Project) -> None:
    TaskFactory(owner=user, priority=Priority.HIGH, due_at=timezone.now() - timedelta(days=1))
    TaskFactory(owner=user, status=Status.COMPLETED, completed_at=timezone.now() - timedelta(days=1))
    TaskFactory.create_batch(3, owner=user, project=project)


@pytest.mark.parametrize("project_filter", [None, "project", "none"])
def test_repeated_stats_are_served_from_the_cache(
    project_filter: str | None,
    user: Any,
    project: Project,
    some_tasks: None,
    owner_client: APIClient,
    django_assert_num_queries: Any,
) -> None:
    project_param = project.pk if project_filter == "project" else project_filter
    settled()
    with django_assert_num_queries(MISS_QUERIES):
        first = get_stats(owner_client, project_param)
    for _ in range(2):
        with django_assert_num_queries(HIT_QUERIES):
            assert get_stats(owner_client, project_param) == first
    assert first == uncached(user, project_param)


def test_each_project_filter_has_its_own_entry(
    user: Any, project: Project, some_tasks: None, owner_client: Any
) -> None:
    everything = exact(owner_client, user)
    in_project = exact(owner_client, user, project.pk)
    personal = exact(owner_client, user, "none")

    assert (everything["total"], in_project["total"], personal["total"]) == (5, 3, 2)


@pytest.fixture
def elsewhere(editor: Any) -> Project:
    """A project of the editor's that the viewer is not in."""
    return project_create(owner=editor, data={"name": "Elsewhere"}, meta=SYSTEM)


def _create(editor_client: APIClient, project: Project, **_: Any) -> None:
    created = editor_client.post("/api/v1/tasks/", {"title": "New", "project": project.pk}, format="json")
    assert created.status_code == 201, created.content


def _update(editor_client: APIClient, shared: Any, **_: Any) -> None:
    patched = editor_client.patch(f"/api/v1/tasks/{shared.pk}", {"priority": "urgent"}, format="json")
    assert patched.status_code == 200, patched.content


def _complete(editor_client: APIClient, shared: Any, **_: Any) -> None:
    assert editor_client.post(f"/api/v1/tasks/{shared.pk}/complete").status_code == 200


def _delete(editor_client: APIClient, shared: Any, **_: Any) -> None:
    assert editor_client.delete(f"/api/v1/tasks/{shared.pk}").status_code == 204


def _move_out(editor_client: APIClient, shared: Any, elsewhere: Project, **_: Any) -> None:
    moved = editor_client.post(f"/api/v1/tasks/{shared.pk}/move", {"project": elsewhere.pk}, format="json")
    assert moved.status_code == 200, moved.content


def _remove_member(owner_client: APIClient, project: Project, viewer: Any, **_: Any) -> None:
    assert owner_client.delete(f"/api/v1/projects/{project.pk}/members/{viewer.pk}").status_code == 204


@pytest.mark.parametrize("change", [_create, _update, _complete, _delete, _move_out, _remove_member])
@pytest.mark.parametrize("project_filter", [None, "project"])
def test_a_change_by_another_member_shows_on_the_very_next_call(
    change: Callable[..., None],
    project_filter: str | None,
    viewer: Any,
    project: Project,
    elsewhere: Project,
    owner_client: APIClient,
    editor_client: APIClient,
    viewer_client: APIClient,
) -> None:
    shared = TaskFactory(
        owner=viewer, project=project, priority=Priority.LOW, due_at=timezone.now() - timedelta(hours=1)
    )
    TaskFactory(owner=viewer, project=project)
    project_param = project.pk if project_filter else None
    settled()
    before = exact(viewer_client, viewer, project_param)
    assert exact(viewer_client, viewer, project_param) == before  # cached now

    change(
        owner_client=owner_client,
        editor_client=editor_client,
        project=project,
        shared=shared,
        viewer=viewer,
        elsewhere=elsewhere,
    )

    assert exact(viewer_client, viewer, project_param) != before


def test_joining_a_project_shows_its_tasks_on_the_next_call(
    user: Any, outsider: Any, project: Project, some_tasks: None, owner_client: APIClient, outsider_api: APIClient
) -> None:
    assert exact(outsider_api, outsider)["total"] == 0
    invited = owner_client.post(
        f"/api/v1/projects/{project.pk}/invitations", {"email": outsider.email, "role": "viewer"}, format="json"
    )
    assert invited.status_code == 202, invited.content
    invitation = outsider_api.get("/api/v1/invitations/").json()["results"][0]

    assert outsider_api.post(f"/api/v1/invitations/{invitation['id']}/accept").status_code == 200

    assert exact(outsider_api, outsider)["total"] == 3


T0 = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# The moves stay within the entry's eviction time (CACHE_SECONDS): what expires the answer here is the clock
# reaching the moment stored in the entry, not the cache dropping it.


def test_a_task_falling_overdue_shows_without_any_write(
    user: Any, client_for: Callable[[Any], APIClient], clock: Any, django_assert_num_queries: Any
) -> None:
    TaskFactory(owner=user, due_at=T0 + timedelta(minutes=5))
    TaskFactory(owner=user, due_at=T0 + timedelta(minutes=8))
    TaskFactory(owner=user, status=Status.COMPLETED, due_at=T0 + timedelta(minutes=1), completed_at=T0)
    settled()
    assert exact(client_for(user), user)["overdue"] == 0

    clock.move_to(T0 + timedelta(minutes=5))
    client = client_for(user)
    with django_assert_num_queries(HIT_QUERIES):
        body = get_stats(client)
    assert body["overdue"] == 0  # due now is not yet overdue
    assert body == uncached(user)

    clock.move_to(T0 + timedelta(minutes=5, seconds=1))
    assert exact(client_for(user), user)["overdue"] == 1
    clock.move_to(T0 + timedelta(minutes=8, seconds=1))
    assert exact(client_for(user), user)["overdue"] == 2


def test_a_completion_leaving_the_seven_days_shows_without_any_write(
    user: Any, client_for: Callable[[Any], APIClient], clock: Any
) -> None:
    week = timedelta(days=7)
    TaskFactory(owner=user, status=Status.COMPLETED, completed_at=T0 - week + timedelta(minutes=5))
    TaskFactory(owner=user, status=Status.COMPLETED, completed_at=T0 - week + timedelta(minutes=8))
    TaskFactory(owner=user, status=Status.COMPLETED, completed_at=T0 - timedelta(days=2))
    settled()
    assert exact(client_for(user), user)["completed_last_7_days"] == 3

    clock.move_to(T0 + timedelta(minutes=5))
    assert exact(client_for(user), user)["completed_last_7_days"] == 3
    clock.move_to(T0 + timedelta(minutes=5, seconds=1))
    assert exact(client_for(user), user)["completed_last_7_days"] == 2
    clock.move_to(T0 + timedelta(minutes=8, seconds=1))
    assert exact(client_for(user), user)["completed_last_7_days"] == 1


@pytest.fixture
def stats_redis_down(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    # REDIS_URL and the cache pointing at nothing (config/tests/test_redis_unreachable.py), and the stats
    # cache's skip window fresh, as no other test left it.
    request.getfixturevalue("redis_down")
    monkeypatch.setattr(stats, "shared_cache", stats._SharedCache())


def test_with_redis_down_the_stats_are_computed_directly(
    user: Any, some_tasks: None, owner_client: APIClient, stats_redis_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    first = exact(owner_client, user)
    TaskFactory(owner=user)

    assert exact(owner_client, user)["total"] == first["total"] + 1
    assert "task stats computed without the cache" in caplog.text


def test_an_entry_of_another_shape_is_recomputed(user: Any, some_tasks: None, owner_client: APIClient) -> None:
    # What an older or newer release might have left under the key.
    cache.set(stats._key(user, None), {"total": 999}, 60)

    assert exact(owner_client, user)["total"] == 5
    assert exact(owner_client, user)["total"] == 5
