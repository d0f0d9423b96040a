"""Several creations racing for the last of the 20 places: exactly one gets it.

Needs PostgreSQL: only a server database lets the threads hold real connections at once, so the user row's
lock is what decides.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services.api_tokens import MAX_LIVE_PER_USER, api_token_create
from audit.context import SYSTEM
from config.tests.concurrency import all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 6


def test_concurrent_creations_never_exceed_the_limit(user: User, login_as: Any) -> None:
    for index in range(MAX_LIVE_PER_USER - 1):
        api_token_create(user=user, name=f"t{index}", scopes=["tasks:read"], expires_in_days=None, meta=SYSTEM)
    clients: list[APIClient] = [login_as(user) for _ in range(RACERS)]

    def create(index: int) -> int:
        body = {"name": f"racer {index}", "scopes": ["tasks:read"]}
        return int(clients[index].post("/api/v1/auth/tokens", body, format="json").status_code)

    statuses = all_at_once([partial(create, index) for index in range(RACERS)])

    assert sorted(statuses) == [201] + [409] * (RACERS - 1)
    assert ApiToken.objects.live().filter(user=user).count() == MAX_LIVE_PER_USER
