"""The refresh of the token in force rotates and records in one statement on PostgreSQL
(accounts.services.sessions._rotate_at_once); everything else about a refresh is decided under the row lock as
before: the grace window, reuse, an ended session, an inactive user."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Session
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db


def refresh(token: str, **extra: Any) -> Any:
    return APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json", **extra)


def test_the_token_in_force_is_rotated_and_recorded(user: Any) -> None:
    first = (
        APIClient()
        .post("/api/v1/auth/login", {"email": user.email, "password": "correct horse battery staple"}, format="json")
        .json()
    )
    session = Session.objects.get(user=user)
    with CaptureQueriesContext(connection) as queries:
        answer = refresh(
            first["refresh"], REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT="Tab 1", HTTP_X_REQUEST_ID="rot-1"
        )
    assert answer.status_code == 200
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1, [query["sql"][:60] for query in queries.captured_queries]
    rotated = Session.objects.get(pk=session.pk)
    assert rotated.previous_refresh_jti == session.refresh_jti != rotated.refresh_jti
    assert rotated.rotated_at is not None and rotated.last_used_at == rotated.rotated_at
    event = Event.objects.get(event=EventType.TOKEN_REFRESHED)
    assert (event.user_id, event.email, event.actor_id, event.actor_email) == (user.pk, user.email, user.pk, user.email)
    assert (event.ip_address, event.user_agent, event.request_id) == ("198.51.100.9", "Tab 1", "rot-1")
    assert event.details == {"session_id": str(session.pk)}
    # The new pair works; the old refresh token is in its grace window: the same session's current pair.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
    assert client.get("/api/v1/auth/me").status_code == 200
    assert refresh(first["refresh"]).status_code == 200
    assert Session.objects.filter(user=user).count() == 1
    assert Event.objects.filter(event=EventType.TOKEN_REFRESHED).count() == 1


def test_an_old_token_after_the_grace_window_is_reuse(user: Any, settings: Any) -> None:
    settings.REFRESH_GRACE_SECONDS = 0
    first = (
        APIClient()
        .post("/api/v1/auth/login", {"email": user.email, "password": "correct horse battery staple"}, format="json")
        .json()
    )
    second = refresh(first["refresh"]).json()
    reused = refresh(first["refresh"])
    assert (reused.status_code, reused.json()["code"]) == (401, "token_reused")
    assert refresh(second["refresh"]).status_code == 401  # the whole session ended
    assert Session.objects.get(user=user).end_reason == Session.EndReason.REUSE_DETECTED


def test_an_inactive_user_or_ended_session_is_not_rotated(user: Any) -> None:
    pair = (
        APIClient()
        .post("/api/v1/auth/login", {"email": user.email, "password": "correct horse battery staple"}, format="json")
        .json()
    )
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert refresh(pair["refresh"]).status_code == 401
    user.is_active = True
    user.save(update_fields=["is_active"])
    session = Session.objects.get(user=user)
    assert session.rotated_at is None
    Session.objects.filter(pk=session.pk).update(ended_at=session.created_at)
    assert refresh(pair["refresh"]).status_code == 401
    assert not Event.objects.filter(event=EventType.TOKEN_REFRESHED).exists()
