"""Passwords built around the service's own name are refused (ASVS 5.0 6.1.2, 6.2.11), whatever the flow.

The documented list is settings.PASSWORD_CONTEXT_WORDS; docs/security.md says why. A passphrase that merely
contains one of the words stays allowed: only a password that is little more than the word is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.links import encode_uid, password_reset_tokens
from accounts.models import User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

MESSAGE = "This password is too close to the name of this service"
BUILT_AROUND_THE_NAME = ["Taskdesk2024!", "taskdesk123", "T4skd3sk!!", "TASK DESK 99", "todo1234"]


def register(password: str) -> Any:
    return APIClient().post("/api/v1/auth/register", {"email": "ada@example.com", "password": password}, format="json")


@pytest.mark.parametrize("password", BUILT_AROUND_THE_NAME)
def test_sign_up_refuses_a_password_built_around_the_service_name(password: str) -> None:
    body = assert_error(register(password), 400, "validation_error")

    assert any(message.startswith(MESSAGE) for message in body["errors"]["password"]), body
    assert not User.objects.exists()


def test_a_passphrase_that_merely_contains_the_name_is_accepted() -> None:
    response = register("my taskdesk passphrase is long")

    assert response.status_code == 201, response.content
    assert User.objects.get(email="ada@example.com").check_password("my taskdesk passphrase is long")


def test_a_password_change_to_one_built_around_the_name_is_refused(user: User, auth_client: APIClient) -> None:
    response = auth_client.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "Taskdesk2024!"},
        format="json",
    )

    body = assert_error(response, 400, "validation_error")
    assert any(message.startswith(MESSAGE) for message in body["errors"]["new_password"]), body
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_a_reset_to_one_built_around_the_name_is_refused_and_the_link_stays_usable(user: User) -> None:
    uid, token = encode_uid(user), password_reset_tokens.make_token(user)
    confirm = "/api/v1/auth/password/reset/confirm"

    refused = APIClient().post(confirm, {"uid": uid, "token": token, "new_password": "taskdesk123"}, format="json")

    body = assert_error(refused, 400, "validation_error")
    assert any(message.startswith(MESSAGE) for message in body["errors"]["new_password"]), body
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    accepted = APIClient().post(
        confirm, {"uid": uid, "token": token, "new_password": "a freshly chosen passphrase"}, format="json"
    )
    assert accepted.status_code == 204
