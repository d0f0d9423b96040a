"""One recovery code, or one TOTP code, sent by several sign-ins at the same moment: exactly one gets in.

Needs PostgreSQL: only a server database lets the threads hold real connections at once, so the
conditional UPDATE (recovery codes) and the row lock (TOTP's last used step) are what decide.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import RecoveryCode, Session, User
from accounts.tests.mfa_helpers import T0, enroll, mfa_token_for, second_step, totp_code

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("mfa_clock", "many_logins"),
]

ATTEMPTS = 6


def all_at_once(tokens: list[str], code: str) -> list[int]:
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = [0] * len(tokens)
    errors: list[BaseException] = []

    def attempt(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses[index] = second_step(tokens[index], code).status_code
        except BaseException as exc:  # surfaced below: an assertion in a thread would be lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


def test_one_recovery_code_used_by_concurrent_sign_ins_opens_one_session(auth_client: APIClient, user: User) -> None:
    _, codes = enroll(auth_client)
    tokens = [mfa_token_for(user.email) for _ in range(ATTEMPTS)]
    sessions = Session.objects.filter(user=user).count()

    statuses = all_at_once(tokens, codes[0])

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

    statuses = all_at_once(tokens, totp_code(secret, at))

    assert sorted(statuses) == [200] + [401] * (ATTEMPTS - 1)
