"""Password reset: the emailed single-use link (1 hour), its confirmation, and no account enumeration.

The tests read the uid and token out of the email, as a user following the link would.
"""

from __future__ import annotations

import html
import re
import smtplib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import assert_error
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/auth/password/reset"
CONFIRM = "/api/v1/auth/password/reset/confirm"
NEW = "a freshly chosen passphrase"
START = "2026-03-02 09:00:00+00:00"


def link_in(message: Any) -> str:
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    return links[0]


def uid_and_token(link: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(link).query, strict_parsing=True)
    assert set(query) == {"uid", "token"}, link
    return query["uid"][0], query["token"][0]


@pytest.fixture
def ask_reset(mailoutbox: list[Any], run_jobs: Callable[[], int]) -> Callable[..., tuple[str, str]]:
    """Asks for a reset of `email` and answers the (uid, token) of the link in the email it sent."""

    def ask(email: str = "owner@example.com") -> tuple[str, str]:
        sent = len(mailoutbox)
        response = APIClient().post(REQUEST, {"email": email}, format="json")
        run_jobs()
        assert response.status_code == 202, response.content
        assert len(mailoutbox) == sent + 1
        return uid_and_token(link_in(mailoutbox[-1]))

    return ask


def confirm(uid: str, token: str, new_password: Any = NEW) -> Any:
    return APIClient().post(CONFIRM, {"uid": uid, "token": token, "new_password": new_password}, format="json")


def login_status(email: str, password: str) -> int:
    return APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json").status_code


def test_the_email_carries_a_frontend_link_with_uid_and_token_in_text_and_html(
    user: User, mailoutbox: list[Any], run_jobs: Callable[[], int], settings: Any
) -> None:
    settings.FRONTEND_URL = "https://app.example.com"
    response = APIClient().post(REQUEST, {"email": "owner@example.com"}, format="json")
    run_jobs()

    assert response.status_code == 202
    assert response.content == b""
    (message,) = mailoutbox
    assert message.to == ["owner@example.com"]
    assert message.subject == "Reset your Taskdesk password"
    link = link_in(message)
    assert link.startswith("https://app.example.com/reset-password?")
    assert "&amp;" not in message.body  # a plain-text email is not HTML: the link must be usable as is
    assert "Olive Owner" in message.body
    (html_body, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    hrefs = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', html_body)]
    assert hrefs == [link]
    uid, token = uid_and_token(link)
    assert uid and token
    assert Event.objects.filter(user=user, event=EventType.PASSWORD_RESET_REQUESTED).count() == 1


def test_the_email_is_a_job_for_a_worker_not_sent_within_the_request(
    user: User, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    APIClient().post(REQUEST, {"email": user.email}, format="json")
    assert mailoutbox == []

    assert run_jobs() == 1
    assert len(mailoutbox) == 1
    assert run_jobs() == 0
    assert len(mailoutbox) == 1


def test_a_failed_send_is_still_202_and_the_job_is_retried_later_with_its_error(
    user: User, mailoutbox: list[Any], run_jobs: Callable[[], int], caplog: Any
) -> None:
    failing = mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=smtplib.SMTPException("down"))
    response = APIClient().post(REQUEST, {"email": user.email}, format="json")
    with failing:
        assert run_jobs() == 1

    assert response.status_code == 202
    assert mailoutbox == []
    (job,) = DBTaskResult.objects.all()
    assert job.status == "READY"
    assert job.exception_class_path == "smtplib.SMTPException"
    assert any("failed on attempt 1" in record.getMessage() for record in caplog.records)


def test_the_user_is_told_by_email_once_the_reset_is_done(
    user: User, ask_reset: Callable[..., tuple[str, str]], mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    uid, token = ask_reset()
    assert confirm(uid, token).status_code == 204
    run_jobs()
    assert [m.subject for m in mailoutbox][-1] == "Taskdesk: Your password was reset"
    assert mailoutbox[-1].to == [user.email]


def test_the_link_sets_the_new_password_and_ends_every_session(
    user: User, outsider: User, login_as: Callable[..., APIClient], ask_reset: Callable[..., tuple[str, str]]
) -> None:
    devices = [login_as(user), login_as(user)]
    theirs = login_as(outsider)
    uid, token = ask_reset()

    response = confirm(uid, token)

    assert response.status_code == 204
    for device in devices:
        assert_error(device.get("/api/v1/auth/me"), 401, "token_invalid")
        refreshed = APIClient().post("/api/v1/auth/refresh", {"refresh": device.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]
        assert_error(refreshed, 401, "token_invalid")
    assert not Session.objects.live().filter(user=user).exists()
    assert set(Session.objects.filter(user=user).values_list("end_reason", flat=True)) == {
        Session.EndReason.PASSWORD_RESET
    }
    assert theirs.get("/api/v1/auth/me").status_code == 200
    assert login_status(user.email, PASSWORD) == 401
    assert login_status(user.email, NEW) == 200
    assert User.objects.get(pk=user.pk).password.startswith("argon2")
    assert Event.objects.filter(user=user, event=EventType.PASSWORD_RESET_COMPLETED).count() == 1


def test_the_link_works_once(user: User, ask_reset: Callable[..., tuple[str, str]]) -> None:
    uid, token = ask_reset()
    assert confirm(uid, token).status_code == 204

    body = assert_error(confirm(uid, token, "yet another passphrase"), 400, "validation_error")

    assert list(body["errors"]) == ["token"]
    assert login_status(user.email, NEW) == 200


def test_the_link_still_works_59_minutes_later(
    user: User, ask_reset: Callable[..., tuple[str, str]], time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    uid, token = ask_reset()
    time_machine.shift(timedelta(minutes=59))

    assert confirm(uid, token).status_code == 204


def test_the_link_expires_after_an_hour(
    user: User, ask_reset: Callable[..., tuple[str, str]], time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    uid, token = ask_reset()
    time_machine.shift(timedelta(hours=1, seconds=1))

    assert_error(confirm(uid, token), 400, "validation_error")
    assert login_status(user.email, PASSWORD) == 200


def test_the_link_lifetime_follows_password_reset_timeout(
    user: User, ask_reset: Callable[..., tuple[str, str]], time_machine: Any, settings: Any
) -> None:
    settings.PASSWORD_RESET_TIMEOUT = 10 * 60
    time_machine.move_to(START, tick=False)
    uid, token = ask_reset()
    time_machine.shift(timedelta(minutes=10, seconds=1))

    assert_error(confirm(uid, token), 400, "validation_error")
    assert login_status(user.email, PASSWORD) == 200


def test_an_older_link_dies_when_the_password_changes_another_way(
    auth_client: APIClient, user: User, ask_reset: Callable[..., tuple[str, str]]
) -> None:
    uid, token = ask_reset()
    auth_client.post("/api/v1/auth/password/change", {"current_password": PASSWORD, "new_password": NEW}, format="json")

    assert_error(confirm(uid, token, "something else entirely"), 400, "validation_error")


def test_a_weak_new_password_is_refused_and_the_link_stays_usable(
    user: User, ask_reset: Callable[..., tuple[str, str]]
) -> None:
    uid, token = ask_reset()

    body = assert_error(confirm(uid, token, "12345678"), 400, "validation_error")
    assert "This password is too common." in body["errors"]["new_password"]
    body = assert_error(confirm(uid, token, "owner@example.com"), 400, "validation_error")
    assert "The password is too similar to the email." in body["errors"]["new_password"]

    assert confirm(uid, token).status_code == 204


def test_a_link_for_one_user_does_not_work_for_another(
    user: User, outsider: User, ask_reset: Callable[..., tuple[str, str]]
) -> None:
    uid, _ = ask_reset("owner@example.com")
    _, outsider_token = ask_reset("outsider@example.com")

    assert_error(confirm(uid, outsider_token), 400, "validation_error")


@pytest.mark.parametrize("email", ["nobody@example.com", "gone@example.com"])
def test_an_unknown_or_inactive_address_gets_the_same_202_and_no_email(
    user: User, mailoutbox: list[Any], run_jobs: Callable[[], int], email: str
) -> None:
    UserFactory(email="gone@example.com", is_active=False)
    known = APIClient().post(REQUEST, {"email": user.email}, format="json")
    unknown = APIClient().post(REQUEST, {"email": email}, format="json")
    run_jobs()

    assert (unknown.status_code, unknown.content) == (known.status_code, known.content) == (202, b"")
    assert [message.to for message in mailoutbox] == [["owner@example.com"]]


def test_the_address_is_matched_in_any_case(user: User, mailoutbox: list[Any], run_jobs: Callable[[], int]) -> None:
    APIClient().post(REQUEST, {"email": "  Owner@EXAMPLE.com "}, format="json")
    run_jobs()

    assert [message.to for message in mailoutbox] == [["owner@example.com"]]


@pytest.mark.parametrize(
    "data", [{}, {"email": "not an email"}, {"email": 5}, {"email": ["owner@example.com"]}, {"email": "e" * 5000}]
)
def test_a_request_with_bad_input_is_a_400(api_client: APIClient, data: dict[str, Any]) -> None:
    body = assert_error(api_client.post(REQUEST, data, format="json"), 400, "validation_error")
    assert list(body["errors"]) == ["email"]


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("garbage", "garbage"),
        ("", "1-2"),
        ("!!!", "abc-def"),
        ("bm90LWEtdXVpZA", "abc-def"),  # base64 of "not-a-uuid"
        ("MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw", "abc-def"),  # a UUID of no one
        ("/w", "abc-def"),  # base64 of a byte that is not UTF-8
        ("x" * 201, "abc-def"),
        ("garbage", "zzzzzzzzzzzzzzzzzzzzzzzzzz-1"),
    ],
)
def test_a_forged_or_broken_link_is_a_400_never_a_500(user: User, uid: str, token: str) -> None:
    body = assert_error(confirm(uid, token), 400, "validation_error")
    assert set(body["errors"]) <= {"uid", "token"}
    assert login_status(user.email, PASSWORD) == 200


def test_a_tampered_token_is_refused(user: User, ask_reset: Callable[..., tuple[str, str]]) -> None:
    uid, token = ask_reset()
    stamp, digest = token.split("-")

    for forged in (f"{stamp}-{digest[:-1]}{'0' if digest[-1] != '0' else '1'}", f"{stamp}1-{digest}", digest, stamp):
        assert_error(confirm(uid, forged), 400, "validation_error")
    assert confirm(uid, token).status_code == 204


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_of_one_link_at_once_let_exactly_one_through(
    user: User, ask_reset: Callable[..., tuple[str, str]]
) -> None:
    uid, token = ask_reset()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def attempt(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(confirm(uid, token, f"racing passphrase number {index}").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [204, 400, 400, 400]
    assert Event.objects.filter(user=user, event=EventType.PASSWORD_RESET_COMPLETED).count() == 1
