"""Second factor: recovery codes strong enough to be kept as a plain digest (ASVS 5.0 6.5.2, 6.5.3), and a
password reset that does not get round the second factor (6.4.3)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.links import encode_uid, password_reset_tokens
from accounts.models import RecoveryCode, Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import RECOVERY, enroll, first_step, mfa_token_for, second_step, totp_code

pytestmark = pytest.mark.django_db

# Six groups of four base32 characters: 24 x 5 = 120 bits, over the 112 bits that allow an unsalted digest.
CODE = re.compile(r"[a-z2-7]{4}(?:-[a-z2-7]{4}){5}")


def test_recovery_codes_carry_120_bits_and_only_their_digest_is_stored(
    mfa_clock: Any, auth_client: APIClient, user: User
) -> None:
    _, codes = enroll(auth_client)

    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert CODE.fullmatch(code), code
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    # New codes (after the password re-check) are as long, and the old ones are gone.
    renewed = auth_client.post(RECOVERY, {"password": PASSWORD}, format="json")
    assert renewed.status_code == 200, renewed.content
    assert all(CODE.fullmatch(code) for code in renewed.json()["recovery_codes"])
    assert not stored & set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))


def test_a_code_issued_before_the_longer_format_still_signs_in_once(
    mfa_clock: Any, auth_client: APIClient, user: User
) -> None:
    enroll(auth_client)
    legacy = "abcd-efgh-ijkl-mnop"
    RecoveryCode.objects.create(user=user, code_hash=hashlib.sha256(b"abcdefghijklmnop").hexdigest())

    assert second_step(mfa_token_for(user.email), legacy).status_code == 200
    assert_error(second_step(mfa_token_for(user.email), legacy), 401, "mfa_invalid")


def test_a_password_reset_does_not_get_round_the_second_factor(
    mfa_clock: Any, auth_client: APIClient, user: User
) -> None:
    secret, _ = enroll(auth_client)
    new_password = "a freshly chosen passphrase"
    # The link as the email would carry it: made from the account as it stands (the token covers last_login).
    current = User.objects.get(pk=user.pk)
    reset = APIClient().post(
        "/api/v1/auth/password/reset/confirm",
        {"uid": encode_uid(current), "token": password_reset_tokens.make_token(current), "new_password": new_password},
        format="json",
    )
    assert reset.status_code == 204
    sessions_before = Session.objects.filter(user=user).count()

    # The new password alone answers a challenge, not tokens; the second factor still opens the session.
    answer = first_step(user.email, new_password)
    assert answer.status_code == 200
    assert answer.json()["mfa_required"] is True
    assert "access" not in answer.json() and "refresh" not in answer.json()
    assert Session.objects.filter(user=user).count() == sessions_before
    mfa_clock.shift(30)
    done = second_step(answer.json()["mfa_token"], totp_code(secret))
    assert done.status_code == 200
    assert Session.objects.live().filter(user=user).count() == 1
    assert User.objects.get(pk=user.pk).mfa_enabled
