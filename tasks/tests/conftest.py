"""Fixtures of the task tests: clients holding a real access token, minted by the session service.

Signing in through the login endpoint verifies an Argon2 hash each time; the tests of the login endpoint
itself live in accounts. Here the token comes from the same service the login view calls, so the full
authentication path (JWT check, session lookup) still runs on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.services import session_open
from audit.context import SYSTEM
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
