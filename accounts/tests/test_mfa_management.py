"""Living with two-factor on: status, turning it off, new recovery codes, and the password re-checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, Session, TotpDevice, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error, sid
from accounts.tests.mfa_helpers import RECOVERY, STATUS, T0, TOTP, enroll, first_step, mfa_token_for, second_step
from audit.models import Event, EventType

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_clock", "many_logins")]


def disable(client: APIClient, password: Any = PASSWORD, **extra: Any) -> Any:
    return client.delete(TOTP, {"password": password}, format="json", **extra)


def regenerate(client: APIClient, password: Any = PASSWORD) -> Any:
    return client.post(RECOVERY, {"password": password}, format="json")


def test_status_of_a_user_without_mfa(auth_client: APIClient) -> None:
    assert auth_client.get(STATUS).json() == {"totp_enabled": False, "recovery_codes_left": 0}


def test_turning_it_off_removes_the_secret_and_codes_and_ends_every_other_session(
    user: User, outsider: User, login_as: Callable[..., APIClient]
) -> None:
    client = login_as(user)
    others = [login_as(user), login_as(user)]
    theirs = login_as(outsider)
    enroll(client)

    response = disable(client)

    assert response.status_code == 204
    user.refresh_from_db()
    assert not user.mfa_enabled
    assert not TotpDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    for other in others:
        assert_error(other.get(STATUS), 401, "token_invalid")
        assert Session.objects.get(pk=sid(other)).end_reason == Session.EndReason.MFA_DISABLED
    assert client.get(STATUS).json() == {"totp_enabled": False, "recovery_codes_left": 0}
    assert theirs.get(STATUS).status_code == 200
    assert "access" in first_step(user.email).json()
    event = Event.objects.get(user=user, event=EventType.MFA_DISABLED)
    assert event.details == {"sessions_ended": 2}


def test_an_mfa_token_issued_before_it_was_turned_off_dies_with_it(auth_client: APIClient, user: User) -> None:
    _, codes = enroll(auth_client)
    token = mfa_token_for(user.email)

    assert disable(auth_client).status_code == 204

    assert_error(second_step(token, codes[0]), 401, "token_invalid")


@pytest.mark.parametrize("how", ["password_change", "logout_all"])
def test_a_sign_in_waiting_for_its_code_dies_when_every_session_ends(
    auth_client: APIClient, user: User, how: str
) -> None:
    _, codes = enroll(auth_client)
    token = mfa_token_for(user.email)

    if how == "password_change":
        body = {"current_password": PASSWORD, "new_password": "an entirely fresh passphrase"}
        assert auth_client.post("/api/v1/auth/password/change", body, format="json").status_code == 204
    else:
        assert auth_client.post("/api/v1/auth/logout/all").status_code == 204

    assert_error(second_step(token, codes[0]), 401, "token_invalid")


def test_turning_it_off_wants_the_password(auth_client: APIClient, user: User) -> None:
    enroll(auth_client)

    body = assert_error(disable(auth_client, "not my password"), 400, "validation_error")

    assert set(body["errors"]) == {"password"}
    assert_error(auth_client.delete(TOTP, {}, format="json"), 400, "validation_error")
    user.refresh_from_db()
    assert user.mfa_enabled
    assert Event.objects.filter(user=user, event=EventType.REAUTH_FAILED).count() == 1


def test_turning_it_off_when_it_is_not_on_is_refused(auth_client: APIClient) -> None:
    assert_error(disable(auth_client), 409, "mfa_not_enabled")
    assert_error(regenerate(auth_client), 409, "mfa_not_enabled")


def test_turning_it_off_mails_a_notice(
    auth_client: APIClient, user: User, run_jobs: Callable[[], int], mailoutbox: list[Any]
) -> None:
    enroll(auth_client)
    run_jobs()
    mailoutbox.clear()

    disable(auth_client, HTTP_USER_AGENT="Taskdesk iOS/3.1")
    run_jobs()

    assert [mail.subject for mail in mailoutbox] == ["Taskdesk: Two-factor sign-in was turned off"]
    assert "Taskdesk iOS/3.1" in mailoutbox[0].body
    assert "127.0.0.1" in mailoutbox[0].body


def test_new_recovery_codes_replace_the_old_ones(
    auth_client: APIClient, user: User, run_jobs: Callable[[], int], mailoutbox: list[Any]
) -> None:
    _, old = enroll(auth_client)
    assert second_step(mfa_token_for(user.email), old[0]).status_code == 200
    run_jobs()
    mailoutbox.clear()

    response = regenerate(auth_client)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new = response.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert auth_client.get(STATUS).json() == {"totp_enabled": True, "recovery_codes_left": 10}
    assert_error(second_step(mfa_token_for(user.email), old[1]), 401, "mfa_invalid")
    assert second_step(mfa_token_for(user.email), new[0]).status_code == 200
    assert Event.objects.filter(user=user, event=EventType.RECOVERY_CODES_REGENERATED).count() == 1
    run_jobs()
    assert [mail.subject for mail in mailoutbox] == ["Taskdesk: New recovery codes were made"]
    assert not any(code in mailoutbox[0].body for code in new)


def test_new_recovery_codes_want_the_password(auth_client: APIClient, user: User) -> None:
    _, old = enroll(auth_client)

    assert_error(regenerate(auth_client, "not my password"), 400, "validation_error")

    assert second_step(mfa_token_for(user.email), old[0]).status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("delete", TOTP, "password"),
        ("post", RECOVERY, "password"),
        ("delete", "/api/v1/auth/me", "password"),
        ("post", "/api/v1/auth/password/change", "current_password"),
    ],
)
def test_wrong_passwords_in_a_sensitive_action_count_toward_the_lockout(
    auth_client: APIClient, user: User, method: str, url: str, field: str
) -> None:
    enroll(auth_client)
    body = {field: "not my password", "new_password": "an entirely fresh passphrase"}
    for _ in range(settings.LOCKOUT_FAILURES):
        answer = assert_error(getattr(auth_client, method)(url, body, format="json"), 400, "validation_error")
        assert field in answer["errors"]

    # Locked for this address: even the right password is refused, here and at login.
    right = {field: PASSWORD, "new_password": "an entirely fresh passphrase"}
    locked = getattr(auth_client, method)(url, right, format="json")
    assert_error(locked, 429, "account_locked")
    assert int(locked["Retry-After"]) > 0
    assert_error(first_step(user.email), 429, "account_locked")
    assert User.objects.filter(pk=user.pk, mfa_enabled=True).exists()
    assert Event.objects.filter(user=user, event=EventType.LOCKED_OUT).count() == 1


def test_recovery_codes_left_counts_down(auth_client: APIClient, user: User, mfa_clock: Any) -> None:
    _, codes = enroll(auth_client)
    for code in codes[:3]:
        assert second_step(mfa_token_for(user.email), code).status_code == 200
    mfa_clock.move_to(T0 + timedelta(minutes=1), tick=False)

    assert auth_client.get(STATUS).json() == {"totp_enabled": True, "recovery_codes_left": 7}


def test_no_secret_code_or_mfa_token_reaches_the_audit_log_or_the_job_table(
    auth_client: APIClient, user: User, mfa_clock: Any
) -> None:
    secret, first = enroll(auth_client)
    token = mfa_token_for(user.email)
    assert second_step(token, first[0]).status_code == 200
    second_step(mfa_token_for(user.email), "000001")
    new = regenerate(auth_client).json()["recovery_codes"]

    stored = str(list(Event.objects.values_list("details", flat=True)))
    stored += str(list(DBTaskResult.objects.values_list("args_kwargs", flat=True)))
    for value in (secret, token, *first, *new, *(code.replace("-", "") for code in first + new)):
        assert value not in stored
