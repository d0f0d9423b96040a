"""The task list, a task's GET and a sync check the session in their own statement
(accounts.authentication.PendingSession): one round trip saved, and an ended session refused on its next
request whatever path the view takes (its read, a 404, a 400 before any read, a filtered list, a 304)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session
from accounts.selectors import session_beside, session_from_columns, session_param, session_with_user
from accounts.services.sessions import session_open
from accounts.tests.factories import UserFactory
from audit.context import RequestContext
from tasks.tests.factories import TaskFactory
from tasks.tests.test_list_etags import settled

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(user: Any) -> Any:
    return TaskFactory(owner=user)


def reads(task: Any) -> list[str]:
    """Every kind of GET these views answer: the list's own read, a later page, a filtered list, a page past the
    end (404), a malformed query (400 before any read), one task, someone else's or no task (404)."""
    other = TaskFactory()
    return [
        "/api/v1/tasks/",
        "/api/v1/tasks/?page_size=1&page=1",
        "/api/v1/tasks/?status=pending",
        "/api/v1/tasks/?page=99",
        "/api/v1/tasks/?page=abc",
        "/api/v1/tasks/?ordering=nonsense",
        f"/api/v1/tasks/{task.pk}",
        f"/api/v1/tasks/{other.pk}",
        "/api/v1/tasks/999999999",
        "/api/v1/sync",
        "/api/v1/sync?cursor=not-a-cursor",
    ]


def assert_refused(client: APIClient, paths: list[str]) -> None:
    for path in paths:
        for method in (client.get, client.head):
            answer = method(path)
            assert answer.status_code == 401, (method.__name__, path, answer.content)
            assert answer["WWW-Authenticate"].startswith("Bearer")
            if method is client.get:
                assert answer.json()["code"] == "token_invalid"
                assert b"Task" not in answer.content.replace(b"Task not found", b"")


def test_the_list_and_a_task_are_one_query_each(
    auth_client: APIClient, task: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        assert auth_client.get("/api/v1/tasks/").json()["results"][0]["id"] == task.pk
    with django_assert_num_queries(1):
        assert auth_client.get(f"/api/v1/tasks/{task.pk}").json()["id"] == task.pk
    with django_assert_num_queries(1):
        assert auth_client.get("/api/v1/tasks/999999999").status_code == 404


def test_before_the_session_is_ended_every_read_answers(auth_client: APIClient, task: Any) -> None:
    statuses = [auth_client.get(path).status_code for path in reads(task)]
    assert statuses == [200, 200, 200, 404, 400, 400, 200, 404, 404, 200, 400]


def end_by_logout(client: APIClient, user: Any) -> None:
    assert client.post("/api/v1/auth/logout").status_code == 204


def end_by_logout_all(client: APIClient, user: Any) -> None:
    assert client.post("/api/v1/auth/logout/all").status_code == 204


def end_by_revoking_it(client: APIClient, user: Any) -> None:
    current = next(s for s in client.get("/api/v1/auth/sessions").json()["results"] if s["current"])
    assert client.delete(f"/api/v1/auth/sessions/{current['id']}").status_code == 204


def end_by_deactivation(client: APIClient, user: Any) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def end_by_deleting_the_account(client: APIClient, user: Any) -> None:
    assert (
        client.delete("/api/v1/auth/me", {"password": "correct horse battery staple"}, format="json").status_code == 204
    )


@pytest.mark.parametrize(
    "end",
    [end_by_logout, end_by_logout_all, end_by_revoking_it, end_by_deactivation, end_by_deleting_the_account],
)
def test_an_ended_session_is_refused_by_every_read(
    auth_client: APIClient, user: Any, task: Any, end: Callable[[APIClient, Any], None]
) -> None:
    paths = reads(task)
    assert auth_client.get(paths[0]).status_code == 200
    end(auth_client, user)
    assert_refused(auth_client, paths)


def test_another_sessions_password_change_refuses_this_one(
    auth_client: APIClient, user: Any, task: Any, login_as: Callable[..., APIClient]
) -> None:
    other = login_as(user)
    answer = other.post(
        "/api/v1/auth/password/change",
        {"current_password": "correct horse battery staple", "new_password": "a brand new passphrase 2026"},
        format="json",
    )
    assert answer.status_code == 204
    assert_refused(auth_client, reads(task))
    assert other.get("/api/v1/tasks/").status_code == 200  # the one that changed it goes on


def test_a_session_past_its_end_is_refused(auth_client: APIClient, task: Any) -> None:
    paths = reads(task)
    # The access token is still valid: the session's own end is what the read checks.
    Session.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_refused(auth_client, paths)


def test_a_token_naming_another_users_session_is_refused(user: Any, task: Any) -> None:
    stranger: Any = UserFactory()
    theirs, _ = session_open(user=stranger, meta=RequestContext())
    _, mine = session_open(user=user, meta=RequestContext())
    # A token signed with the right key, for this user, but naming someone else's live session.
    from accounts.tokens import issue_pair

    forged = issue_pair(
        user_id=str(user.pk), session_id=str(theirs.pk), refresh_jti="x", session_expires_at=theirs.expires_at
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged.access}")
    assert_refused(client, reads(task))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine.access}")
    assert client.get(f"/api/v1/tasks/{task.pk}").status_code == 200


def test_the_read_marks_the_session_used(auth_client: APIClient, user: Any, task: Any) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    Session.objects.filter(user=user).update(last_used_at=long_ago)
    assert auth_client.get(f"/api/v1/tasks/{task.pk}").status_code == 200
    assert Session.objects.get(user=user).last_used_at > long_ago


def test_writes_to_the_same_views_check_the_session_first(auth_client: APIClient, user: Any, task: Any) -> None:
    assert auth_client.post("/api/v1/auth/logout/all").status_code == 204
    assert auth_client.post("/api/v1/tasks/", {"title": "after logout"}, format="json").status_code == 401
    assert auth_client.patch(f"/api/v1/tasks/{task.pk}", {"title": "changed"}, format="json").status_code == 401
    assert auth_client.delete(f"/api/v1/tasks/{task.pk}").status_code == 401
    task.refresh_from_db()
    assert (task.title, task.deleted_at) == (task.title, None)
    assert not user.tasks.filter(title="after logout").exists()


def test_the_embedded_lookup_reads_what_the_query_of_its_own_reads(user: Any) -> None:
    from django.db import connection

    session, _ = session_open(user=user, meta=RequestContext(ip_address="2001:db8::1", user_agent="UA"))
    with connection.cursor() as cursor:
        cursor.execute(session_beside("SELECT 1", connection), [session_param(session.pk, "default")])
        row = cursor.fetchone()
        cursor.execute(session_beside("SELECT 1", connection), [session_param(uuid.uuid4(), "default")])
        missing = cursor.fetchone()
    found = session_from_columns("default", row[1:])
    expected = session_with_user(session.pk)
    assert found is not None and expected is not None
    assert model_to_dict(found) == model_to_dict(expected)
    assert model_to_dict(found.user) == model_to_dict(expected.user)
    assert (found.created_at, found.user.date_joined) == (expected.created_at, expected.user.date_joined)
    assert session_from_columns("default", missing[1:]) is None


@pytest.mark.django_db(transaction=True)  # a 304 needs the writes before it committed
def test_a_conditional_list_of_an_ended_session_is_refused_not_304(auth_client: APIClient, task: Any) -> None:
    settled()
    etag = auth_client.get("/api/v1/tasks/")["ETag"]
    assert auth_client.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert auth_client.post("/api/v1/auth/logout/all").status_code == 204
    answer = auth_client.get("/api/v1/tasks/", HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
