"""Schemathesis over the schema the app serves: every operation, its default checks, as a registered user.

Each operation is one test: a fresh database with a user registered through the API and, reachable by the
ids the fuzzer may use, one of each object its paths name (a project with a task, a comment, an invitation
either way, a notification, a second session, an API token). Every request carries a fresh access token of
that user, so an example that ends a session (logout, a password change) does not fail the next ones.

Bounded so the suite stays fast (config/test_settings.py): FUZZ_EXAMPLES examples per operation (default 20),
derandomized so a run is repeatable, without Schemathesis' coverage phase (about 120 boundary requests per
operation); `FUZZ_EXAMPLES=200 FUZZ_SEED=7 FUZZ_COVERAGE=true make test PYTEST_ARGS=config/tests/test_schema_fuzz.py`
runs longer, differently and with it.

A schema cannot say which password is right or which id exists. Where the SPEC answers such a well-formed
request with 400 (a wrong current password, a project you cannot use, an emailed link that is not one),
`SEMANTIC_400` names the fields such a 400 may be about, per operation: a positive example answered 400
about anything else still fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from accounts.models import User
from accounts.services.sessions import session_open
from accounts.tests.factories import UserFactory
from audit.context import SYSTEM
from audit.models import Event

pytestmark = pytest.mark.django_db

EXAMPLES: int = getattr(settings, "FUZZ_EXAMPLES", 20)  # config/test_settings.py
SEED: int = getattr(settings, "FUZZ_SEED", 0)
COVERAGE: bool = getattr(settings, "FUZZ_COVERAGE", False)
EMAIL = "fuzz@example.com"
PASSWORD = "a quiet fuzzing harbour"

# The fields a 400 may name when a well-formed request meets the SPEC's rules beyond the schema.
_TASK_REFERENCES = {"project", "parent", "assignees", "recurrence", "due_at", "reminders"}
SEMANTIC_400: dict[str, set[str]] = {
    "POST /api/v1/auth/register/": {"password"},  # too common, too like the email
    "DELETE /api/v1/auth/me/": {"password"},
    "PATCH /api/v1/auth/me/": {"avatar_url"},  # Django's URL validator: a host it recognises, and more
    "POST /api/v1/auth/password/change/": {"current_password", "new_password"},
    "POST /api/v1/auth/password/reset/confirm/": {"uid", "token", "new_password"},
    "POST /api/v1/auth/email/verify/": {"uid", "token"},
    "POST /api/v1/auth/email/change/": {"password"},
    "POST /api/v1/auth/email/change/confirm/": {"uid", "token"},
    "DELETE /api/v1/auth/mfa/totp/": {"password"},
    "POST /api/v1/auth/mfa/recovery-codes/": {"password"},
    "POST /api/v1/auth/mfa/totp/confirm/": {"mfa_invalid"},  # not an emailed code: an error code, no field
    "GET /api/v1/sync/": {"cursor"},  # opaque: only a cursor this API issued
    "GET /api/v1/audit/events/": {"until"},  # not before since
    "POST /api/v1/tasks/": _TASK_REFERENCES,
    "PUT /api/v1/tasks/{id}/": _TASK_REFERENCES,
    "PATCH /api/v1/tasks/{id}/": _TASK_REFERENCES,
    "POST /api/{user_id}/tasks/": _TASK_REFERENCES,
    "PUT /api/{user_id}/tasks/{id}/": _TASK_REFERENCES,
    "PATCH /api/{user_id}/tasks/{id}/": _TASK_REFERENCES,
    "POST /api/v1/tasks/{id}/move/": {"project", "parent", "after"},
    "POST /api/v1/tasks/bulk/": {"fields"},  # update needs fields
}

# Schemathesis' own default for positive_data_acceptance, plus what the SPEC answers a well-formed request that
# the schema cannot judge: 400 as SEMANTIC_400 says, 412 to an If-Match that is not the current ETag.
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
application = get_wsgi_application()
served = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).raw_schema


def _expected_statuses(label: str, operation: dict[str, Any]) -> list[str]:
    conditional = any(parameter["name"] == "If-Match" for parameter in operation.get("parameters", []))
    return [*_ACCEPTED, *(["400"] if label in SEMANTIC_400 else []), *(["412"] if conditional else [])]


CONFIG = SchemathesisConfig.from_dict(
    {
        **({"seed": SEED} if SEED else {}),
        # Schemathesis' coverage phase sends each keyword's boundary values, about 120 requests an operation.
        "phases": {"coverage": {"enabled": COVERAGE}},
        "operations": [
            {
                "include-name": f"{method.upper()} {path}",
                "checks": {"positive_data_acceptance": {"expected-statuses": statuses}},
            }
            for path, item in served["paths"].items()
            for method, operation in item.items()
            if (statuses := _expected_statuses(f"{method.upper()} {path}", operation)) != _ACCEPTED
        ],
    }
)
schema = schemathesis.openapi.from_dict(served, config=CONFIG)
schema.app = application
_known: dict[str, Any] = {}
_statuses: list[int] = []


def _existing_ids(path: str) -> dict[str, Any]:
    """The path parameters of `path` that name an object of the fuzz user's."""
    if path.startswith("/api/v1/tasks/"):
        return {"id": _known["task"], "comment_id": _known["comment"]}
    if path.startswith("/api/{user_id}/tasks/"):
        return {"user_id": _known["user"], "id": _known["task"]}
    if path.startswith("/api/v1/projects/"):
        return {"id": _known["project"], "invitation_id": _known["sent_invitation"], "user_id": _known["member"]}
    if path.startswith("/api/v1/invitations/"):
        return {"invitation_id": _known["received_invitation"]}
    if path.startswith("/api/v1/notifications/"):
        return {"id": _known["notification"]}
    if path.startswith("/api/v1/audit/events/"):
        return {"id": _known["event"]}
    if path.startswith("/api/v1/users/"):
        return {"user_id": _known["user"]}
    return {"session_id": _known["session"], "token_id": _known["token"]}


@schema.hook
def flatmap_case(context: Any, case: Any) -> Any:
    """Half the well-formed examples name objects that exist, so the operation gets past its 404.

    Only well-formed ones: an example made malformed in its path must reach the app as it was made.
    """
    if not case.path_parameters or not case.meta.generation.mode.is_positive:
        return st.just(case)

    def choose(existing: bool) -> Any:
        # Read when drawn: the objects are made by the test's fixture, after collection built the strategy.
        if existing and _known:
            ids = _existing_ids(case.operation.path)
            case.path_parameters = {name: ids.get(name, value) for name, value in case.path_parameters.items()}
        return case

    return st.booleans().map(choose)


NOT_YET = "not-yet"


def fresh_access_token() -> str:
    _, pair = session_open(user=User.objects.get(pk=_known["user"]), meta=SYSTEM)
    return pair.access


@schema.auth(refresh_interval=None)
class FreshSession:
    """A new session of the fuzz user for every example: one example's logout does not sign the next one out."""

    def get(self, case: Any, context: Any) -> str:
        if not _known:
            return NOT_YET  # collection builds some cases ahead (the coverage phase): signed in when sent
        return fresh_access_token()

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _api(client: Client, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = getattr(client, method)(path, body, content_type="application/json", **headers)
    assert response.status_code < 300, (path, response.status_code, response.content)
    return response.json() if response.content else None


@pytest.fixture
def account(db: Any) -> Iterator[User]:
    client = Client()
    registered = _api(client, "post", "/api/v1/auth/register", {"email": EMAIL, "password": PASSWORD})
    token = registered["access"]
    user = User.objects.get(email=EMAIL)
    other: Any = UserFactory(email="other@example.com")
    _, other_pair = session_open(user=other, meta=SYSTEM)

    project = _api(client, "post", "/api/v1/projects/", {"name": "Fuzzed"}, token)
    task = _api(client, "post", "/api/v1/tasks/", {"title": "Fuzzed task", "project": project["id"]}, token)
    _api(client, "post", "/api/v1/tasks/", {"title": "A subtask", "parent": task["id"]}, token)
    comment = _api(client, "post", f"/api/v1/tasks/{task['id']}/comments", {"body": "A comment"}, token)
    _api(
        client, "post", f"/api/v1/projects/{project['id']}/invitations", {"email": other.email, "role": "editor"}, token
    )
    sent = _api(client, "get", f"/api/v1/projects/{project['id']}/invitations", token=token)["results"][0]
    theirs = _api(client, "post", "/api/v1/projects/", {"name": "Theirs"}, other_pair.access)
    _api(
        client,
        "post",
        f"/api/v1/projects/{theirs['id']}/invitations",
        {"email": EMAIL, "role": "viewer"},
        other_pair.access,
    )
    received = _api(client, "get", "/api/v1/invitations/", token=token)["results"][0]
    api_token = _api(client, "post", "/api/v1/auth/tokens", {"name": "fuzz", "scopes": ["tasks:read"]}, token)
    # A member of the project who comments on the task: a notification for its creator.
    _api(client, "post", f"/api/v1/invitations/{sent['id']}/accept", token=other_pair.access)
    _api(client, "post", f"/api/v1/tasks/{task['id']}/comments", {"body": "Seen it"}, other_pair.access)
    notification = _api(client, "get", "/api/v1/notifications/", token=token)["results"][0]
    second_session, _ = session_open(user=user, meta=SYSTEM)
    _known.update(
        user=str(user.pk),
        member=str(other.pk),
        project=project["id"],
        task=task["id"],
        comment=comment["id"],
        sent_invitation=sent["id"],
        received_invitation=received["id"],
        notification=notification["id"],
        token=api_token["id"],
        session=str(second_session.pk),
        event=Event.objects.filter(user=user).values_list("pk", flat=True).first(),
    )
    # Schemathesis calls the WSGI app directly: at the end of each request Django would close the database
    # connection, and the test's transaction with it (PostgreSQL). Django's test client holds that back
    # around each of its own requests, and connects it again after them.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield user
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    _known.clear()
    # The examples got past authentication (a harness whose token did not work would pass on 401s alone).
    assert set(_statuses) - {401}, _statuses
    _statuses.clear()


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SEED,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: Any, account: User) -> None:
    if (case.headers or {}).get("Authorization") == f"Bearer {NOT_YET}":
        case.headers["Authorization"] = f"Bearer {fresh_access_token()}"
    # Schemathesis asks for gzip, and its WSGI transport hands the body over as sent, where an HTTP client
    # would decode it: ask for the plain body (compression has its own tests, config/tests/test_compression.py).
    case.headers = {**(case.headers or {}), "Accept-Encoding": "identity"}
    response = case.call_and_validate()
    _statuses.append(response.status_code)
    if response.status_code == 400 and case.meta.generation.mode.is_positive:
        # A well-formed request refused: only on what SEMANTIC_400 allows for this operation.
        body = response.json()
        named = {field.split(".")[0] for field in body.get("errors", {})} or {body["code"]}
        assert named <= SEMANTIC_400.get(case.operation.label, set()), (case.operation.label, body)
    if response.status_code == 412:
        assert "If-Match" in (case.headers or {}), case.operation.label
