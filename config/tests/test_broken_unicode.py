"""Text that is not text is refused at the door, never a 500.

A JSON string may spell a lone UTF-16 surrogate ("\\ud800"); Python decodes it into a string that cannot be
encoded as UTF-8, which used to break whatever touched it next (the reset throttle hashing the email, the
Idempotency-Key fingerprint, the renderer repeating a bad choice in its error message). The parser refuses
it: 400 parse_error on every operation of the schema. Broken UTF-8 in query strings, headers and paths is
answered too, never with a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from accounts import services as account_services
from accounts.models import Session
from accounts.tests.factories import PASSWORD, UserFactory
from audit.context import SYSTEM
from audit.models import Event
from config.tests.test_errors import assert_error
from tasks.models import Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

LONE = "\ud800"
# The raw escapes, as an attacker sends them (json.dumps writes a lone surrogate as \ud800).
SURROGATE_BODY = json.dumps({"email": LONE})
# Percent-encoded UTF-8 of U+D800, which is not valid UTF-8.
BROKEN_UTF8 = "%ED%A0%80"


SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if method in {"get", "post", "put", "patch", "delete"}
]
COMPONENTS = SCHEMA["components"]["schemas"]


def _body_fields(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    return sorted(COMPONENTS.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))


def _poisoned_body(operation: dict[str, Any]) -> str:
    """Every field of the operation's body set to a lone surrogate, a nested one, and a key that is one."""
    body: dict[str, Any] = {field: LONE for field in _body_fields(operation)}
    body[LONE] = "key"
    body["nested"] = {"deeper": [["fine", "\udfff"]]}
    return json.dumps(body)


class Caller:
    """A staff member with a task, a colleague to manage and a fresh token for every request."""

    def __init__(self) -> None:
        self.staff: Any = UserFactory(is_staff=True)

    def path(self, template: str) -> str:
        task: Task = TaskFactory(owner=self.staff)
        other: Any = UserFactory()
        _session, pair = account_services.sessions.session_open(user=self.staff, meta=SYSTEM)
        self.access = pair.access
        event = Event.objects.order_by("-id").first()
        values = {
            "{id}": str(event.pk if "/audit/" in template and event else task.pk),
            "{user_id}": str(other.pk if template.startswith("/api/v1/users/") else self.staff.pk),
            "{session_id}": str(_session.pk),
            # The body is read before the comment is looked up: any well-formed id reaches the parser.
            "{comment_id}": "1",
        }
        for name, value in values.items():
            template = template.replace(name, value)
        return template

    def send(self, method: str, path: str, body: str | None = None, **extra: Any) -> Any:
        return Client().generic(
            method.upper(),
            path,
            body or "",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.access}",
            **extra,
        )


@pytest.fixture
def caller(db: Any) -> Caller:
    return Caller()


@pytest.mark.parametrize(("template", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_a_lone_surrogate_in_the_body_is_a_400_on_every_operation(
    caller: Caller, template: str, method: str, operation: dict[str, Any]
) -> None:
    path = caller.path(template)
    response = caller.send(method, path, _poisoned_body(operation), HTTP_IDEMPOTENCY_KEY="retry-1")
    if "requestBody" in operation:
        assert_error(response, 400, "parse_error")
        assert "surrogate" in response.json()["detail"]
    else:  # a body the operation never reads changes nothing: whatever it answers, not a 500
        assert response.status_code < 500, response.content


@pytest.mark.parametrize("value", [BROKEN_UTF8, "%00", "%FF", "%C0%AF"], ids=["surrogate", "nul", "ff", "overlong"])
@pytest.mark.parametrize(("template", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_broken_text_in_the_query_string_is_never_a_500(
    caller: Caller, template: str, method: str, operation: dict[str, Any], value: str
) -> None:
    query = "&".join(f"{param['name']}={value}" for param in operation.get("parameters", []))
    response = caller.send(method, caller.path(template), "{}", QUERY_STRING=f"{query}&{value}={value}")
    assert response.status_code < 500, response.content


def test_the_password_reset_refuses_a_lone_surrogate_in_the_email(client: Client) -> None:
    response = client.post("/api/v1/auth/password/reset", SURROGATE_BODY, content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert not Event.objects.exists()


def test_an_idempotent_create_refuses_a_lone_surrogate_in_the_body(caller: Caller) -> None:
    caller.path("/")
    body = json.dumps({"title": f"Buy milk {LONE}"})
    response = caller.send("post", "/api/v1/tasks/", body, HTTP_IDEMPOTENCY_KEY="create-1")
    assert_error(response, 400, "parse_error")
    assert not Task.objects.filter(title__startswith="Buy milk").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"action": LONE, "ids": [1]},
        {"action": "update", "ids": [1], "fields": {"status": LONE}},
        {"action": "update", "ids": [1], "fields": {"priority": LONE}},
        {"action": "update", "ids": [1], "fields": {"tags": ["ok", LONE]}},
    ],
    ids=["action", "status", "priority", "tags"],
)
def test_a_bulk_action_refuses_a_lone_surrogate(caller: Caller, body: dict[str, Any]) -> None:
    caller.path("/")
    assert_error(caller.send("post", "/api/v1/tasks/bulk/", json.dumps(body)), 400, "parse_error")


def test_a_proper_surrogate_pair_is_an_ordinary_character(caller: Caller) -> None:
    caller.path("/")
    response = caller.send("post", "/api/v1/tasks/", '{"title": "Party \\ud83c\\udf89"}')
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Party \N{PARTY POPPER}"


def test_a_body_that_is_not_utf8_is_a_400(caller: Caller) -> None:
    caller.path("/")
    response = Client().generic(
        "POST",
        "/api/v1/tasks/",
        b'{"title": "\xed\xa0\x80"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {caller.access}",
    )
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    "header", ["HTTP_IDEMPOTENCY_KEY", "HTTP_X_REQUEST_ID", "HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_USER_AGENT"]
)
def test_broken_utf8_in_a_header_is_never_a_500(caller: Caller, header: str) -> None:
    path = caller.path("/api/v1/tasks/")
    # A WSGI server hands header bytes over as latin-1: this is what the bytes ED A0 80 look like.
    mangled = b"\xed\xa0\x80".decode("latin-1")
    for method, url, body in (("post", path, '{"title": "ok"}'), ("get", path, None)):
        response = caller.send(method, url, body, **{header: mangled})
        assert response.status_code < 500, (method, response.content)
        assert response["X-Request-ID"] != mangled
    if header == "HTTP_IDEMPOTENCY_KEY":
        response = caller.send("post", path, '{"title": "ok"}', HTTP_IDEMPOTENCY_KEY=mangled)
        assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("header", ["HTTP_USER_AGENT", "HTTP_ACCEPT", "HTTP_X_REQUEST_ID", "HTTP_AUTHORIZATION"])
def test_a_nul_in_a_header_is_never_a_500_even_where_headers_are_stored(db: Any, header: str) -> None:
    # The user agent and Accept header are stored by logins (sessions, audit, lockout attempts): PostgreSQL
    # refuses NUL in text.
    user: Any = UserFactory()
    nul_header: dict[str, Any] = {header: "Mozilla/5.0\x00(evil)"}
    for password in ("wrong password", PASSWORD):
        response = Client().post(
            "/api/v1/auth/login",
            {"email": user.email, "password": password},
            content_type="application/json",
            **nul_header,
        )
        assert response.status_code in {200, 401}, response.content
    response = Client().post("/admin/login/", {"username": user.email, "password": "x"}, **nul_header)
    assert response.status_code < 500
    assert "\x00" not in "".join(Session.objects.values_list("user_agent", flat=True))


@pytest.mark.parametrize(
    "page", ["accounts/user", "accounts/session", "audit/event", "tasks/task", "axes/accessattempt"]
)
def test_broken_text_in_admin_searches_and_ids_is_never_a_500(staff: Any, page: str) -> None:
    console = Client()
    console.force_login(staff)
    for query in (f"q={BROKEN_UTF8}", "q=%00", "o=%00", "p=%FF", "is_active__exact=%00"):
        assert console.get(f"/admin/{page}/", QUERY_STRING=query).status_code < 500, query
    for tail in ("%00/change/", f"{BROKEN_UTF8}/change/", "%00/delete/", "not-an-id/password/", "%00/password/"):
        assert console.get(f"/admin/{page}/{tail}").status_code < 500, tail


def test_broken_utf8_in_a_bearer_token_is_a_401(client: Client) -> None:
    mangled = b"\xed\xa0\x80".decode("latin-1")
    response = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {mangled}")
    assert_error(response, 401, "token_invalid")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/tasks/{BROKEN_UTF8}",
        f"/api/v1/users/{BROKEN_UTF8}",
        f"/api/v1/auth/sessions/{BROKEN_UTF8}",
        f"/api/{BROKEN_UTF8}/tasks/",
        f"/{BROKEN_UTF8}",
    ],
)
def test_broken_utf8_in_the_path_is_never_a_500(caller: Caller, path: str) -> None:
    caller.path("/")
    response = caller.send("get", path)
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
