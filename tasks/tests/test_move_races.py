"""Races on the shape of a project's tasks: the project's row lock makes concurrent moves queue, so neither a
cycle, a fifth level, a shared place nor a lost task can come out of them.

Needs PostgreSQL: only a server database lets several threads hold real connections and row locks at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any
from unittest import mock

import pytest

from config.tests.concurrency import all_at_once
from tasks.models import Project, Task
from tasks.services import moves
from tasks.services import tree as tree_services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def create(client: Any, **body: Any) -> int:
    response = client.post("/api/v1/tasks/", body, format="json")
    assert response.status_code == 201, response.json()
    return int(response.json()["id"])


def slowed_placing() -> Any:
    """Holds the tree lock a little longer, so the moves really overlap instead of merely taking turns."""
    place = tree_services.place_after

    def slow_place(**kwargs: Any) -> Any:
        time.sleep(0.05)
        return place(**kwargs)

    return mock.patch.object(moves.tree, "place_after", side_effect=slow_place)


def test_concurrent_moves_of_siblings_keep_every_task_in_its_own_place(
    project: Project, client_for: Any, user: Any, editor: Any
) -> None:
    owner, other = client_for(user), client_for(editor)
    ids = [create(owner, title=f"T{n}", project=project.pk) for n in range(8)]
    # Neighbours one apart: every move into that gap must renumber the siblings.
    for n, pk in enumerate(ids):
        Task.objects.filter(pk=pk).update(position=n)
    calls: list[Callable[[], Any]] = [
        partial((owner if n % 2 else other).post, f"/api/v1/tasks/{pk}/move", {"after": ids[0]}, format="json")
        for n, pk in enumerate(ids[2:])
    ]

    with slowed_placing():
        responses = all_at_once(calls)

    assert [r.status_code for r in responses] == [200] * len(calls), [r.content for r in responses]
    positions = list(Task.objects.filter(project=project).values_list("pk", "position"))
    assert sorted(pk for pk, _ in positions) == sorted(ids)
    assert len({position for _, position in positions}) == len(ids)
    listed = owner.get(f"/api/v1/tasks/?project={project.pk}&ordering=position&page_size=100").json()["results"]
    order = [t["id"] for t in listed]
    # Every moved task went right after the first, so the second (never moved) is now last.
    assert (order[0], order[-1], sorted(order)) == (ids[0], ids[1], sorted(ids))


def test_a_under_b_racing_b_under_a_makes_no_cycle(project: Project, client_for: Any, user: Any, editor: Any) -> None:
    owner, other = client_for(user), client_for(editor)
    a = create(owner, title="A", project=project.pk)
    b = create(owner, title="B", project=project.pk)

    with slowed_placing():
        responses = all_at_once(
            [
                lambda: owner.post(f"/api/v1/tasks/{a}/move", {"parent": b}, format="json"),
                lambda: other.post(f"/api/v1/tasks/{b}/move", {"parent": a}, format="json"),
            ]
        )

    assert sorted(r.status_code for r in responses) == [200, 400], [r.content for r in responses]
    parents = dict(Task.objects.filter(pk__in=[a, b]).values_list("pk", "parent_id"))
    assert parents in ({a: b, b: None}, {a: None, b: a})


def test_two_chains_joined_to_each_other_at_once_make_no_loop(
    project: Project, client_for: Any, user: Any, editor: Any
) -> None:
    owner, other = client_for(user), client_for(editor)
    top = create(owner, title="Top", project=project.pk)
    middle = create(owner, title="Middle", parent=top)
    lone = create(owner, title="Lone", project=project.pk)
    below = create(owner, title="Below", parent=lone)

    with slowed_placing():
        responses = all_at_once(
            [
                # Each alone is fine (4 levels); together they would make a loop of four.
                lambda: owner.post(f"/api/v1/tasks/{lone}/move", {"parent": middle}, format="json"),
                lambda: other.post(f"/api/v1/tasks/{top}/move", {"parent": below}, format="json"),
            ]
        )

    assert sorted(r.status_code for r in responses) == [200, 400], [r.content for r in responses]
    tops = Task.objects.filter(project=project, parent__isnull=True).count()
    assert tops == 1  # one tree of four levels: nothing hangs in a loop
    depths = [
        len(tree_services.ancestors_of(pk)) for pk in Task.objects.filter(project=project).values_list("pk", flat=True)
    ]
    assert sorted(depths) == [1, 2, 3, 4]
