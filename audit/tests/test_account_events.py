"""Every account action records exactly its audit events, with who, where from and which request, and
no secret; and an action whose transaction rolls back records nothing and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts.links import email_verification_tokens, encode_uid, password_reset_tokens
from accounts.models import Session, User
from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import Event
from audit.services import audit_event, audit_record
from audit.tests.helpers import Origin, assert_event, assert_no_secrets, call, events_of, patch_accounts_audit

NEW_PASSWORD = "a different long passphrase"

pytestmark = pytest.mark.django_db


@pytest.fixture
def origin() -> Origin:
    return Origin()


@pytest.fixture
def member(db: Any) -> Any:
    return UserFactory(email="member@example.com", full_name="Mia Member", email_verified=False)


def sign_in(user: User, origin: Origin, password: str = PASSWORD) -> tuple[APIClient, dict[str, Any]]:
    client = APIClient()
    response = call(
        client,
        "post",
        "/api/v1/auth/login",
        {"email": user.email, "password": password},
        origin=origin,
        rid=origin.rid(),
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client, tokens


def session_of(user: User) -> Session:
    return Session.objects.filter(user=user).latest("created_at")


# Sign-up and sign-in ---------------------------------------------------------------------------------


def test_register_records_registered_login_succeeded_and_verification_sent(origin: Origin) -> None:
    rid = origin.rid()
    password = "a long passphrase for ada"
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/register",
        {"email": "Ada@Example.com", "password": password, "full_name": "Ada"},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 201
    user = User.objects.get(email="ada@example.com")
    session = session_of(user)
    registered, login, sent = events_of(rid)
    common: dict[str, Any] = {"user": user, "email": "ada@example.com", "origin": origin, "request_id": rid}
    assert_event(registered, type="auth.registered", details={}, **common)
    assert_event(login, type="auth.login_succeeded", details={"session_id": str(session.pk)}, **common)
    assert_event(sent, type="auth.email_verification_sent", details={}, **common)
    assert_no_secrets([registered, login, sent], password, response.json()["access"], response.json()["refresh"])


def test_a_login_records_login_succeeded_with_its_session(member: User, origin: Origin) -> None:
    rid = origin.rid()
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/login",
        {"email": "MEMBER@example.com", "password": PASSWORD},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 200
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.login_succeeded",
        user=member,
        email="member@example.com",
        origin=origin,
        request_id=rid,
        details={"session_id": str(session_of(member).pk)},
    )
    assert_no_secrets([event], PASSWORD, response.json()["access"], response.json()["refresh"])


def test_a_wrong_password_records_login_failed_against_the_account(member: User, origin: Origin) -> None:
    rid = origin.rid()
    wrong = "not the password at all"
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/login",
        {"email": "member@example.com", "password": wrong},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 401
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.login_failed",
        user=member,
        email="member@example.com",
        origin=origin,
        request_id=rid,
        details={},
    )
    assert_no_secrets([event], wrong)
    assert not Session.objects.filter(user=member).exists()


def test_an_unknown_email_records_login_failed_with_the_email_tried_and_no_user(db: Any, origin: Origin) -> None:
    rid = origin.rid()
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/login",
        {"email": "Nobody@Example.com", "password": "whatever it is"},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 401
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.login_failed",
        user=None,
        email="nobody@example.com",
        origin=origin,
        request_id=rid,
        details={},
    )


def test_a_newline_in_the_email_tried_is_stored_as_data(db: Any, origin: Origin) -> None:
    rid = origin.rid()
    forged = "x@example.com\n2026-11-24 07:00:00,000 INFO taskdesk.request [forged] GET / 200"
    call(
        APIClient(),
        "post",
        "/api/v1/auth/login",
        {"email": forged, "password": "whatever it is"},
        origin=origin,
        rid=rid,
    )

    (event,) = events_of(rid)
    assert event.email == forged.lower()


# Tokens and sessions ---------------------------------------------------------------------------------


def test_a_refresh_records_token_refreshed(member: User, origin: Origin) -> None:
    _, tokens = sign_in(member, origin)
    rid = origin.rid()
    response = call(APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin=origin, rid=rid)

    assert response.status_code == 200
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.token_refreshed",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"session_id": str(session_of(member).pk)},
    )
    assert_no_secrets(
        [event], tokens["refresh"], tokens["access"], response.json()["refresh"], response.json()["access"]
    )


def test_reusing_a_rotated_refresh_token_records_refresh_reuse_detected(
    member: User, origin: Origin, settings: Any
) -> None:
    settings.REFRESH_GRACE_SECONDS = 0
    _, tokens = sign_in(member, origin)
    call(APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin=origin, rid=origin.rid())
    rid = origin.rid()

    response = call(APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin=origin, rid=rid)

    assert response.status_code == 401
    assert response.json()["code"] == "token_reused"
    (event,) = events_of(rid)
    session = session_of(member)
    assert session.ended_at is not None
    assert_event(
        event,
        type="auth.refresh_reuse_detected",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"session_id": str(session.pk)},
    )
    assert_no_secrets([event], tokens["refresh"])


def test_a_logout_records_logout_for_its_session(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    rid = origin.rid()
    response = call(client, "post", "/api/v1/auth/logout", {"refresh": tokens["refresh"]}, origin=origin, rid=rid)

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.logout",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"session_id": str(session_of(member).pk)},
    )
    assert_no_secrets([event], tokens["refresh"], tokens["access"])


def test_logout_all_records_logout_all_with_the_count_of_sessions_ended(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    sign_in(member, origin)
    rid = origin.rid()
    response = call(client, "post", "/api/v1/auth/logout/all", origin=origin, rid=rid)

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.logout_all",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"sessions_ended": 2},
    )
    assert_no_secrets([event], tokens["access"])


def test_revoking_a_session_records_session_revoked(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    sign_in(member, origin)
    other = session_of(member)
    rid = origin.rid()
    response = call(client, "delete", f"/api/v1/auth/sessions/{other.pk}", origin=origin, rid=rid)

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.session_revoked",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"session_id": str(other.pk)},
    )
    assert_no_secrets([event], tokens["access"])


# Passwords -------------------------------------------------------------------------------------------


def test_a_password_change_records_password_changed(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    sign_in(member, origin)
    rid = origin.rid()
    response = call(
        client,
        "post",
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.password_changed",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"sessions_ended": 1},
    )
    assert_no_secrets([event], PASSWORD, NEW_PASSWORD, tokens["access"])


def test_a_reset_request_records_password_reset_requested(
    member: User, origin: Origin, mailoutbox: Any, run_jobs: Callable[[], int]
) -> None:
    rid = origin.rid()
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/password/reset",
        {"email": "member@example.com"},
        origin=origin,
        rid=rid,
    )
    run_jobs()

    assert response.status_code == 202
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.password_reset_requested",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"account_found": True},
    )
    (message,) = mailoutbox
    link = next(line for line in message.body.splitlines() if "token=" in line).strip()
    token = link.split("token=")[1]
    assert_no_secrets([event], link, token)


def test_a_reset_request_for_an_unknown_email_is_recorded_without_a_user(db: Any, origin: Origin) -> None:
    rid = origin.rid()
    response = call(
        APIClient(), "post", "/api/v1/auth/password/reset", {"email": "ghost@example.com"}, origin=origin, rid=rid
    )

    assert response.status_code == 202
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.password_reset_requested",
        user=None,
        email="ghost@example.com",
        origin=origin,
        request_id=rid,
        details={"account_found": False},
    )


def test_a_reset_confirmation_records_password_reset_completed(member: User, origin: Origin) -> None:
    sign_in(member, origin)
    # The link is made after that login: a reset token also dies with a new login.
    member.refresh_from_db()
    uid, token = encode_uid(member), password_reset_tokens.make_token(member)
    rid = origin.rid()
    response = call(
        APIClient(),
        "post",
        "/api/v1/auth/password/reset/confirm",
        {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.password_reset_completed",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"sessions_ended": 1},
    )
    assert_no_secrets([event], token, NEW_PASSWORD)


# Email verification ----------------------------------------------------------------------------------


def test_resending_the_verification_records_email_verification_sent(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    rid = origin.rid()
    response = call(client, "post", "/api/v1/auth/email/resend", origin=origin, rid=rid)

    assert response.status_code == 202
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.email_verification_sent",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={},
    )
    assert_no_secrets([event], tokens["access"])


def test_verifying_the_email_records_email_verified(member: User, origin: Origin) -> None:
    uid, token = encode_uid(member), email_verification_tokens.make_token(member)
    rid = origin.rid()
    response = call(
        APIClient(), "post", "/api/v1/auth/email/verify", {"uid": uid, "token": token}, origin=origin, rid=rid
    )

    assert response.status_code == 204
    (event,) = events_of(rid)
    assert_event(
        event,
        type="auth.email_verified",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={},
    )
    assert_no_secrets([event], token)


# Profile and account ---------------------------------------------------------------------------------


def test_a_profile_update_records_profile_updated_with_the_fields_changed(member: User, origin: Origin) -> None:
    client, _ = sign_in(member, origin)
    rid = origin.rid()
    response = call(
        client,
        "patch",
        "/api/v1/auth/me",
        {"bio": "Hello\nthere", "full_name": "Mia Member"},
        origin=origin,
        rid=rid,
    )

    assert response.status_code == 200
    (event,) = events_of(rid)
    assert_event(
        event,
        type="account.profile_updated",
        user=member,
        email=member.email,
        origin=origin,
        request_id=rid,
        details={"fields": ["bio"]},
    )


def test_deleting_the_account_records_account_deleted_and_keeps_the_history(member: User, origin: Origin) -> None:
    client, tokens = sign_in(member, origin)
    user_id = member.pk
    rid = origin.rid()
    response = call(client, "delete", "/api/v1/auth/me", {"password": PASSWORD}, origin=origin, rid=rid)

    assert response.status_code == 204
    assert not User.objects.filter(pk=user_id).exists()
    (event,) = events_of(rid)
    assert_event(
        event,
        type="account.deleted",
        user=None,
        email="member@example.com",
        origin=origin,
        request_id=rid,
        details={"user_id": str(user_id)},
    )
    assert_no_secrets([event], PASSWORD, tokens["access"])
    # The user's earlier events stay, with the email of the time and no user.
    login = Event.objects.get(event="auth.login_succeeded", email="member@example.com")
    assert login.user_id is None


# Rollback: an event exists exactly when its change committed -----------------------------------------


class Boom(Exception):
    pass


def raise_after_recording(**kwargs: Any) -> Any:
    audit_record(**kwargs)
    raise Boom("the transaction fails after the event was recorded")


@pytest.fixture
def failing_audit() -> Any:
    with patch_accounts_audit(side_effect=raise_after_recording) as patched:
        yield patched


def _act_and_expect_nothing_recorded(client: APIClient, method: str, path: str, data: Any, origin: Origin) -> None:
    rid = origin.rid()
    before = Event.objects.count()
    response = call(client, method, path, data, origin=origin, rid=rid)
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert Event.objects.count() == before
    assert events_of(rid) == []


def test_a_register_that_rolls_back_records_nothing_and_creates_no_user(
    db: Any, origin: Origin, failing_audit: Any
) -> None:
    _act_and_expect_nothing_recorded(
        APIClient(),
        "post",
        "/api/v1/auth/register",
        {"email": "ada@example.com", "password": "a long passphrase"},
        origin,
    )
    assert failing_audit.called
    assert not User.objects.filter(email="ada@example.com").exists()


def test_a_login_that_rolls_back_records_nothing_and_opens_no_session(member: User, origin: Origin) -> None:
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(
            APIClient(), "post", "/api/v1/auth/login", {"email": member.email, "password": PASSWORD}, origin
        )
    assert not Session.objects.filter(user=member).exists()
    member.refresh_from_db()
    assert member.last_login is None


def test_a_failed_login_that_rolls_back_records_nothing(member: User, origin: Origin, failing_audit: Any) -> None:
    _act_and_expect_nothing_recorded(
        APIClient(), "post", "/api/v1/auth/login", {"email": member.email, "password": "wrong password!"}, origin
    )


@pytest.mark.django_db(transaction=True)  # a statement that fails must not abort a test-wide transaction
def test_a_refresh_that_rolls_back_records_nothing_and_does_not_rotate(member: User, origin: Origin) -> None:
    _, tokens = sign_in(member, origin)
    jti = session_of(member).refresh_jti

    def unstorable(**kwargs: Any) -> Any:
        # The one-statement rotation (PostgreSQL) writes its event in the UPDATE's statement: an event the table
        # refuses (a request id over its 128 characters) fails the whole statement.
        event = audit_event(**kwargs)
        event.request_id = "r" * 200
        return event

    with (
        patch_accounts_audit(side_effect=raise_after_recording),
        mock.patch("accounts.services.sessions.audit_event", side_effect=unstorable),
    ):
        _act_and_expect_nothing_recorded(
            APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin
        )
    assert session_of(member).refresh_jti == jti


def test_a_reuse_detection_that_rolls_back_records_nothing_and_ends_nothing(
    member: User, origin: Origin, settings: Any
) -> None:
    settings.REFRESH_GRACE_SECONDS = 0
    _, tokens = sign_in(member, origin)
    call(APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin=origin, rid=origin.rid())
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(
            APIClient(), "post", "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, origin
        )
    assert session_of(member).ended_at is None


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/api/v1/auth/logout", {}),
        ("post", "/api/v1/auth/logout/all", None),
    ],
)
def test_a_logout_that_rolls_back_records_nothing_and_ends_no_session(
    member: User, origin: Origin, method: str, path: str, data: Any
) -> None:
    client, _ = sign_in(member, origin)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(client, method, path, data, origin)
    assert session_of(member).ended_at is None


def test_a_session_revocation_that_rolls_back_records_nothing(member: User, origin: Origin) -> None:
    client, _ = sign_in(member, origin)
    sign_in(member, origin)
    other = session_of(member)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(client, "delete", f"/api/v1/auth/sessions/{other.pk}", None, origin)
    other.refresh_from_db()
    assert other.ended_at is None


def test_a_password_change_that_rolls_back_records_nothing_and_keeps_the_password(member: User, origin: Origin) -> None:
    client, _ = sign_in(member, origin)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(
            client,
            "post",
            "/api/v1/auth/password/change",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            origin,
        )
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_a_reset_request_that_rolls_back_records_nothing_and_sends_nothing(
    member: User, origin: Origin, failing_audit: Any, mailoutbox: Any, run_jobs: Callable[[], int]
) -> None:
    _act_and_expect_nothing_recorded(
        APIClient(), "post", "/api/v1/auth/password/reset", {"email": member.email}, origin
    )
    assert not DBTaskResult.objects.exists()
    assert run_jobs() == 0
    assert mailoutbox == []


def test_a_reset_confirmation_that_rolls_back_records_nothing_and_keeps_the_password(
    member: User, origin: Origin, failing_audit: Any
) -> None:
    uid, token = encode_uid(member), password_reset_tokens.make_token(member)
    _act_and_expect_nothing_recorded(
        APIClient(),
        "post",
        "/api/v1/auth/password/reset/confirm",
        {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
        origin,
    )
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_a_verification_resend_that_rolls_back_records_nothing_and_sends_nothing(
    member: User, origin: Origin, mailoutbox: Any, run_jobs: Callable[[], int]
) -> None:
    client, _ = sign_in(member, origin)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(client, "post", "/api/v1/auth/email/resend", None, origin)
    assert not DBTaskResult.objects.exists()
    assert run_jobs() == 0
    assert mailoutbox == []


def test_a_verification_that_rolls_back_records_nothing_and_leaves_the_email_unverified(
    member: User, origin: Origin, failing_audit: Any
) -> None:
    uid, token = encode_uid(member), email_verification_tokens.make_token(member)
    _act_and_expect_nothing_recorded(
        APIClient(), "post", "/api/v1/auth/email/verify", {"uid": uid, "token": token}, origin
    )
    member.refresh_from_db()
    assert member.email_verified is False


def test_a_profile_update_that_rolls_back_records_nothing_and_changes_nothing(member: User, origin: Origin) -> None:
    client, _ = sign_in(member, origin)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(client, "patch", "/api/v1/auth/me", {"bio": "changed"}, origin)
    member.refresh_from_db()
    assert member.bio == ""


def test_an_account_deletion_that_rolls_back_records_nothing_and_keeps_the_account(
    member: User, origin: Origin
) -> None:
    client, _ = sign_in(member, origin)
    with patch_accounts_audit(side_effect=raise_after_recording):
        _act_and_expect_nothing_recorded(client, "delete", "/api/v1/auth/me", {"password": PASSWORD}, origin)
    assert User.objects.filter(pk=member.pk).exists()
