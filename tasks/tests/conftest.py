"""Fixtures of the task tests: clients holding a real access token, minted by the session service.

Signing in through the login endpoint verifies an Argon2 hash each time; the tests of the login endpoint
itself live in accounts. Here the token comes from the same service the login view calls, so the full
authentication path (JWT check, session lookup) still runs on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.services.sessions import session_open
from accounts.tests.factories import UserFactory
from audit.context import SYSTEM
from tasks.models import Membership, Project, Role
from tasks.services.projects import project_create
from tasks.tests.factories import TaskFactory


@pytest.fixture
def client_for(db: Any) -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        _, pair = session_open(user=user, meta=SYSTEM)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
        return client

    return make


@pytest.fixture
def owner_client(user: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(user)


@pytest.fixture
def outsider_api(outsider: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(outsider)


@pytest.fixture
def task(user: Any) -> Any:
    return TaskFactory(owner=user, title="Write the report", tags=["work"])


@pytest.fixture
def foreign_task(outsider: Any) -> Any:
    return TaskFactory(owner=outsider, title="Not yours", tags=["secret"])


# Projects: one project with an owner (`user`), an editor and a viewer; `outsider` belongs to none.


@pytest.fixture
def editor(db: Any) -> Any:
    return UserFactory(email="editor@example.com", full_name="Eddie Editor", email_verified=True)


@pytest.fixture
def viewer(db: Any) -> Any:
    return UserFactory(email="viewer@example.com", full_name="Vera Viewer", email_verified=True)


@pytest.fixture
def project(user: Any, editor: Any, viewer: Any) -> Project:
    project = project_create(owner=user, data={"name": "Launch", "description": "The spring launch"}, meta=SYSTEM)
    Membership.objects.create(project=project, user=editor, role=Role.EDITOR)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def editor_client(editor: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(editor)


@pytest.fixture
def viewer_client(viewer: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(viewer)


# A frozen clock, for recurrence and reminders (SPEC 4c) ---------------------------------------------------------

CLOCK_START = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Time stands still at CLOCK_START until the test moves it (`clock.move_to`, `clock.shift`)."""
    with time_machine.travel(CLOCK_START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def next_client(user: Any, client_for: Callable[[Any], APIClient], clock: Any) -> Callable[[], APIClient]:
    """A client of `user` with a token minted now (the clock moves further than an access token lives). Each
    call is a moment later (30 s): completions made with separate clients are separate, not one repeated."""

    def make() -> APIClient:
        clock.shift(timedelta(seconds=30))
        return client_for(user)

    return make
