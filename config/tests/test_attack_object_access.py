"""Object-level authorization on every route that takes an id, for everyone who must not get through.

The routes come from the URL resolver itself: a new id-taking route that this table does not cover fails
`test_every_id_taking_route_is_covered`. Each route is tried with every method its view answers by:
- an outsider (a user in no project): 404, as if the object did not exist (SPEC 2), or 403 where the SPEC
  says so (staff-only routes, another user's id in the compatibility URLs);
- a project viewer: may read the project's things, but a write is 403 `permission_denied` (SPEC 4b);
  the owner's personal things are 404 to them;
- plain staff (`is_staff`, not a superuser) through the API: no more than an outsider on users' data, and
  403 on a superuser's account (SPEC 6);
- a deactivated user whose access token has not expired: 401 on everything.
After each refusal the database holds exactly what it held before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import apitokens
from accounts.models import User
from accounts.services.api_tokens import api_token_create
from audit.context import SYSTEM
from config.tests.attack_world import World, bearer, build_world, client_of, fingerprint
from config.tests.test_errors import assert_error
from tasks.models import InvitationStatus

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# One body for every write: every field an attacker would like to set, so a route that did write would
# have something to write.
BODY: dict[str, Any] = {
    "title": "pwned",
    "name": "pwned",
    "body": "pwned",
    "role": "owner",
    "status": "completed",
    "email": "attacker@example.com",
    "is_active": False,
    "is_staff": True,
    "full_name": "pwned",
    "parent": None,
}

# An expectation: one status for every method, or per method with "*" for the rest; None: allowed (the
# caller may do this, other tests cover it), not tried here.
Expect = int | None | dict[str, int | None]


@dataclass(frozen=True)
class Case:
    route: str
    target: str
    kwargs: Callable[[World, Any], dict[str, Any]]
    outsider: Expect = 404
    viewer: Expect = 404
    staff: Expect = 404


READ_ONLY_FOR_VIEWER: Expect = {"get": None, "*": 403}


def _task(attr: str) -> Callable[[World, Any], dict[str, Any]]:
    return lambda w, _caller: {"id": getattr(w, attr).pk}


CASES = [
    Case("auth-token-detail", "the owner's API token", lambda w, _: {"token_id": w.owner_token.pk}),
    Case("auth-session-detail", "the owner's session", lambda w, _: {"session_id": w.owner_session.pk}),
    # Staff-only routes: anyone else is 403 (SPEC 3); plain staff reads a superuser but changes nothing.
    *(
        Case(route, "a superuser", lambda w, _: {"user_id": w.superuser.pk}, 403, 403, {"get": None, "*": 403})
        for route in ("staff-user-detail", "staff-user-unlock", "staff-user-sessions-revoke")
    ),
    *(
        Case(route, target, _task(attr), viewer=viewer)
        for route in ("task-detail", "task-complete", "task-reopen", "task-move")
        for target, attr, viewer in (
            ("a personal task", "personal_task", 404),
            ("a project task", "project_task", READ_ONLY_FOR_VIEWER),
        )
    ),
    Case("task-restore", "a personal task in the trash", _task("trashed_personal")),
    Case("task-restore", "a project task in the trash", _task("trashed_project"), viewer=403),
    Case("task-comments", "a personal task's comments", _task("personal_task")),
    # A viewer reads and writes comments (SPEC 4b): nothing here to refuse them.
    Case("task-comments", "a project task's comments", _task("project_task"), viewer=None),
    Case(
        "task-comment",
        "the owner's comment",
        lambda w, _: {"id": w.project_task.pk, "comment_id": w.comment.pk},
        viewer=403,
    ),
    Case(
        "task-comment",
        "the owner's comment under another task",
        lambda w, _: {"id": w.personal_task.pk, "comment_id": w.comment.pk},
    ),
    Case("project-detail", "the project", lambda w, _: {"id": w.project.pk}, viewer=READ_ONLY_FOR_VIEWER),
    Case("project-members", "the project's members", lambda w, _: {"id": w.project.pk}, viewer=None),
    Case(
        "project-member",
        "the project's editor",
        lambda w, _: {"id": w.project.pk, "user_id": w.editor.pk},
        viewer=READ_ONLY_FOR_VIEWER,
    ),
    Case("project-invitations", "the project's invitations", lambda w, _: {"id": w.project.pk}, viewer=403),
    Case(
        "project-invitation",
        "a pending invitation",
        lambda w, _: {"id": w.project.pk, "invitation_id": w.invitation.pk},
        viewer=403,
    ),
    Case("invitation-accept", "an invitation to someone else", lambda w, _: {"invitation_id": w.invitation.pk}),
    Case("invitation-decline", "an invitation to someone else", lambda w, _: {"invitation_id": w.invitation.pk}),
    Case("notification-read", "the owner's notification", lambda w, _: {"id": w.notification.pk}),
    # Staff read every event (SPEC 5).
    Case("audit-event-detail", "the owner's event", lambda w, _: {"pk": w.owner_event.pk}, staff=None),
    # The compatibility routes: another user's id in the URL is 403 (SPEC 4); the caller's own id with
    # another user's task is the usual 404.
    Case("compat-task-list", "the owner's id", lambda w, _: {"user_id": w.owner.pk}, 403, 403, 403),
    *(
        Case(route, "the owner's id", lambda w, _: {"user_id": w.owner.pk, "id": w.personal_task.pk}, 403, 403, 403)
        for route in ("compat-task-detail", "compat-task-complete")
    ),
    *(
        Case(
            route,
            "the caller's id, the owner's task",
            lambda w, caller: {"user_id": caller.pk, "id": w.personal_task.pk},
        )
        for route in ("compat-task-detail", "compat-task-complete")
    ),
]


def _id_routes() -> dict[str, Any]:
    """Every named route of the API whose pattern captures something, with its view."""
    found: dict[str, Any] = {}

    def walk(patterns: list[Any], namespaced: bool) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                # The Django admin is a session-and-staff console with its own tests, not the API.
                walk(pattern.url_patterns, namespaced or bool(pattern.namespace))
            elif isinstance(pattern, URLPattern) and not namespaced and pattern.pattern.regex.groupindex:
                found[str(pattern.name)] = pattern.callback

    walk(get_resolver().url_patterns, False)
    return found


ROUTES = _id_routes()


def _view(route: str) -> Any:
    callback = ROUTES[route]
    return getattr(callback, "view_class", None) or callback.cls


def _methods(route: str) -> list[str]:
    return [method for method in METHODS if hasattr(_view(route), method)]


def _expected(expect: Expect, method: str) -> int | None:
    if isinstance(expect, dict):
        return expect.get(method, expect.get("*"))
    return expect


def test_every_id_taking_route_is_covered() -> None:
    assert set(ROUTES) == {case.route for case in CASES}
    for route in ROUTES:
        assert _methods(route), route


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def _callers(world: World) -> dict[str, tuple[Any, Any]]:
    return {
        "outsider": (world.outsider, client_of(world.outsider)),
        "viewer": (world.viewer, client_of(world.viewer)),
        "staff": (world.staff, client_of(world.staff)),
    }


def _try(client: Any, url: str, method: str) -> Any:
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, BODY, format="json")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.route}: {c.target}" for c in CASES])
@pytest.mark.parametrize("who", ["outsider", "viewer", "staff"])
def test_it_refuses_what_the_caller_may_not_reach_and_changes_nothing(world: World, case: Case, who: str) -> None:
    caller, client = _callers(world)[who]
    url = reverse(case.route, kwargs=case.kwargs(world, caller))
    before = fingerprint()
    tried = 0
    for method in _methods(case.route):
        status = _expected(getattr(case, who), method)
        if status is None:
            continue
        tried += 1
        response = _try(client, url, method)
        assert_error(response, status, {401: "token_invalid", 403: "permission_denied", 404: "not_found"}[status])
        assert fingerprint() == before, (method, url)
    if getattr(case, who) is not None:
        assert tried


@pytest.mark.parametrize("case", CASES, ids=[f"{c.route}: {c.target}" for c in CASES])
def test_an_outsiders_api_token_reaches_no_more_than_they_do(world: World, case: Case) -> None:
    # Every scope: only what the token may open decides, not what it lacks.
    _, secret = api_token_create(
        user=world.outsider, name="all", scopes=list(apitokens.SCOPES), expires_in_days=None, meta=SYSTEM
    )
    client = bearer(secret)
    url = reverse(case.route, kwargs=case.kwargs(world, world.outsider))
    before = fingerprint()
    for method in _methods(case.route):
        response = _try(client, url, method)
        if case.route == "audit-event-detail" and method != "get":
            continue  # the log answers 405 to every write before authenticating
        # Accounts, sessions, tokens, users, audit: no API token opens them (SPEC 3b).
        if getattr(_view(case.route), "token_scope", None) is None:
            assert_error(response, 403, "insufficient_scope")
        else:
            status = _expected(case.outsider, method)
            assert status is not None
            assert_error(response, status, {403: "permission_denied", 404: "not_found"}[status])
        assert fingerprint() == before, (method, url)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.route}: {c.target}" for c in CASES])
def test_a_deactivated_users_unexpired_token_is_refused_everywhere(world: World, case: Case) -> None:
    # The editor sees the project's things; deactivated behind the API's back (no session ended), the
    # token it still holds must open nothing.
    client = client_of(world.editor)
    User.objects.filter(pk=world.editor.pk).update(is_active=False)
    url = reverse(case.route, kwargs=case.kwargs(world, world.editor))
    before = fingerprint()
    for method in _methods(case.route):
        response = _try(client, url, method)
        if case.route == "audit-event-detail" and method != "get":
            continue  # the log answers 405 to every write before authenticating: see audit's tests
        assert_error(response, 401, "token_invalid")
        assert fingerprint() == before, (method, url)


def test_a_foreign_object_answers_exactly_like_a_missing_one(world: World) -> None:
    client = client_of(world.outsider)
    pairs: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("task-detail", {"id": world.personal_task.pk}, {"id": 10**12}),
        (
            "task-comment",
            {"id": world.project_task.pk, "comment_id": world.comment.pk},
            {"id": 10**12, "comment_id": 1},
        ),
        ("project-detail", {"id": world.project.pk}, {"id": 10**12}),
        ("invitation-accept", {"invitation_id": world.invitation.pk}, {"invitation_id": 10**12}),
        ("notification-read", {"id": world.notification.pk}, {"id": 10**12}),
        ("audit-event-detail", {"pk": world.owner_event.pk}, {"pk": 10**12}),
        ("auth-session-detail", {"session_id": world.owner_session.pk}, {"session_id": "0" * 32}),
        ("auth-token-detail", {"token_id": world.owner_token.pk}, {"token_id": "0" * 32}),
    ]
    for route, foreign, missing in pairs:
        method = _methods(route)[-1]
        answers = [_try(client, reverse(route, kwargs=kwargs), method) for kwargs in (foreign, missing)]
        bodies = [(r.status_code, {k: v for k, v in r.json().items() if k != "request_id"}) for r in answers]
        assert bodies[0] == bodies[1], route


def test_an_unverified_stranger_learns_nothing_of_an_invitation_to_someone_else(world: World) -> None:
    # The addressee with an unverified email is told to verify (403 email_unverified); anyone else must get
    # the 404 of a missing invitation, not that 403, or invitation ids could be probed.
    User.objects.filter(pk=world.outsider.pk).update(email_verified=False)
    client = client_of(world.outsider)
    for action in ("accept", "decline"):
        for invitation_id in (world.invitation.pk, 10**12):
            response = client.post(reverse(f"invitation-{action}", kwargs={"invitation_id": invitation_id}))
            assert_error(response, 404, "not_found")
    world.invitation.refresh_from_db()
    assert world.invitation.status == InvitationStatus.PENDING
