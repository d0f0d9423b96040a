"""Signing in with two-factor on: the challenge, the second step, replays, drift, tokens and the lockout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.jobs import prune_mfa_challenges
from accounts.mfa import digest
from accounts.models import MfaChallenge, Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import (
    STATUS,
    T0,
    enroll,
    first_step,
    mfa_token_for,
    second_step,
    totp_code,
)
from audit.models import Event, EventType

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_clock", "many_logins")]

# The step after the one whose code confirmed the setup: that code is spent.
T1 = T0 + timedelta(seconds=30)


@pytest.fixture
def enrolled(auth_client: APIClient, time_machine: Any) -> tuple[str, list[str]]:
    """The user has TOTP on (enrolled at T0); time stands at T1, the next step."""
    secret, codes = enroll(auth_client)
    time_machine.move_to(T1, tick=False)
    return secret, codes


def test_the_password_alone_answers_a_challenge_and_no_token(enrolled: Any, user: User) -> None:
    sessions = Session.objects.filter(user=user).count()
    logins = Event.objects.filter(user=user, event=EventType.LOGIN_SUCCEEDED).count()

    response = first_step(user.email)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token", "methods", "expires_in"}
    assert body["mfa_required"] is True
    assert body["methods"] == ["totp", "recovery_code"]
    assert body["expires_in"] == 300
    assert "access" not in body and "refresh" not in body
    assert MfaChallenge.objects.filter(user=user).count() == 1
    assert Session.objects.filter(user=user).count() == sessions
    assert Event.objects.filter(user=user, event=EventType.LOGIN_SUCCEEDED).count() == logins


def test_a_wrong_password_is_still_invalid_credentials(enrolled: Any, user: User) -> None:
    assert_error(first_step(user.email, "not the password"), 401, "invalid_credentials")


def test_the_current_code_opens_a_session(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    sessions_before = Session.objects.filter(user=user).count()

    response = second_step(mfa_token_for(user.email), totp_code(secret, T1))

    assert response.status_code == 200, response.content
    body = response.json()
    assert {"user", "access", "refresh", "token_type", "expires_in"} <= set(body)
    assert body["user"]["email"] == user.email
    assert response["Cache-Control"] == "no-store"
    assert Session.objects.filter(user=user).count() == sessions_before + 1
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get(STATUS).json() == {"totp_enabled": True, "recovery_codes_left": 10}
    passed = Event.objects.get(user=user, event=EventType.MFA_CHALLENGE_PASSED)
    assert passed.details == {"method": "totp"}
    assert passed.actor_id == user.pk


def test_a_code_typed_with_spaces_works(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    code = totp_code(secret, T1)

    assert second_step(mfa_token_for(user.email), f" {code[:3]} {code[3:]} ").status_code == 200


def test_one_step_of_clock_drift_either_way_is_tolerated(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    time_machine.move_to(T1 + timedelta(seconds=60), tick=False)
    # The phone runs 30 s slow: its code is that of the previous step.
    assert second_step(mfa_token_for(user.email), totp_code(secret, T1 + timedelta(seconds=30))).status_code == 200
    time_machine.move_to(T1 + timedelta(seconds=120), tick=False)
    # The phone runs 30 s fast.
    assert second_step(mfa_token_for(user.email), totp_code(secret, T1 + timedelta(seconds=150))).status_code == 200


def test_a_code_two_steps_away_is_refused(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    time_machine.move_to(T1 + timedelta(seconds=90), tick=False)

    for off_by in (-60, 60):
        code = totp_code(secret, T1 + timedelta(seconds=90 + off_by))
        assert_error(second_step(mfa_token_for(user.email), code), 401, "mfa_invalid")


def test_a_code_works_once(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    code = totp_code(secret, T1)
    assert second_step(mfa_token_for(user.email), code).status_code == 200

    assert_error(second_step(mfa_token_for(user.email), code), 401, "mfa_invalid")


def test_an_older_code_is_refused_after_a_newer_one_was_used(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    # The phone ran fast once: the next step's code was used; the current one is now behind it.
    assert second_step(mfa_token_for(user.email), totp_code(secret, T1 + timedelta(seconds=30))).status_code == 200

    assert_error(second_step(mfa_token_for(user.email), totp_code(secret, T1)), 401, "mfa_invalid")


def test_the_code_that_confirmed_the_setup_does_not_sign_in(auth_client: APIClient, user: User) -> None:
    secret, _ = enroll(auth_client)

    assert_error(second_step(mfa_token_for(user.email), totp_code(secret, T0)), 401, "mfa_invalid")


def test_the_mfa_token_works_once(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email)
    assert second_step(token, totp_code(secret, T1)).status_code == 200
    time_machine.move_to(T1 + timedelta(seconds=30), tick=False)

    assert_error(second_step(token, totp_code(secret, T1 + timedelta(seconds=30))), 401, "token_invalid")


def test_the_mfa_token_expires_after_five_minutes(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email)
    later = T1 + timedelta(seconds=settings.MFA_TOKEN_SECONDS)
    time_machine.move_to(later, tick=False)

    assert_error(second_step(token, totp_code(secret, later)), 401, "token_invalid")


def test_the_mfa_token_still_works_just_before_it_expires(enrolled: Any, user: User, time_machine: Any) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email)
    almost = T1 + timedelta(seconds=settings.MFA_TOKEN_SECONDS - 1)
    time_machine.move_to(almost, tick=False)

    assert second_step(token, totp_code(secret, almost)).status_code == 200


def test_expired_mfa_tokens_are_pruned_by_the_hourly_job(enrolled: Any, user: User, time_machine: Any) -> None:
    mfa_token_for(user.email)
    time_machine.move_to(T1 + timedelta(hours=1, minutes=4), tick=False)
    fresh = mfa_token_for(user.email)

    assert prune_mfa_challenges.call() == 0
    time_machine.move_to(T1 + timedelta(hours=1, minutes=6), tick=False)
    assert prune_mfa_challenges.call() == 1

    (left,) = MfaChallenge.objects.all()
    assert left.token_hash == digest(fresh)


def test_a_code_of_another_user_does_not_complete_this_users_sign_in(
    enrolled: Any, user: User, outsider: User, login_as: Callable[..., APIClient], time_machine: Any
) -> None:
    time_machine.move_to(T0 + timedelta(seconds=300), tick=False)
    other_secret, _ = enroll(login_as(outsider))
    now = T0 + timedelta(seconds=330)
    time_machine.move_to(now, tick=False)
    mine = mfa_token_for(user.email)

    assert_error(second_step(mine, totp_code(other_secret, now)), 401, "mfa_invalid")
    # The other user's code was not spent by the attempt.
    assert second_step(mfa_token_for(outsider.email), totp_code(other_secret, now)).status_code == 200


def test_an_mfa_token_is_not_an_access_token(enrolled: Any, user: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mfa_token_for(user.email)}")

    assert_error(client.get("/api/v1/auth/me"), 401, "token_invalid")


def test_an_access_or_refresh_token_is_not_an_mfa_token(enrolled: Any, user: User, auth_client: APIClient) -> None:
    secret, _ = enrolled
    tokens = auth_client.tokens  # type: ignore[attr-defined]

    for token in (tokens["access"], tokens["refresh"]):
        assert_error(second_step(token, totp_code(secret, T1)), 401, "token_invalid")


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12345x", "------", "a" * 64])
def test_a_malformed_code_is_mfa_invalid_like_a_wrong_one(enrolled: Any, user: User, code: str) -> None:
    assert_error(second_step(mfa_token_for(user.email), code), 401, "mfa_invalid")


def test_a_missing_code_or_token_is_a_validation_error(enrolled: Any, user: User) -> None:
    body = assert_error(APIClient().post("/api/v1/auth/login/mfa", {}, format="json"), 400, "validation_error")
    assert set(body["errors"]) == {"mfa_token", "code"}
    assert_error(second_step(mfa_token_for(user.email), 123456), 400, "validation_error")


def test_wrong_codes_lock_the_account_for_this_address(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email)
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        assert_error(second_step(token, "000001"), 401, "mfa_invalid")
    # A fresh token: one token dies after LOCKOUT_FAILURES wrong codes anyway.
    last = mfa_token_for(user.email)
    assert_error(second_step(last, "000002"), 401, "mfa_invalid")  # the failure that engages the lock

    # Refused before the code is looked at, even the right one.
    locked = second_step(last, totp_code(secret, T1))
    assert_error(locked, 429, "account_locked")
    assert int(locked["Retry-After"]) > 0
    assert_error(first_step(user.email), 429, "account_locked")
    # Another address is not locked.
    assert first_step(user.email, REMOTE_ADDR="198.51.100.9").status_code == 200
    assert Event.objects.filter(user=user, event=EventType.MFA_FAILED).count() == settings.LOCKOUT_FAILURES
    assert Event.objects.filter(user=user, event=EventType.LOCKED_OUT).count() == 1


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(enrolled: Any, user: User) -> None:
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        assert_error(second_step(mfa_token_for(user.email), "000001"), 401, "mfa_invalid")

    assert_error(second_step(mfa_token_for(user.email), "000002"), 401, "mfa_invalid")

    assert_error(first_step(user.email), 429, "account_locked")


def test_a_sign_in_completed_resets_the_count(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    for _ in range(settings.LOCKOUT_FAILURES - 1):
        second_step(mfa_token_for(user.email), "000001")
    assert second_step(mfa_token_for(user.email), totp_code(secret, T1)).status_code == 200

    for _ in range(settings.LOCKOUT_FAILURES - 1):
        assert_error(second_step(mfa_token_for(user.email), "000001"), 401, "mfa_invalid")


def test_one_token_dies_after_as_many_wrong_codes_as_the_lockout_allows(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email, REMOTE_ADDR="198.51.100.1")
    for index in range(settings.LOCKOUT_FAILURES):
        # From a new address each time: the per-address lockout never engages, the token still dies.
        assert_error(second_step(token, "000001", REMOTE_ADDR=f"198.51.100.{10 + index}"), 401, "mfa_invalid")

    assert_error(second_step(token, totp_code(secret, T1), REMOTE_ADDR="198.51.100.99"), 401, "token_invalid")


def test_a_recovery_code_signs_in_once(enrolled: Any, user: User) -> None:
    _, codes = enrolled

    response = second_step(mfa_token_for(user.email), codes[0])

    assert response.status_code == 200
    assert_error(second_step(mfa_token_for(user.email), codes[0]), 401, "mfa_invalid")
    used = Event.objects.get(user=user, event=EventType.RECOVERY_CODE_USED)
    assert used.details == {"left": 9}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert client.get(STATUS).json()["recovery_codes_left"] == 9


def test_a_recovery_code_is_accepted_in_any_case_and_grouping(enrolled: Any, user: User) -> None:
    _, codes = enrolled

    assert second_step(mfa_token_for(user.email), codes[1].upper().replace("-", " ")).status_code == 200


def test_signing_in_without_mfa_costs_no_mfa_query(user: User) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert "access" in response.json()
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "accounts_totpdevice" not in tables
    assert "accounts_mfachallenge" not in tables
    assert "accounts_recoverycode" not in tables


def test_an_account_deactivated_meanwhile_cannot_finish_signing_in(enrolled: Any, user: User) -> None:
    secret, _ = enrolled
    token = mfa_token_for(user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(second_step(token, totp_code(secret, T1)), 401, "token_invalid")
