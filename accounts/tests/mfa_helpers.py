"""Two-factor helpers for the tests: enrol through the API, compute codes from the secret as an app would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyotp
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login"
LOGIN_MFA = "/api/v1/auth/login/mfa"
SETUP = "/api/v1/auth/mfa/totp/setup"
CONFIRM = "/api/v1/auth/mfa/totp/confirm"
TOTP = "/api/v1/auth/mfa/totp"
RECOVERY = "/api/v1/auth/mfa/recovery-codes"
STATUS = "/api/v1/auth/mfa"
# A fixed instant at the start of a 30 s step, so tests step from code to code exactly.
T0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def totp_code(secret: str, at: datetime | None = None) -> str:
    """The code an authenticator app shows for `secret` (now, or at `at`)."""
    totp = pyotp.TOTP(secret)
    return totp.at(at) if at is not None else totp.now()


def enroll(client: APIClient) -> tuple[str, list[str]]:
    """Sets up and confirms TOTP for the client's user; answers the secret and the ten recovery codes."""
    setup = client.post(SETUP)
    assert setup.status_code == 200, setup.content
    secret = setup.json()["secret"]
    confirm = client.post(CONFIRM, {"code": totp_code(secret)}, format="json")
    assert confirm.status_code == 200, confirm.content
    return secret, confirm.json()["recovery_codes"]


def first_step(email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return APIClient().post(LOGIN, {"email": email, "password": password}, format="json", **extra)


def mfa_token_for(email: str, **extra: Any) -> str:
    response = first_step(email, **extra)
    assert response.status_code == 200, response.content
    assert response.json()["mfa_required"] is True
    return str(response.json()["mfa_token"])


def second_step(mfa_token: str, code: Any, **extra: Any) -> Any:
    return APIClient().post(LOGIN_MFA, {"mfa_token": mfa_token, "code": code}, format="json", **extra)
