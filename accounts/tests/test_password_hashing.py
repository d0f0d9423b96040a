"""Argon2 for every new hash; legacy PBKDF2 and bcrypt hashes still sign in and are upgraded on login."""

from __future__ import annotations

from typing import Any, cast

import bcrypt
import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BCryptPasswordHasher,
    BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
    make_password,
)
from rest_framework.test import APIClient

from accounts.hashers import Argon2idPasswordHasher
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_hashers(settings: Any) -> None:
    # What these tests check is the hashing production does, at production's cost.
    from config.test_settings import PRODUCTION_PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS


URL = "/api/v1/auth/login"


def login(email: str, password: str) -> Any:
    return APIClient().post(URL, {"email": email, "password": password}, format="json")


# OWASP's minimum for Argon2id (19 MiB, 2 iterations, 1 lane): accounts/hashers.py, docs/performance.md.
CURRENT_PARAMETERS = "$m=19456,t=2,p=1$"


def test_new_passwords_are_hashed_with_argon2id_at_owasp_minimum() -> None:
    user = User.objects.create_user("new@example.com", "a sturdy new passphrase")
    assert user.password.startswith("argon2$argon2id$v=19" + CURRENT_PARAMETERS)


def test_register_stores_an_argon2id_hash_with_the_explicit_parameters() -> None:
    response = APIClient().post(
        "/api/v1/auth/register", {"email": "fresh@example.com", "password": "a sturdy new passphrase"}, format="json"
    )

    assert response.status_code == 201, response.content
    stored = User.objects.get(email="fresh@example.com").password
    assert stored.startswith("argon2$argon2id$v=19" + CURRENT_PARAMETERS)
    assert login("fresh@example.com", "a sturdy new passphrase").status_code == 200


def test_an_argon2_hash_with_older_parameters_is_rehashed_at_the_next_login() -> None:
    # Django's own defaults, which every hash made before accounts/hashers.py carries.
    old = make_password(PASSWORD, hasher=Argon2PasswordHasher())
    assert "$m=102400,t=2,p=8$" in old
    UserFactory(email="old@example.com", password=old)

    response = login("old@example.com", PASSWORD)

    assert response.status_code == 200, response.content
    stored = User.objects.get(email="old@example.com").password
    assert stored.startswith("argon2$argon2id$v=19" + CURRENT_PARAMETERS)
    assert stored != old
    # The new hash signs in, and is left as it is from now on.
    assert login("old@example.com", PASSWORD).status_code == 200
    assert User.objects.get(email="old@example.com").password == stored


def test_a_wrong_password_on_an_older_argon2_hash_rehashes_nothing() -> None:
    old = make_password(PASSWORD, hasher=Argon2PasswordHasher())
    UserFactory(email="old@example.com", password=old)

    assert login("old@example.com", "not the password at all").status_code == 401
    assert User.objects.get(email="old@example.com").password == old


class RecordingHasher(Argon2idPasswordHasher):
    """The production hasher, hashing for real, that also notes the parameters of every hash it makes."""

    made: list[tuple[int, int, int]] = []

    def encode(self, password: str, salt: str) -> str:
        RecordingHasher.made.append((self.memory_cost, self.time_cost, self.parallelism))
        return super().encode(password, salt)


def test_an_unknown_email_is_answered_after_one_hash_at_the_current_parameters(settings: Any) -> None:
    from config.test_settings import PRODUCTION_PASSWORD_HASHERS

    settings.PASSWORD_HASHERS = [f"{__name__}.RecordingHasher", *PRODUCTION_PASSWORD_HASHERS[1:]]
    RecordingHasher.made.clear()

    response = login("nobody@example.com", PASSWORD)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    # The dummy hash that makes an unknown email cost what a wrong password costs (accounts/backends.py):
    # exactly one, at the parameters a stored hash has, so the two answers take the same time.
    assert RecordingHasher.made == [(19456, 2, 1)]
    assert not User.objects.filter(email="nobody@example.com").exists()


@pytest.mark.parametrize(
    ("hasher", "prefix"),
    [
        (PBKDF2PasswordHasher(), "pbkdf2_sha256$"),
        (PBKDF2SHA1PasswordHasher(), "pbkdf2_sha1$"),
        (BCryptSHA256PasswordHasher(), "bcrypt_sha256$"),
        (BCryptPasswordHasher(), "bcrypt$"),
    ],
)
def test_a_legacy_hash_signs_in_and_is_upgraded_to_argon2(hasher: Any, prefix: str) -> None:
    user = cast(User, UserFactory(email="legacy@example.com", password=make_password(PASSWORD, hasher=hasher)))
    assert user.password.startswith(prefix)

    response = login("legacy@example.com", PASSWORD)

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert user.check_password(PASSWORD)
    # And the upgraded hash signs in too.
    assert login("legacy@example.com", PASSWORD).status_code == 200


@pytest.mark.parametrize("hasher", [PBKDF2PasswordHasher(), BCryptSHA256PasswordHasher(), BCryptPasswordHasher()])
def test_a_wrong_password_on_a_legacy_hash_is_a_401_and_upgrades_nothing(hasher: Any) -> None:
    legacy = make_password(PASSWORD, hasher=hasher)
    UserFactory(email="legacy@example.com", password=legacy)

    response = login("legacy@example.com", "not the password at all")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert User.objects.get(email="legacy@example.com").password == legacy


def test_bcrypt_sha256_uses_a_long_password_whole() -> None:
    password = "a long legacy passphrase " * 5 + "tail"
    assert len(password.encode()) > 72
    UserFactory(email="legacy@example.com", password=make_password(password, hasher=BCryptSHA256PasswordHasher()))

    assert login("legacy@example.com", password[:-1] + "X").status_code == 401
    assert login("legacy@example.com", password).status_code == 200


def _old_library_bcrypt(password: str) -> str:
    # What bcrypt < 5 stored for a long password: the hash of its first 72 bytes (bcrypt 5 refuses instead).
    return "bcrypt$" + bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(4)).decode()


def test_a_long_password_on_a_plain_bcrypt_hash_is_never_a_500() -> None:
    password = "correct horse battery staple, and then some more words " * 2
    assert len(password.encode()) > 72
    UserFactory(email="legacy@example.com", password=_old_library_bcrypt(password))

    wrong = login("legacy@example.com", "X" + password[1:])
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"

    right = login("legacy@example.com", password)
    assert right.status_code == 200, right.content
    user = User.objects.get(email="legacy@example.com")
    # Upgraded to Argon2 over the whole password: from now on every character counts.
    assert user.password.startswith("argon2")
    assert user.check_password(password)
    assert not user.check_password(password[:-1] + "X")


def test_a_mangled_legacy_hash_refuses_the_login_instead_of_failing() -> None:
    UserFactory(email="legacy@example.com", password="bcrypt$not-a-real-hash")

    assert login("legacy@example.com", "p" * 100).status_code == 401
    assert login("legacy@example.com", PASSWORD).status_code == 401


def test_an_unusable_password_never_signs_in() -> None:
    user = User.objects.create_user("nopass@example.com", None)
    assert not user.has_usable_password()

    assert login("nopass@example.com", "").status_code == 400
    assert login("nopass@example.com", PASSWORD).status_code == 401
