"""Turning TOTP two-factor sign-in on: setup, confirm, status, the notice, and what the database holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, TotpDevice, User
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import CONFIRM, SETUP, STATUS, T0, enroll, first_step, totp_code
from audit.models import Event, EventType

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_clock", "many_logins")]


def test_setup_answers_a_secret_and_an_otpauth_uri_for_the_app(auth_client: APIClient, user: User) -> None:
    response = auth_client.post(SETUP)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"secret", "otpauth_uri"}
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    assert query["secret"] == [body["secret"]]
    assert query["issuer"] == ["Taskdesk"]
    assert user.email in uri.path.replace("%40", "@")


def test_nothing_changes_at_login_until_the_setup_is_confirmed(auth_client: APIClient, user: User) -> None:
    auth_client.post(SETUP)

    assert "access" in first_step(user.email).json()
    assert auth_client.get(STATUS).json() == {"totp_enabled": False, "recovery_codes_left": 0}


def test_a_new_setup_replaces_an_unconfirmed_one(auth_client: APIClient) -> None:
    old = auth_client.post(SETUP).json()["secret"]
    new = auth_client.post(SETUP).json()["secret"]

    assert old != new
    assert_error(auth_client.post(CONFIRM, {"code": totp_code(old)}, format="json"), 400, "mfa_invalid")
    assert auth_client.post(CONFIRM, {"code": totp_code(new)}, format="json").status_code == 200
    assert TotpDevice.objects.count() == 1


def test_confirm_turns_it_on_and_answers_ten_recovery_codes_once(auth_client: APIClient, user: User) -> None:
    secret = auth_client.post(SETUP).json()["secret"]

    response = auth_client.post(CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    codes = response.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    user.refresh_from_db()
    assert user.mfa_enabled
    assert auth_client.get(STATUS).json() == {"totp_enabled": True, "recovery_codes_left": 10}
    assert first_step(user.email).json()["mfa_required"] is True
    assert Event.objects.filter(user=user, event=EventType.MFA_ENABLED).count() == 1


def test_a_code_of_the_next_step_confirms_but_not_one_two_steps_away(auth_client: APIClient) -> None:
    secret = auth_client.post(SETUP).json()["secret"]

    stale = totp_code(secret, T0 - timedelta(seconds=60))
    assert_error(auth_client.post(CONFIRM, {"code": stale}, format="json"), 400, "mfa_invalid")
    response = auth_client.post(CONFIRM, {"code": totp_code(secret, T0 + timedelta(seconds=30))}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("code", ["000000", "12345", "1234567", "abcdef", "12 34 5x", ""])
def test_a_wrong_or_malformed_code_does_not_confirm(auth_client: APIClient, user: User, code: str) -> None:
    secret = auth_client.post(SETUP).json()["secret"]
    if code == "000000" and totp_code(secret) == code:
        pytest.skip("the secret's current code happens to be 000000")

    response = auth_client.post(CONFIRM, {"code": code}, format="json")

    if code == "":
        assert_error(response, 400, "validation_error")
    else:
        assert_error(response, 400, "mfa_invalid")
    user.refresh_from_db()
    assert not user.mfa_enabled


def test_confirm_without_a_setup_is_refused(auth_client: APIClient) -> None:
    assert_error(auth_client.post(CONFIRM, {"code": "123456"}, format="json"), 409, "mfa_setup_required")


def test_setup_and_confirm_are_refused_while_it_is_on(auth_client: APIClient, user: User) -> None:
    secret, _ = enroll(auth_client)

    assert_error(auth_client.post(SETUP), 409, "mfa_already_enabled")
    assert_error(auth_client.post(CONFIRM, {"code": totp_code(secret)}, format="json"), 409, "mfa_already_enabled")
    assert TotpDevice.objects.get(user=user).confirmed_at is not None


def test_the_mfa_endpoints_want_a_signed_in_user(api_client: APIClient) -> None:
    for response in (api_client.post(SETUP), api_client.post(CONFIRM, {"code": "1"}), api_client.get(STATUS)):
        assert_error(response, 401, "not_authenticated")


def test_neither_the_secret_nor_the_recovery_codes_are_stored_in_clear(auth_client: APIClient, user: User) -> None:
    secret, codes = enroll(auth_client)

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM accounts_totpdevice")
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT code_hash FROM accounts_recoverycode")
        hashes = [row[0] for row in cursor.fetchall()]
    assert secret not in stored and secret.lower() not in stored.lower()
    assert stored.startswith("gAAAA")  # a Fernet token
    assert len(hashes) == 10
    for code in codes:
        bare = code.replace("-", "")
        assert all(bare not in value and code not in value for value in hashes)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 10


def test_turning_it_on_mails_a_notice_with_time_address_and_device(
    login_as: Callable[..., APIClient], user: User, run_jobs: Callable[[], int], mailoutbox: list[Any]
) -> None:
    client = login_as(user, HTTP_USER_AGENT="Firefox/140 on Linux", REMOTE_ADDR="198.51.100.7")
    secret = client.post(SETUP).json()["secret"]
    assert mailoutbox == []

    client.post(CONFIRM, {"code": totp_code(secret)}, format="json", HTTP_USER_AGENT="Firefox/140 on Linux")
    run_jobs()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [user.email]
    assert "Two-factor sign-in was turned on" in mail.subject
    assert "2026-06-01T12:00:00" in mail.body
    assert "Firefox/140 on Linux" in mail.body
    assert "127.0.0.1" in mail.body
    html = mail.alternatives[0][0]
    assert "Firefox/140 on Linux" in html
    assert secret not in mail.body and secret not in html
