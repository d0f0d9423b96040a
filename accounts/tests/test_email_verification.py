"""Email verification: the link in the sign-up email, POST /auth/email/verify, and /auth/email/resend."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from accounts.links import encode_uid, password_reset_tokens
from accounts.models import User
from accounts.services.account import email_verification_resend
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import assert_error
from audit.context import SYSTEM
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

VERIFY = "/api/v1/auth/email/verify"
RESEND = "/api/v1/auth/email/resend"
START = "2026-03-02 09:00:00+00:00"


def uid_and_token(message: Any) -> tuple[str, str]:
    (link,) = re.findall(r"https?://\S+", message.body)
    assert link.startswith("http://localhost:3000/verify-email?")
    query = parse_qs(urlsplit(link).query, strict_parsing=True)
    return query["uid"][0], query["token"][0]


def verify(uid: str, token: str) -> Any:
    return APIClient().post(VERIFY, {"uid": uid, "token": token}, format="json")


@pytest.fixture
def sign_up(mailoutbox: list[Any], run_jobs: Callable[[], int]) -> Callable[..., tuple[dict[str, Any], Any]]:
    """Registers an account and answers the response body and the verification email it sent."""

    def register(email: str = "ada@example.com") -> tuple[dict[str, Any], Any]:
        response = APIClient().post(
            "/api/v1/auth/register",
            {"email": email, "password": "quiet lantern over the harbour", "full_name": "Ada"},
            format="json",
        )
        run_jobs()
        assert response.status_code == 201, response.content
        return response.json(), mailoutbox[-1]

    return register


def test_sign_up_sends_a_verification_email_in_text_and_html(sign_up: Callable[..., Any]) -> None:
    _, message = sign_up()

    assert message.to == ["ada@example.com"]
    assert message.subject == "Confirm your Taskdesk email address"
    assert "&amp;" not in message.body
    assert "Hello Ada," in message.body
    (html_body, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    (link,) = re.findall(r"https?://\S+", message.body)
    assert [html.unescape(href) for href in re.findall(r'href="([^"]+)"', html_body)] == [link]


def test_the_link_marks_the_email_verified(sign_up: Callable[..., Any]) -> None:
    body, message = sign_up()
    assert body["user"]["email_verified"] is False

    response = verify(*uid_and_token(message))

    assert response.status_code == 204
    user = User.objects.get(email="ada@example.com")
    assert user.email_verified is True
    me = APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.json()["email_verified"] is True
    assert Event.objects.filter(user=user, event=EventType.EMAIL_VERIFIED).count() == 1


def test_the_link_works_once(sign_up: Callable[..., Any]) -> None:
    _, message = sign_up()
    uid, token = uid_and_token(message)
    assert verify(uid, token).status_code == 204

    body = assert_error(verify(uid, token), 400, "validation_error")

    assert list(body["errors"]) == ["token"]
    assert Event.objects.filter(event=EventType.EMAIL_VERIFIED).count() == 1


def test_the_link_is_valid_for_three_days(sign_up: Callable[..., Any], time_machine: Any) -> None:
    time_machine.move_to(START, tick=False)
    _, message = sign_up()
    uid, token = uid_and_token(message)

    time_machine.shift(timedelta(days=3, seconds=1))

    assert_error(verify(uid, token), 400, "validation_error")
    assert User.objects.get(email="ada@example.com").email_verified is False


def test_a_link_for_one_account_does_not_verify_another(sign_up: Callable[..., Any]) -> None:
    _, ada = sign_up("ada@example.com")
    _, bob = sign_up("bob@example.com")
    ada_uid, _ = uid_and_token(ada)
    _, bob_token = uid_and_token(bob)

    assert_error(verify(ada_uid, bob_token), 400, "validation_error")
    assert not User.objects.filter(email_verified=True).exists()


def test_a_password_reset_token_does_not_verify_an_email(sign_up: Callable[..., Any]) -> None:
    sign_up()
    user = User.objects.get(email="ada@example.com")

    assert_error(verify(encode_uid(user), password_reset_tokens.make_token(user)), 400, "validation_error")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"uid": "garbage", "token": "garbage"},
        {"uid": "bm90LWEtdXVpZA", "token": "1-2"},
        {"uid": 5, "token": 5},
        {"uid": ["x"], "token": "y"},
        {"uid": "u" * 1000, "token": "t"},
    ],
)
def test_broken_input_is_a_400_never_a_500(api_client: APIClient, data: dict[str, Any]) -> None:
    body = assert_error(api_client.post(VERIFY, data, format="json"), 400, "validation_error")
    assert set(body["errors"]) <= {"uid", "token"}


def test_resend_sends_a_fresh_link_that_works(
    user: User,
    login_as: Callable[..., APIClient],
    mailoutbox: list[Any],
    run_jobs: Callable[[], int],
) -> None:
    User.objects.filter(pk=user.pk).update(email_verified=False)
    client = login_as(user)

    response = client.post(RESEND)
    run_jobs()

    assert response.status_code == 202
    (message,) = mailoutbox
    assert message.to == ["owner@example.com"]
    assert verify(*uid_and_token(message)).status_code == 204
    assert User.objects.get(pk=user.pk).email_verified is True
    assert Event.objects.filter(user=user, event=EventType.EMAIL_VERIFICATION_SENT).count() == 1


def test_resend_for_a_verified_address_sends_nothing(
    auth_client: APIClient, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    response = auth_client.post(RESEND)
    run_jobs()

    assert response.status_code == 202
    assert mailoutbox == []


def test_resend_needs_a_token(api_client: APIClient) -> None:
    assert_error(api_client.post(RESEND), 401, "not_authenticated")


def test_verification_is_independent_of_sign_in_state(mailoutbox: list[Any], run_jobs: Callable[[], int]) -> None:
    user = cast(User, UserFactory(email="later@example.com", email_verified=False))

    email_verification_resend(user=user, meta=SYSTEM)
    run_jobs()

    # The link works from any device, with no token at all.
    assert verify(*uid_and_token(mailoutbox[-1])).status_code == 204
