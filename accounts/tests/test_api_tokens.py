"""Personal API tokens: POST/GET /auth/tokens, DELETE /auth/tokens/{id}, `Bearer tdk_...` within its scopes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Session, User
from accounts.services.api_tokens import MAX_LIVE_PER_USER
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from audit.models import Event, EventType
from tasks.models import Project, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

# `tdk_`, 32 hex characters of the id, `_`: the secret follows (it may itself hold `_`).
SECRET_AT = len("tdk_") + 32 + 1

TOKENS = "/api/v1/auth/tokens"
START = "2026-03-02 09:00:00+00:00"
ALL_SCOPES = ["tasks:read", "tasks:write", "projects:read", "projects:write"]


def create(client: APIClient, scopes: Any = ("tasks:read",), name: Any = "backup script", **extra: Any) -> Any:
    body = {"name": name, "scopes": list(scopes) if isinstance(scopes, tuple) else scopes, **extra}
    return client.post(TOKENS, body, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def token_for(user: User, login_as: Callable[..., APIClient]) -> Callable[..., str]:
    """A token of `user` with the given scopes, created through the endpoint (signed in at the time it is
    called, so a test may move the clock first)."""

    def make(*scopes: str, **extra: Any) -> str:
        response = create(login_as(user), scopes=scopes, **extra)
        assert response.status_code == 201, response.content
        return str(response.json()["token"])

    return make


# Creating, listing, revoking ---------------------------------------------------------------------------


def test_creating_answers_the_token_once_and_stores_only_its_digest(
    user: User, login_as: Callable[..., APIClient], time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    auth_client = login_as(user)
    response = create(auth_client, scopes=["projects:read", "tasks:write"], expires_in_days=30)

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"id", "name", "scopes", "token", "created_at", "expires_at", "last_used_at"}
    assert body["name"] == "backup script"
    assert body["scopes"] == ["tasks:write", "projects:read"]
    assert body["token"].startswith("tdk_") and len(body["token"]) > 60
    assert body["created_at"] == "2026-03-02T09:00:00Z"
    assert body["expires_at"] == "2026-04-01T09:00:00Z"
    assert body["last_used_at"] is None
    row = ApiToken.objects.get(pk=body["id"], user=user)
    secret = body["token"][SECRET_AT:]
    # A dump holds the digest only: nothing in the row is (or contains) the token or its secret.
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=row.pk).values().get())
    listed = auth_client.get(TOKENS).json()
    assert listed["count"] == 1
    assert listed["results"] == [{key: value for key, value in body.items() if key != "token"}]


def test_creating_is_audited_and_mails_a_notice_without_the_token(
    auth_client: APIClient, user: User, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    run_jobs()
    mailoutbox.clear()
    token = create(auth_client, name="nightly export").json()["token"]
    run_jobs()

    [notice] = mailoutbox
    assert notice.to == [user.email]
    assert notice.subject == "Taskdesk: A personal API token was created"
    assert "nightly export" in notice.body and token not in notice.body
    event = Event.objects.get(event=EventType.API_TOKEN_CREATED)
    assert event.user_id == user.pk
    assert event.details["name"] == "nightly export" and event.details["scopes"] == ["tasks:read"]
    assert token not in str(event.details)


def test_a_token_without_expiry_never_expires(
    user: User, login_as: Callable[..., APIClient], time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    body = create(login_as(user)).json()
    assert body["expires_at"] is None

    time_machine.shift(timedelta(days=3 * 365))

    assert bearer(body["token"]).get("/api/v1/tasks/").status_code == 200


def test_revoking_kills_the_token_at_once(auth_client: APIClient, user: User, token_for: Callable[..., str]) -> None:
    token = token_for("tasks:read")
    script = bearer(token)
    assert script.get("/api/v1/tasks/").status_code == 200
    token_id = ApiToken.objects.get(user=user).pk

    assert auth_client.delete(f"{TOKENS}/{token_id}").status_code == 204

    assert_error(script.get("/api/v1/tasks/"), 401, "token_invalid")
    assert auth_client.get(TOKENS).json()["count"] == 0
    assert_error(auth_client.delete(f"{TOKENS}/{token_id}"), 404, "not_found")
    row = ApiToken.objects.get(pk=token_id)
    assert row.revoked_at is not None and row.revoke_reason == "user"
    assert Event.objects.get(event=EventType.API_TOKEN_REVOKED).details["reason"] == "user"


def test_another_users_token_is_a_404_and_stays_alive(
    outsider_client: APIClient, token_for: Callable[..., str], user: User
) -> None:
    token = token_for("tasks:read")
    token_id = ApiToken.objects.get(user=user).pk

    assert_error(outsider_client.delete(f"{TOKENS}/{token_id}"), 404, "not_found")
    assert_error(outsider_client.delete(f"{TOKENS}/{uuid.uuid4()}"), 404, "not_found")
    assert outsider_client.get(TOKENS).json()["count"] == 0
    assert bearer(token).get("/api/v1/tasks/").status_code == 200


def test_at_most_twenty_live_tokens_per_user(auth_client: APIClient, user: User) -> None:
    for index in range(MAX_LIVE_PER_USER):
        assert create(auth_client, name=f"t{index}").status_code == 201

    assert_error(create(auth_client, name="one too many"), 409, "token_limit")
    assert ApiToken.objects.filter(user=user).count() == MAX_LIVE_PER_USER

    # A revoked one frees its place; so does an expired one.
    oldest, second = ApiToken.objects.filter(user=user).order_by("created_at")[:2]
    assert auth_client.delete(f"{TOKENS}/{oldest.pk}").status_code == 204
    assert create(auth_client, name="replacement").status_code == 201
    assert_error(create(auth_client, name="one too many again"), 409, "token_limit")
    ApiToken.objects.filter(pk=second.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert create(auth_client, name="another").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"scopes": ["tasks:read"]},
        {"name": "", "scopes": ["tasks:read"]},
        {"name": "   ", "scopes": ["tasks:read"]},
        {"name": "a\nb", "scopes": ["tasks:read"]},
        {"name": "x" * 101, "scopes": ["tasks:read"]},
        {"name": 5, "scopes": ["tasks:read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": "tasks:read"},
        {"name": "x", "scopes": ["tasks:admin"]},
        {"name": "x", "scopes": ["audit:read"]},
        {"name": "x", "scopes": [None]},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 0},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 366},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": "30"},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": 1.5},
        {"name": "x", "scopes": ["tasks:read"], "expires_in_days": True},
    ],
)
def test_bad_input_is_a_400_and_creates_nothing(auth_client: APIClient, body: dict[str, Any]) -> None:
    assert_error(auth_client.post(TOKENS, body, format="json"), 400, "validation_error")
    assert not ApiToken.objects.exists()


def test_the_tokens_endpoints_need_a_signed_in_user(api_client: APIClient) -> None:
    assert_error(create(api_client), 401, "not_authenticated")
    assert_error(api_client.get(TOKENS), 401, "not_authenticated")


# Using a token -----------------------------------------------------------------------------------------

# One request of each kind per endpoint family: (method, path, scope family, body).
FAMILIES = [
    ("get", "/api/v1/tasks/", "tasks", None),
    ("post", "/api/v1/tasks/", "tasks", {"title": "from a script"}),
    ("get", "/api/v1/tasks/stats/", "tasks", None),
    ("get", "/api/v1/tasks/trash/", "tasks", None),
    ("post", "/api/v1/tasks/bulk/", "tasks", {"action": "complete", "ids": ["<task>"]}),
    ("post", "/api/v1/tasks/<task>/complete", "tasks", None),
    ("get", "/api/v1/tasks/<task>", "tasks", None),
    ("get", "/api/v1/projects/", "projects", None),
    ("post", "/api/v1/projects/", "projects", {"name": "From a script"}),
    ("get", "/api/v1/invitations/", "projects", None),
]


@pytest.mark.parametrize(("method", "path", "family", "body"), FAMILIES, ids=[f"{m} {p}" for m, p, _, _ in FAMILIES])
@pytest.mark.parametrize("scopes", [[s] for s in ALL_SCOPES] + [ALL_SCOPES], ids=[*ALL_SCOPES, "all"])
def test_each_scope_opens_exactly_its_family_and_access(
    token_for: Callable[..., str], user: User, method: str, path: str, family: str, body: Any, scopes: list[str]
) -> None:
    task = TaskFactory(owner=user)
    path = path.replace("<task>", str(task.pk))
    if body and body.get("ids"):
        body = {**body, "ids": [task.pk]}
    client = bearer(token_for(*scopes))
    needed = f"{family}:read" if method == "get" else f"{family}:write"
    allowed = needed in scopes or f"{family}:write" in scopes

    response = getattr(client, method)(path, body, format="json")

    if allowed:
        assert response.status_code in {200, 201}, response.content
    else:
        assert_error(response, 403, "insufficient_scope")


def test_a_write_scope_reaches_a_task_and_its_project(user: User, token_for: Callable[..., str]) -> None:
    client = bearer(token_for("tasks:write", "projects:write"))
    project = client.post("/api/v1/projects/", {"name": "Scripted"}, format="json").json()
    task = client.post("/api/v1/tasks/", {"title": "t", "project": project["id"]}, format="json").json()

    assert client.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 200
    assert client.get(f"/api/v1/projects/{project['id']}/members").status_code == 200
    assert client.patch(f"/api/v1/projects/{project['id']}", {"color": "#112233"}, format="json").status_code == 200
    assert Task.objects.get(pk=task["id"]).status == "completed"
    assert Project.objects.get(pk=project["id"]).color == "#112233"
    # The compatibility routes are task routes too.
    assert client.get(f"/api/{user.pk}/tasks/").status_code == 200


def test_read_scope_cannot_write_through_the_compatibility_routes(user: User, token_for: Callable[..., str]) -> None:
    client = bearer(token_for("tasks:read"))
    task = TaskFactory(owner=user)

    assert client.get(f"/api/{user.pk}/tasks/{task.pk}").status_code == 200
    assert_error(client.post(f"/api/{user.pk}/tasks/{task.pk}/complete"), 403, "insufficient_scope")
    assert_error(client.post(f"/api/{user.pk}/tasks/", {"title": "x"}, format="json"), 403, "insufficient_scope")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/auth/me"),
        ("patch", "/api/v1/auth/me"),
        ("delete", "/api/v1/auth/me"),
        ("get", "/api/v1/auth/tokens"),
        ("post", "/api/v1/auth/tokens"),
        ("get", "/api/v1/auth/sessions"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/logout/all"),
        ("post", "/api/v1/auth/password/change"),
        ("post", "/api/v1/auth/email/change"),
        ("post", "/api/v1/auth/email/change/confirm"),
        ("post", "/api/v1/auth/email/resend"),
        ("get", "/api/v1/auth/mfa"),
        ("post", "/api/v1/auth/mfa/totp/setup"),
        ("get", "/api/v1/audit/events/"),
        ("get", "/api/v1/users/"),
    ],
)
def test_a_token_with_every_scope_opens_nothing_else(
    user: User, token_for: Callable[..., str], method: str, path: str
) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=True)  # even a staff member's token stays out of /users/
    client = bearer(token_for(*ALL_SCOPES))

    assert_error(getattr(client, method)(path, {}, format="json"), 403, "insufficient_scope")
    assert ApiToken.objects.filter(user=user).count() == 1
    assert User.objects.filter(pk=user.pk).exists()


def _views(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            found.append((prefix + str(pattern.pattern), pattern.callback.cls))
    return found


def test_only_the_task_and_project_views_accept_a_token() -> None:
    # Every API view: those of the tasks app name their family; no other view names one, so a token gets 403
    # there whatever its scopes (the authentication refuses it before any permission class runs).
    views = _views(get_resolver().url_patterns)
    assert views
    for route, view in views:
        scope = getattr(view, "token_scope", None)
        if view.__module__.startswith("tasks."):
            assert scope in {"tasks", "projects", ("tasks", "projects")}, route
        else:
            assert scope is None, route


def test_an_expired_token_is_a_401(token_for: Callable[..., str], time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    client = bearer(token_for("tasks:read", expires_in_days=1))
    time_machine.shift(timedelta(days=1) - timedelta(seconds=1))
    assert client.get("/api/v1/tasks/").status_code == 200

    time_machine.shift(timedelta(seconds=2))

    assert_error(client.get("/api/v1/tasks/"), 401, "token_invalid")


def test_a_right_prefix_with_a_wrong_secret_is_a_401(token_for: Callable[..., str]) -> None:
    token = token_for("tasks:read")
    head, secret = token[: SECRET_AT - 1], token[SECRET_AT:]
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    for forged in (f"{head}_{wrong}", f"{head}_", head, f"{head}_{secret}x", f"tdk_{uuid.uuid4().hex}_{secret}"):
        assert_error(bearer(forged).get("/api/v1/tasks/"), 401, "token_invalid")
    assert bearer(token).get("/api/v1/tasks/").status_code == 200


@pytest.mark.parametrize("raw", ["tdk_", "tdk_x", "tdk_" + "g" * 32 + "_abc", "tdk_" + "a" * 500, "tdk_\u00e9\u00e8"])
def test_garbage_with_the_prefix_is_a_401(api_client: APIClient, raw: str) -> None:
    assert_error(api_client.get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401, "token_invalid")


def test_an_api_token_is_not_a_refresh_token(token_for: Callable[..., str], user: User) -> None:
    token = token_for(*ALL_SCOPES)

    assert_error(APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json"), 401, "token_invalid")
    cookie = APIClient()
    cookie.cookies["taskdesk_refresh"] = token
    assert_error(cookie.post("/api/v1/auth/refresh", HTTP_X_REFRESH_MODE="cookie"), 401, "token_invalid")
    # Only the sign-in that created the token opened a session; the token opened none.
    assert Session.objects.filter(user=user).count() == 1


def test_a_token_of_a_deactivated_user_is_revoked_and_stays_so(
    token_for: Callable[..., str], user: User, staff_client: APIClient
) -> None:
    client = bearer(token_for("tasks:read"))

    assert staff_client.patch(f"/api/v1/users/{user.pk}", {"is_active": False}, format="json").status_code == 200
    assert_error(client.get("/api/v1/tasks/"), 401, "token_invalid")
    assert ApiToken.objects.get(user=user).revoke_reason == "deactivated"

    assert staff_client.patch(f"/api/v1/users/{user.pk}", {"is_active": True}, format="json").status_code == 200
    assert_error(client.get("/api/v1/tasks/"), 401, "token_invalid")


def test_a_password_reset_revokes_every_token(
    token_for: Callable[..., str], user: User, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    from accounts.links import encode_uid, password_reset_tokens

    clients = [bearer(token_for("tasks:read")), bearer(token_for("projects:read"))]
    user.refresh_from_db()  # the reset token covers last_login, which signing in just changed
    uid, reset = encode_uid(user), password_reset_tokens.make_token(user)
    body = {"uid": uid, "token": reset, "new_password": "a completely new passphrase"}

    assert APIClient().post("/api/v1/auth/password/reset/confirm", body, format="json").status_code == 204

    for client in clients:
        assert_error(client.get("/api/v1/tasks/"), 401, "token_invalid")
    assert set(ApiToken.objects.values_list("revoke_reason", flat=True)) == {"password_reset"}
    assert Event.objects.get(event=EventType.API_TOKEN_REVOKED).details == {"reason": "password_reset", "count": 2}


def test_a_password_change_keeps_the_tokens(auth_client: APIClient, token_for: Callable[..., str]) -> None:
    client = bearer(token_for("tasks:read"))
    change = {"current_password": PASSWORD, "new_password": "a completely new passphrase"}
    assert auth_client.post("/api/v1/auth/password/change", change, format="json").status_code == 204

    assert client.get("/api/v1/tasks/").status_code == 200


def test_writes_through_a_token_are_audited_as_the_user(token_for: Callable[..., str], user: User) -> None:
    token = token_for("tasks:write")
    assert bearer(token).post("/api/v1/tasks/", {"title": "scripted"}, format="json").status_code == 201

    event = Event.objects.get(event=EventType.TASK_CREATED)
    assert event.user_id == user.pk and event.actor_id == user.pk


# What a token costs --------------------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(
    token_for: Callable[..., str], user: User, django_assert_num_queries: Any, time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    client = bearer(token_for("tasks:read"))
    row = ApiToken.objects.get(user=user)

    # 1. the token joined to its user; 2. the first use's UPDATE of last_used_at; then the view's own queries.
    client.get("/api/v1/tasks/stats/")
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first == timezone.now()

    time_machine.shift(timedelta(seconds=59))
    with CaptureQueriesContext(connection) as quiet:
        client.get("/api/v1/tasks/stats/")
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    time_machine.shift(timedelta(seconds=2))
    with CaptureQueriesContext(connection) as touching:
        client.get("/api/v1/tasks/stats/")
    assert len(touching) == len(quiet) + 1
    assert ApiToken.objects.get(pk=row.pk).last_used_at == timezone.now()
    assert touching.captured_queries[1]["sql"].startswith('UPDATE "accounts_apitoken" SET "last_used_at"')


def test_a_token_costs_one_query_like_an_access_token(
    auth_client: APIClient, token_for: Callable[..., str], django_assert_num_queries: Any
) -> None:
    client = bearer(token_for("tasks:read"))
    client.get("/api/v1/tasks/stats/")  # the first use writes last_used_at
    auth_client.get("/api/v1/tasks/stats/")

    with CaptureQueriesContext(connection) as by_jwt:
        assert auth_client.get("/api/v1/tasks/stats/").status_code == 200
    with CaptureQueriesContext(connection) as by_token:
        assert client.get("/api/v1/tasks/stats/").status_code == 200

    # The same number of queries: the session lookup is replaced by the token lookup, one indexed query by
    # primary key joined to the user.
    assert len(by_token) == len(by_jwt)
    lookup = by_token.captured_queries[0]["sql"].lower()
    assert "accounts_apitoken" in lookup and "accounts_user" in lookup and "where" in lookup
    # And the session path pays nothing for the token's existence.
    assert "apitoken" not in " ".join(q["sql"].lower() for q in by_jwt.captured_queries)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["tasks:read"], 403),
        (["projects:read"], 403),
        (["tasks:read", "projects:read"], 200),
        (["tasks:write", "projects:write"], 200),
    ],
)
def test_sync_needs_both_read_scopes(token_for: Callable[..., str], scopes: list[str], expected: int) -> None:
    response = bearer(token_for(*scopes)).get("/api/v1/sync")
    assert response.status_code == expected, response.content
