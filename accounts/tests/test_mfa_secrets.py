"""TOTP secrets at rest: encrypted with FIELD_ENCRYPTION_KEY, rotatable without losing an enrolled user."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts import fields
from accounts.models import TotpDevice, User
from accounts.tests.helpers import assert_error
from accounts.tests.mfa_helpers import T0, enroll, mfa_token_for, second_step, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mfa_clock", "many_logins")]

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def sign_in_works(user: User, secret: str, at: Any) -> bool:
    return bool(second_step(mfa_token_for(user.email), totp_code(secret, at)).status_code == 200)


def test_a_new_key_first_keeps_old_secrets_working_and_the_command_moves_them(
    auth_client: APIClient, user: User, settings: Any, mfa_clock: Any
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    secret, _ = enroll(auth_client)
    stored = TotpDevice.objects.get(user=user).secret_encrypted

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    at = T0 + timedelta(seconds=30)
    mfa_clock.move_to(at, tick=False)
    assert sign_in_works(user, secret, at)

    out = StringIO()
    call_command("rotate_field_encryption", stdout=out)
    assert "Re-encrypted 1 TOTP secret(s)" in out.getvalue()
    rotated = TotpDevice.objects.get(user=user).secret_encrypted
    assert rotated != stored
    assert TotpDevice.objects.get(user=user).last_used_step is not None

    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    at += timedelta(seconds=30)
    mfa_clock.move_to(at, tick=False)
    assert sign_in_works(user, secret, at)


def test_a_secret_written_under_a_key_no_longer_configured_does_not_decrypt(
    auth_client: APIClient, user: User, settings: Any
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    enroll(auth_client)

    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(fields.InvalidToken):
        fields.decrypt(TotpDevice.objects.get(user=user).secret_encrypted)


def test_what_is_stored_is_useless_without_the_key(auth_client: APIClient, user: User, settings: Any) -> None:
    secret, _ = enroll(auth_client)
    stored = TotpDevice.objects.get(user=user).secret_encrypted

    # Another deployment's key (or none at all): the dump alone yields nothing.
    assert stored != secret
    with pytest.raises(fields.InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored.encode())
    assert fields.decrypt(stored) == secret


def _settings_in_a_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django; django.setup(); from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)"
    clean = {k: v for k, v in os.environ.items() if k not in {"FIELD_ENCRYPTION_KEY", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=False,
    )


def test_unset_the_key_is_derived_from_the_secret_key_and_stays_the_same() -> None:
    first = _settings_in_a_subprocess({"SECRET_KEY": "one secret key for this test"})
    again = _settings_in_a_subprocess({"SECRET_KEY": "one secret key for this test"})
    other = _settings_in_a_subprocess({"SECRET_KEY": "another secret key"})

    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    assert "one secret key" not in first.stdout


def test_a_list_of_keys_is_read_in_order_and_a_bad_key_fails_fast() -> None:
    listed = _settings_in_a_subprocess({"FIELD_ENCRYPTION_KEY": f"{NEW}, {OLD}"})
    assert listed.stdout.strip() == str([NEW, OLD])

    bad = _settings_in_a_subprocess({"FIELD_ENCRYPTION_KEY": "not-a-fernet-key"})
    assert bad.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be comma-separated Fernet keys" in bad.stderr


@pytest.mark.parametrize(
    "stored", ["gAAAAAtampered", "not base64 at all!", Fernet(OLD.encode()).encrypt(b"x").decode()]
)
def test_a_secret_that_does_not_decrypt_is_a_server_fault_and_recovery_codes_still_sign_in(
    auth_client: APIClient, user: User, mfa_clock: Any, stored: str
) -> None:
    secret, codes = enroll(auth_client)
    TotpDevice.objects.filter(user=user).update(secret_encrypted=stored)
    at = T0 + timedelta(seconds=30)
    mfa_clock.move_to(at, tick=False)

    # A key missing from FIELD_ENCRYPTION_KEY is the operator's to fix (reported as an error), not the user's
    # wrong code: it does not count toward their lockout.
    token = mfa_token_for(user.email)
    assert_error(second_step(token, totp_code(secret, at)), 500, "server_error")
    assert second_step(token, codes[0]).status_code == 200
