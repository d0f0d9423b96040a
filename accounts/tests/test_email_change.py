"""Email change: POST /auth/email/change mails a link to the new address and a notice to the old one; POST
/auth/email/change/confirm changes the address, counts it verified and ends every other session."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error, sid
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/auth/email/change"
CONFIRM = "/api/v1/auth/email/change/confirm"
NEW = "new.address@example.com"
START = "2026-03-02 09:00:00+00:00"


def request_change(client: APIClient, new_email: Any = NEW, password: Any = PASSWORD, **extra: Any) -> Any:
    return client.post(CHANGE, {"new_email": new_email, "password": password}, format="json", **extra)


def confirm(uid: str, token: str, client: APIClient | None = None) -> Any:
    return (client or APIClient()).post(CONFIRM, {"uid": uid, "token": token}, format="json")


def link_of(message: Any) -> tuple[str, str]:
    (link,) = re.findall(r"https?://\S+", message.body)
    assert link.startswith("http://localhost:3000/confirm-email-change?")
    query = parse_qs(urlsplit(link).query, strict_parsing=True)
    return query["uid"][0], query["token"][0]


@pytest.fixture
def mails(mailoutbox: list[Any], run_jobs: Callable[[], int]) -> Callable[[], list[Any]]:
    """Runs the queued jobs (as the worker would) and answers the mails sent since the last call."""

    def sent() -> list[Any]:
        run_jobs()
        new = list(mailoutbox)
        mailoutbox.clear()
        return new

    return sent


def test_a_change_mails_a_link_to_the_new_address_and_a_notice_to_the_old_one_and_changes_nothing_yet(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]]
) -> None:
    mails()
    response = request_change(auth_client, HTTP_USER_AGENT="Laptop/3.1")

    assert response.status_code == 202
    assert response.content == b""
    user.refresh_from_db()
    assert user.email == "owner@example.com"
    sent = {mail.to[0]: mail for mail in mails()}
    assert set(sent) == {NEW, "owner@example.com"}
    assert sent[NEW].subject == "Confirm your new Taskdesk email address"
    link_of(sent[NEW])
    notice = sent["owner@example.com"]
    assert notice.subject == "Taskdesk: A change of your email address was requested"
    assert NEW in notice.body and "Laptop/3.1" in notice.body
    assert "token=" not in notice.body
    event = Event.objects.get(event=EventType.EMAIL_CHANGE_REQUESTED)
    assert event.user_id == user.pk and event.details == {"new_email": NEW}


def test_confirming_changes_the_address_counts_it_verified_and_ends_every_other_session(
    user: User, login_as: Callable[..., APIClient], mails: Callable[[], list[Any]]
) -> None:
    User.objects.filter(pk=user.pk).update(email_verified=False)
    client, other = login_as(user), login_as(user)
    assert request_change(client).status_code == 202
    [link] = [mail for mail in mails() if mail.to == [NEW]]

    response = confirm(*link_of(link))

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.email == NEW and user.email_verified is True
    # Confirmed without a token: no session is the caller's, so all of them end.
    for each in (client, other):
        assert_error(each.get("/api/v1/auth/me"), 401, "token_invalid")
        assert Session.objects.get(pk=sid(each)).end_reason == Session.EndReason.EMAIL_CHANGED
    # The new address signs in, the old one no longer does.
    assert APIClient().post("/api/v1/auth/login", {"email": NEW, "password": PASSWORD}).status_code == 200
    old = {"email": "owner@example.com", "password": PASSWORD}
    assert APIClient().post("/api/v1/auth/login", old).status_code == 401
    event = Event.objects.get(event=EventType.EMAIL_CHANGED)
    assert event.details == {"old_email": "owner@example.com", "new_email": NEW, "sessions_ended": 2}
    [notice] = mails()
    assert notice.to == ["owner@example.com"]
    assert notice.subject == "Taskdesk: Your email address was changed"
    assert NEW in notice.body


def test_confirming_while_signed_in_keeps_the_callers_session(
    user: User, login_as: Callable[..., APIClient], mails: Callable[[], list[Any]]
) -> None:
    client, other = login_as(user), login_as(user)
    request_change(client)
    [link] = [mail for mail in mails() if mail.to == [NEW]]

    assert confirm(*link_of(link), client=client).status_code == 204

    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["email"] == NEW
    assert_error(other.get("/api/v1/auth/me"), 401, "token_invalid")


def test_the_link_works_once(auth_client: APIClient, mails: Callable[[], list[Any]]) -> None:
    request_change(auth_client)
    [link] = [mail for mail in mails() if mail.to == [NEW]]
    assert confirm(*link_of(link)).status_code == 204

    body = assert_error(confirm(*link_of(link)), 400, "validation_error")

    assert list(body["errors"]) == ["token"]
    assert Event.objects.filter(event=EventType.EMAIL_CHANGED).count() == 1


def test_the_link_dies_after_an_hour(
    user: User, login_as: Callable[..., APIClient], mails: Callable[[], list[Any]], time_machine: Any
) -> None:
    time_machine.move_to(START, tick=False)
    request_change(login_as(user))
    [link] = [mail for mail in mails() if mail.to == [NEW]]

    time_machine.shift(timedelta(hours=1, seconds=1))

    assert_error(confirm(*link_of(link)), 400, "validation_error")
    user.refresh_from_db()
    assert user.email == "owner@example.com"


def test_confirming_one_change_kills_the_links_of_the_others(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]]
) -> None:
    request_change(auth_client, "first@example.com")
    request_change(auth_client, "second@example.com")
    links = {mail.to[0]: link_of(mail) for mail in mails() if mail.to[0] != user.email}

    assert confirm(*links["second@example.com"]).status_code == 204
    assert_error(confirm(*links["first@example.com"]), 400, "validation_error")
    user.refresh_from_db()
    assert user.email == "second@example.com"


def test_a_link_mailed_after_another_change_was_confirmed_is_not_sent(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]], run_jobs: Callable[[], int]
) -> None:
    request_change(auth_client, "first@example.com")
    [link] = [mail for mail in mails() if mail.to == ["first@example.com"]]
    request_change(auth_client, "second@example.com")  # queued, not sent yet
    assert confirm(*link_of(link)).status_code == 204

    assert not [mail for mail in mails() if mail.to == ["second@example.com"]]


def test_an_address_taken_meanwhile_is_a_409_and_the_link_stays_unused(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]]
) -> None:
    request_change(auth_client)
    [link] = [mail for mail in mails() if mail.to == [NEW]]
    squatter = User.objects.create_user(NEW, PASSWORD)

    assert_error(confirm(*link_of(link)), 409, "email_taken")

    user.refresh_from_db()
    assert user.email == "owner@example.com"
    assert auth_client.get("/api/v1/auth/me").status_code == 200
    squatter.delete()
    assert confirm(*link_of(link)).status_code == 204


def test_a_taken_address_is_answered_the_same_and_mailed_nothing(
    auth_client: APIClient, outsider: User, mails: Callable[[], list[Any]]
) -> None:
    mails()
    response = request_change(auth_client, outsider.email.upper())

    assert response.status_code == 202
    assert [mail.to for mail in mails()] == [["owner@example.com"]]
    assert Event.objects.get(event=EventType.EMAIL_CHANGE_REQUESTED).details == {"new_email": outsider.email}


@pytest.mark.parametrize("same", ["owner@example.com", "Owner@Example.COM", " owner@EXAMPLE.com "])
def test_your_own_address_in_any_case_is_a_400(
    auth_client: APIClient, same: str, mails: Callable[[], list[Any]]
) -> None:
    mails()
    body = assert_error(request_change(auth_client, same), 400, "validation_error")

    assert list(body["errors"]) == ["new_email"]
    assert mails() == []


def test_a_wrong_password_is_a_400_on_password_and_counts_toward_the_lockout(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]], settings: Any
) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "password_reset": "99/h"}}
    mails()
    for _ in range(settings.LOCKOUT_FAILURES):
        body = assert_error(request_change(auth_client, password="not my password"), 400, "validation_error")
        assert list(body["errors"]) == ["password"]

    assert_error(request_change(auth_client), 429, "account_locked")
    assert mails() == []
    assert Event.objects.filter(event=EventType.REAUTH_FAILED, user=user).count() == settings.LOCKOUT_FAILURES


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"new_email": NEW},
        {"password": PASSWORD},
        {"new_email": "not an address", "password": PASSWORD},
        {"new_email": 12, "password": PASSWORD},
        {"new_email": "ne\u200bw@example.com", "password": PASSWORD},
    ],
)
def test_bad_input_is_a_400(auth_client: APIClient, data: dict[str, Any]) -> None:
    assert_error(auth_client.post(CHANGE, data, format="json"), 400, "validation_error")


def test_asking_needs_a_signed_in_user(api_client: APIClient) -> None:
    assert_error(request_change(api_client), 401, "not_authenticated")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda uid, token: (uid, token + "x"),
        lambda uid, token: (uid, token[:-4]),
        lambda uid, token: ("garbage", token),
        lambda uid, token: (uid, "garbage"),
        lambda uid, token: (uid, "a:b:c"),
    ],
    ids=["token-suffix", "token-cut", "uid-garbage", "token-garbage", "token-colons"],
)
def test_a_tampered_link_is_a_400(
    auth_client: APIClient, user: User, mails: Callable[[], list[Any]], tamper: Any
) -> None:
    request_change(auth_client)
    [link] = [mail for mail in mails() if mail.to == [NEW]]

    assert_error(confirm(*tamper(*link_of(link))), 400, "validation_error")
    user.refresh_from_db()
    assert user.email == "owner@example.com"


def test_another_users_uid_does_not_take_the_link(
    auth_client: APIClient, outsider: User, mails: Callable[[], list[Any]]
) -> None:
    from accounts.links import encode_uid

    request_change(auth_client)
    [link] = [mail for mail in mails() if mail.to == [NEW]]
    _, token = link_of(link)

    assert_error(confirm(encode_uid(outsider), token), 400, "validation_error")
    outsider.refresh_from_db()
    assert outsider.email == "outsider@example.com"


def test_requests_are_rate_limited_per_account(auth_client: APIClient, settings: Any) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "password_reset": "2/h"}}
    assert request_change(auth_client, "a@example.com").status_code == 202
    assert request_change(auth_client, "b@example.com").status_code == 202

    assert_error(request_change(auth_client, "c@example.com"), 429, "throttled")

    assert Event.objects.filter(event=EventType.EMAIL_CHANGE_REQUESTED).count() == 2
