"""One recovery code, or one TOTP code, sent by several sign-ins at the same moment: exactly one gets in.

Needs PostgreSQL: only a server database lets the threads hold real connections at once, so the
conditional UPDATE (recovery codes) and the row lock (TOTP's last used step) are what decide.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, Session, User
from accounts.tests.mfa_helpers import T0, enroll, mfa_token_for, second_step, totp_code
from config.tests.concurrency import all_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mfa_clock", "many_logins"),
]

ATTEMPTS = 6


def sign_ins_at_once(tokens: list[str], code: str) -> list[int]:
    return [response.status_code for response in all_at_once([partial(second_step, t, code) for t in tokens])]


def test_one_recovery_code_used_by_concurrent_sign_ins_opens_one_session(auth_client: APIClient, user: User) -> None:
    _, codes = enroll(auth_client)
    tokens = [mfa_token_for(user.email) for _ in range(ATTEMPTS)]
    sessions = Session.objects.filter(user=user).count()

    statuses = sign_ins_at_once(tokens, codes[0])

    assert sorted(statuses) == [200] + [401] * (ATTEMPTS - 1)
    assert Session.objects.filter(user=user).count() == sessions + 1
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == 1


def test_one_totp_code_used_by_concurrent_sign_ins_opens_one_session(
    auth_client: APIClient, user: User, mfa_clock: Any
) -> None:
    secret, _ = enroll(auth_client)
    at = T0 + timedelta(seconds=30)
    mfa_clock.move_to(at, tick=False)
    tokens = [mfa_token_for(user.email) for _ in range(ATTEMPTS)]

    statuses = sign_ins_at_once(tokens, totp_code(secret, at))

    assert sorted(statuses) == [200] + [401] * (ATTEMPTS - 1)
