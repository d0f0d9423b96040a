"""Awkward Unicode in every text field, query parameter and header: a clean round-trip or a 400
`validation_error` naming the field, never a 500, on SQLite and PostgreSQL alike (PostgreSQL refuses NUL in
text, so a NUL must be refused before it gets there).

config/tests/test_broken_unicode.py covers what is not text at all (lone surrogates in JSON, broken UTF-8 in
bodies, paths and headers) on every operation of the schema; this file covers text that is valid but
awkward, field by field, and what a length limit counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from accounts.services.sessions import session_open
from accounts.tests.factories import PASSWORD
from audit.context import SYSTEM
from config.tests.attack_world import World, build_world, client_of
from config.tests.test_errors import assert_error
from tasks.models import (
    MAX_COMMENT,
    MAX_DESCRIPTION,
    MAX_PROJECT_NAME,
    MAX_TAG_LENGTH,
    MAX_TITLE,
    Comment,
    Project,
    Task,
)

pytestmark = pytest.mark.django_db

FAMILY = "\N{WOMAN}\u200d\N{WOMAN}\u200d\N{GIRL}\u200d\N{BOY}"  # one glyph, seven code points
AWKWARD = {
    "nul": "a\x00b",
    "rtl override": "invoice\u202egnp.exe",
    "zero-width joiner": "a\u200db",
    "zero-width space and bom": "\ufeffa\u200bb",
    "combining marks": "e\u0301\u0302\u0303\u0304",
    "emoji zwj sequence": f"{FAMILY} family",
    "not nfc": "Cafe\u0301",
    "fullwidth": "\uff21\uff22\uff23",
    "bell and escape": "a\x07\x1b[31mb",
    "line separator": "a\u2028b\u2029c",
    "noncharacters": "a\ufffe\uffff\U0010ffff",
    "private use": "\ue000\U000f0000",
    "astral letters": "\U0001d518\U0001d52b\U0001d526",
    "arabic with isolates": "\u2067\u0645\u0631\u062d\u0628\u0627\u2069 x",
}


@dataclass(frozen=True)
class TextField:
    """A text field of a write, and where to read it back."""

    name: str
    write: Callable[[World, Any], Any]
    read: Callable[[World, Any], Any]
    # A name rendered into emails (and their subjects) sent to any address: one line, read as it displays.
    one_line: bool = False


def _task_title(w: World, value: Any) -> Any:
    return client_of(w.owner).post("/api/v1/tasks/", {"title": value}, format="json")


def _read_task(field: str) -> Callable[[World, Any], Any]:
    def read(w: World, response: Any) -> Any:
        return Task.objects.values_list(field, flat=True).get(pk=response.json()["id"])

    return read


FIELDS = [
    TextField("title", _task_title, _read_task("title")),
    TextField(
        "description",
        lambda w, v: client_of(w.owner).post("/api/v1/tasks/", {"title": "t", "description": v}, format="json"),
        _read_task("description"),
    ),
    TextField(
        "tags",
        lambda w, v: client_of(w.owner).post("/api/v1/tasks/", {"title": "t", "tags": [v]}, format="json"),
        lambda w, r: Task.objects.get(pk=r.json()["id"]).tags[0],
    ),
    TextField(
        "title",
        lambda w, v: client_of(w.owner).patch(f"/api/v1/tasks/{w.personal_task.pk}", {"title": v}, format="json"),
        lambda w, r: Task.objects.get(pk=w.personal_task.pk).title,
    ),
    TextField(
        "body",
        lambda w, v: client_of(w.viewer).post(
            f"/api/v1/tasks/{w.project_task.pk}/comments", {"body": v}, format="json"
        ),
        lambda w, r: Comment.objects.get(pk=r.json()["id"]).body,
    ),
    TextField(
        "name",
        lambda w, v: client_of(w.owner).post("/api/v1/projects/", {"name": v}, format="json"),
        lambda w, r: Project.objects.get(pk=r.json()["id"]).name,
        one_line=True,
    ),
    TextField(
        "description",
        lambda w, v: client_of(w.owner).patch(f"/api/v1/projects/{w.project.pk}", {"description": v}, format="json"),
        lambda w, r: Project.objects.get(pk=w.project.pk).description,
    ),
    TextField(
        "full_name",
        lambda w, v: client_of(w.owner).patch("/api/v1/auth/me", {"full_name": v}, format="json"),
        lambda w, r: User.objects.get(pk=w.owner.pk).full_name,
        one_line=True,
    ),
    TextField(
        "bio",
        lambda w, v: client_of(w.owner).patch("/api/v1/auth/me", {"bio": v}, format="json"),
        lambda w, r: User.objects.get(pk=w.owner.pk).bio,
    ),
    TextField(
        "full_name",
        lambda w, v: Client().post(
            "/api/v1/auth/register",
            {"email": "new@example.com", "password": PASSWORD, "full_name": v},
            content_type="application/json",
        ),
        lambda w, r: User.objects.get(email="new@example.com").full_name,
        one_line=True,
    ),
    TextField(
        "name",
        lambda w, v: client_of(w.owner).post(
            "/api/v1/auth/tokens", {"name": v, "scopes": ["tasks:read"]}, format="json"
        ),
        lambda w, r: ApiToken.objects.get(pk=r.json()["id"]).name,
        one_line=True,
    ),
]


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def _check(world: World, field: TextField, value: Any) -> Any:
    """Written: the API answers what is stored, and reads it back the same. Refused: a 400 naming the field."""
    response = field.write(world, value)
    assert response.status_code < 500, response.content
    if response.status_code == 400:
        body = assert_error(response, 400, "validation_error")
        assert any(key == field.name or key.startswith(f"{field.name}.") for key in body["errors"]), body
        return None
    assert response.status_code in {200, 201}, response.content
    stored = field.read(world, response)
    shown = response.json().get(field.name) if "user" not in response.json() else response.json()["user"][field.name]
    assert stored == (shown[0] if field.name == "tags" else shown)
    return stored


@pytest.mark.parametrize("field", FIELDS, ids=[f"{i}-{f.name}" for i, f in enumerate(FIELDS)])
@pytest.mark.parametrize("kind", list(AWKWARD))
def test_awkward_text_round_trips_or_is_refused_naming_the_field(world: World, field: TextField, kind: str) -> None:
    value = AWKWARD[kind]
    stored = _check(world, field, value)
    if kind == "nul":
        assert stored is None, "a NUL is refused on every database alike"
    elif field.one_line and kind in {"rtl override", "bell and escape", "line separator"}:
        assert stored is None, "a name is one line, displayed in the order it reads"
    elif stored is not None and field.name == "tags":
        assert stored == " ".join(value.split())  # a tag's whitespace is trimmed and collapsed
    elif stored is not None:
        # Kept as sent (no silent normalisation that would make a search for what was typed miss it), bar the
        # surrounding whitespace a text field trims.
        assert stored == value.strip()


# Length limits count code points (what PostgreSQL's varchar counts), so a 4-byte character is one.
LIMITS = [
    (0, MAX_TITLE),
    (1, MAX_DESCRIPTION),
    (2, MAX_TAG_LENGTH),
    (4, MAX_COMMENT),
    (5, MAX_PROJECT_NAME),
    (7, 150),
    (8, 2000),
    (10, 100),
]


@pytest.mark.parametrize(("index", "limit"), LIMITS, ids=[f"{FIELDS[i].name}-{limit}" for i, limit in LIMITS])
def test_a_limit_counts_code_points_so_astral_characters_fit_to_the_last_one(
    world: World, index: int, limit: int
) -> None:
    field = FIELDS[index]
    # A glyph of seven code points, then astral letters up to the limit exactly.
    exact = FAMILY + "\U0001d518" * (limit - len(FAMILY))
    assert len(exact) == limit and len(exact.encode()) > limit * 3
    assert _check(world, field, exact) == exact
    response = field.write(world, exact + "\U0001d518")
    body = assert_error(response, 400, "validation_error")
    assert any(key.startswith(field.name) for key in body["errors"])


QUERIES = [
    ("/api/v1/tasks/", "search"),
    ("/api/v1/tasks/", "tag"),
    ("/api/v1/tasks/", "ordering"),
    ("/api/v1/tasks/", "status"),
    ("/api/v1/tasks/trash/", "page"),
    ("/api/v1/tasks/export/", "format"),
    ("/api/v1/tasks/stats/", "project"),
    ("/api/v1/projects/", "ordering"),
    ("/api/v1/notifications/", "unread"),
    ("/api/v1/sync", "cursor"),
    ("/api/v1/audit/events/", "event"),
    ("/api/v1/users/", "search"),
    ("/api/v1/auth/sessions", "page"),
]


@pytest.mark.parametrize(("path", "param"), QUERIES, ids=[f"{p} {q}" for p, q in QUERIES])
def test_awkward_query_values_are_answered_never_a_500(world: World, path: str, param: str) -> None:
    client = client_of(world.staff)
    for kind, value in AWKWARD.items():
        response = client.get(path, {param: value})
        assert response.status_code in {200, 400}, (kind, response.content)
        if response.status_code == 400:
            assert param in assert_error(response, 400, "validation_error")["errors"], kind
        elif kind == "nul" and param in {"search", "tag"}:
            raise AssertionError(f"a NUL in {param} must be a 400 (PostgreSQL cannot compare with it)")


def test_a_search_finds_what_was_stored_however_it_was_spelt(world: World) -> None:
    client = client_of(world.owner)
    for title in (AWKWARD["not nfc"], AWKWARD["emoji zwj sequence"], AWKWARD["rtl override"]):
        created = client.post("/api/v1/tasks/", {"title": title}, format="json").json()
        found = client.get("/api/v1/tasks/", {"search": title}).json()["results"]
        assert [task["id"] for task in found] == [created["id"]], title


@pytest.mark.parametrize("header", ["HTTP_IDEMPOTENCY_KEY", "HTTP_X_REQUEST_ID", "HTTP_IF_MATCH", "HTTP_USER_AGENT"])
def test_awkward_header_values_are_answered_never_a_500(world: World, header: str) -> None:
    client = client_of(world.owner)
    # A WSGI server hands headers over as latin-1: what these characters' UTF-8 bytes look like there.
    for kind, value in AWKWARD.items():
        extra: dict[str, Any] = {header: value.encode("utf-8", "surrogatepass").decode("latin-1")}
        response = client.post("/api/v1/tasks/", {"title": kind}, format="json", **extra)
        assert response.status_code in {201, 400}, (kind, response.content)
        # Printable ASCII only (SPEC 4): none of these is, but a NUL, which the request middleware drops
        # from every header before anything reads it.
        if header == "HTTP_IDEMPOTENCY_KEY" and kind != "nul":
            assert_error(response, 400, "validation_error")
    if header == "HTTP_X_REQUEST_ID":
        assert all(unicodedata.category(ch)[0] != "C" for ch in response["X-Request-ID"])


def test_an_invitation_to_an_awkward_address_is_refused_or_sent_to_the_canonical_one(world: World) -> None:
    client = client_of(world.owner)
    url = f"/api/v1/projects/{world.project.pk}/invitations"
    for kind, value in AWKWARD.items():
        response = client.post(url, {"email": f"x{value}@example.com", "role": "viewer"}, format="json")
        assert response.status_code in {202, 400}, (kind, response.content)
        if response.status_code == 400:
            assert list(assert_error(response, 400, "validation_error")["errors"]) == ["email"], kind
        else:
            email = response.json()["email"]
            assert all(unicodedata.category(ch)[0] not in "CZ" for ch in email), (kind, email)


@pytest.mark.parametrize(
    "raw",
    [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xff"],
    ids=["overlong slash 2", "overlong slash 3", "overlong slash 4", "overlong nul", "past U+10FFFF", "ff"],
)
@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/v1/tasks/", "title"), ("/api/v1/projects/", "name"), ("/api/v1/auth/login", "email")],
)
def test_a_body_with_invalid_utf8_is_a_parse_error(world: World, raw: bytes, path: str, field: str) -> None:
    _, pair = session_open(user=world.owner, meta=SYSTEM)
    before = (Task.objects.count(), Project.objects.count())
    response = Client().generic(
        "POST",
        path,
        b'{"%s": "a%sb"}' % (field.encode(), raw),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {pair.access}",
    )
    assert_error(response, 400, "parse_error")
    assert (Task.objects.count(), Project.objects.count()) == before
