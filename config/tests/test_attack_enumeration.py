"""Account enumeration through every endpoint that takes an email: an address with an account and one without
get the same status and body, in about the same time (SPEC 3, 3b, 4b).

Endpoints: login (unknown email, wrong password, inactive account; and the lockout that follows), password
reset, email change (an address taken by another account), project invitations. Registration answers 409
`email_taken` by the SPEC's own table, so it is not among them; there is no staff user creation in the API
(the admin's add form is for staff only).

Timing: each pair of cases runs interleaved (so a busy machine slows both alike) with Argon2 at a cost that
takes some milliseconds; the medians must be within a factor that a skipped hash would blow far past.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from audit.context import SYSTEM
from config.test_settings import PRODUCTION_PASSWORD_HASHERS
from config.tests.attack_world import client_of
from tasks.services.projects import project_create

pytestmark = pytest.mark.django_db

TRIES = 7
# A missing hash makes one side many times faster; noise on a shared machine stays well within this.
MAX_RATIO = 3.0
# Below this, both sides are cheap anyway (no hashing on either): differences are noise, not a signal.
FLOOR_SECONDS = 0.025


class MeasurableArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 at a cost that takes milliseconds: far above the noise of a request, far below production's
    (which would make these tests take a minute)."""

    time_cost = 1
    memory_cost = 16 * 1024
    parallelism = 1


@pytest.fixture(autouse=True)
def _real_hashing_and_no_rate_limits(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        f"{__name__}.MeasurableArgon2PasswordHasher",
        *PRODUCTION_PASSWORD_HASHERS[1:],
    ]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "100000/min",
            "password_reset": "100000/min",
            "invitations": "100000/min",
            "anon": "100000/min",
            "user": "100000/min",
        },
    }


@pytest.fixture
def member(db: Any) -> Any:
    """An account with a password hashed as production hashes it."""
    return UserFactory(email="member@example.com", password=make_password(PASSWORD))


def _body(response: Any) -> Any:
    if not response.content:
        return None
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return body


def assert_alike(first: Callable[[], Any], second: Callable[[], Any]) -> None:
    """Same status and body each time, and similar median times."""
    times: tuple[list[float], list[float]] = ([], [])
    answers: tuple[set[Any], set[Any]] = (set(), set())
    for _ in range(TRIES):
        for index, call in enumerate((first, second)):
            started = time.perf_counter()
            response = call()
            times[index].append(time.perf_counter() - started)
            answers[index].add((response.status_code, repr(_body(response))))
    assert answers[0] == answers[1] and len(answers[0]) == 1, answers
    slow, fast = sorted(statistics.median(side) for side in times)
    assert slow < FLOOR_SECONDS or slow <= fast * MAX_RATIO, (times, slow, fast)


def _login(email: str, password: str = "not the password at all") -> Callable[[], Any]:
    return lambda: APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


def test_login_answers_an_unknown_email_like_a_wrong_password(member: Any) -> None:
    # The lockout counts per account: spread the tries over addresses so neither side reaches it.
    addresses = iter(f"10.0.0.{n}" for n in range(1, 200))

    def attempt(email: str) -> Callable[[], Any]:
        return lambda: APIClient().post(
            "/api/v1/auth/login",
            {"email": email, "password": "not the password at all"},
            format="json",
            REMOTE_ADDR=next(addresses),
        )

    assert_alike(attempt(member.email), attempt("nobody@example.com"))


def test_login_answers_an_inactive_account_like_an_unknown_one(member: Any) -> None:
    UserFactory(email="gone@example.com", password=make_password(PASSWORD), is_active=False)
    addresses = iter(f"10.0.1.{n}" for n in range(1, 200))

    def attempt(email: str, password: str) -> Callable[[], Any]:
        return lambda: APIClient().post(
            "/api/v1/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=next(addresses)
        )

    # The right password of a deactivated account says no more than a wrong one of an unknown address.
    assert_alike(attempt("gone@example.com", PASSWORD), attempt("nobody@example.com", PASSWORD))


def test_the_lockout_engages_for_unknown_addresses_too(member: Any) -> None:
    answers: dict[str, list[tuple[int, str]]] = {}
    for email in (member.email, "nobody@example.com"):
        answers[email] = []
        for _ in range(django_settings.LOCKOUT_FAILURES + 1):
            response = _login(email)()
            answers[email].append((response.status_code, response.json()["code"]))
    assert answers[member.email] == answers["nobody@example.com"]
    assert answers[member.email][-1] == (429, "account_locked")


def test_password_reset_answers_alike(member: Any) -> None:
    UserFactory(email="gone@example.com", is_active=False)

    def reset(email: str) -> Callable[[], Any]:
        return lambda: APIClient().post("/api/v1/auth/password/reset", {"email": email}, format="json")

    assert_alike(reset(member.email), reset("nobody@example.com"))
    assert_alike(reset("gone@example.com"), reset("nobody@example.com"))


def test_an_email_change_to_a_taken_address_answers_like_a_free_one(member: Any) -> None:
    requester = UserFactory(email="requester@example.com", password=make_password(PASSWORD))
    client = client_of(requester)

    def change(email: str) -> Callable[[], Any]:
        return lambda: client.post(
            "/api/v1/auth/email/change", {"new_email": email, "password": PASSWORD}, format="json"
        )

    assert_alike(change(member.email), change("nobody@example.com"))


def test_an_invitation_answers_alike_whether_or_not_the_address_has_an_account(member: Any) -> None:
    owner = UserFactory(email="boss@example.com")
    project = project_create(owner=owner, data={"name": "Team"}, meta=SYSTEM)
    client = client_of(owner)
    url = f"/api/v1/projects/{project.pk}/invitations"
    answers = []
    for email in (member.email, "nobody@example.com"):
        response = client.post(url, {"email": email, "role": "viewer"}, format="json")
        assert response.status_code == 202, response.content
        body = _body(response)
        # What differs by construction: the row's id, the address given and the instants.
        answers.append({k: v for k, v in body.items() if k not in {"id", "email", "created_at", "expires_at"}})
    assert answers[0] == answers[1]
