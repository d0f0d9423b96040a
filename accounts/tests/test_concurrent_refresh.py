"""Several tabs refreshing with the same token at the same moment: one session, never ended, never forked.

Needs PostgreSQL: the row lock (SELECT ... FOR UPDATE) is what serialises the refreshes, and only a server
database lets eight threads hold eight real connections at once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial
from typing import Any
from unittest import mock

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Session, User
from accounts.tests.refresh_modes import RefreshMode
from audit.models import Event, EventType
from config.tests.concurrency import all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABS = 8


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def refresh_all_at_once(token: str, mode: RefreshMode) -> list[Any]:
    # One client per tab, as separate browser tabs would be.
    return all_at_once([partial(mode.refresh, token, APIClient()) for _ in range(TABS)])


def test_concurrent_refreshes_of_one_token_neither_end_nor_fork_the_session(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    # Time stands still, so the whole test sits inside the grace window however slow the machine is.
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    tokens = mode.login(user)
    session_id = claims(tokens["access"])["sid"]

    # Hold the row lock a little longer so the tabs really queue on it instead of merely taking turns.
    record = services.sessions.audit_record

    def slow_record(**kwargs: Any) -> Any:
        time.sleep(0.05)
        return record(**kwargs)

    with mock.patch.object(services.sessions, "audit_record", side_effect=slow_record):
        responses = refresh_all_at_once(tokens["refresh"], mode)

    assert [response.status_code for response in responses] == [200] * TABS, [r.content for r in responses]
    bodies = [mode.tokens(response) for response in responses]

    # Exactly one session, the one the login opened, still live.
    assert Session.objects.filter(user=user).count() == 1
    session = Session.objects.get(user=user)
    assert str(session.pk) == session_id
    assert session.ended_at is None and session.end_reason == ""
    # Exactly one tab rotated the token; the others were handed the pair it produced.
    assert Event.objects.filter(user=user, event=EventType.TOKEN_REFRESHED).count() == 1
    assert not Event.objects.filter(user=user, event=EventType.REFRESH_REUSE_DETECTED).exists()
    for body in bodies:
        assert claims(body["access"])["sid"] == session_id
        assert claims(body["refresh"])["sid"] == session_id
        assert claims(body["refresh"])["jti"] == session.refresh_jti
        assert APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}").status_code == 200

    # Every tab can go on refreshing: the first rotates the shared token, the others fall in its grace window.
    for body in bodies:
        again = mode.refresh(body["refresh"])
        assert again.status_code == 200, again.content
        assert claims(again.json()["access"])["sid"] == session_id
    assert Session.objects.live().filter(user=user).count() == 1
    assert Session.objects.filter(user=user).count() == 1

    # What is not true: the tabs do not hold independent tokens. They all hold the one now rotated away, so
    # once the grace window has passed, presenting it again is reuse, and that ends the session.
    time_machine.shift(timedelta(seconds=settings.REFRESH_GRACE_SECONDS + 1))
    reused = mode.refresh(bodies[0]["refresh"])
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_reused"
    assert not Session.objects.live().filter(user=user).exists()


def test_concurrent_refreshes_after_the_window_all_fail_but_end_the_session_once(
    mode: RefreshMode, user: User, time_machine: Any
) -> None:
    time_machine.move_to("2026-03-02 09:00:00+00:00", tick=False)
    tokens = mode.login(user)
    assert mode.refresh(tokens["refresh"]).status_code == 200
    time_machine.shift(timedelta(seconds=settings.REFRESH_GRACE_SECONDS + 1))

    responses = refresh_all_at_once(tokens["refresh"], mode)

    codes = sorted(response.json()["code"] for response in responses)
    assert all(response.status_code == 401 for response in responses)
    # The first replay is reuse and ends the session; the rest find it already ended.
    assert codes.count("token_reused") == 1
    assert codes.count("token_invalid") == TABS - 1
    assert Event.objects.filter(user=user, event=EventType.REFRESH_REUSE_DETECTED).count() == 1
    assert not Session.objects.live().filter(user=user).exists()
