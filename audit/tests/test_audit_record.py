"""audit_record: what it stores, what it never stores, and that an entry once written stays as written."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from audit.context import RequestContext
from audit.models import AppendOnlyError, Event, EventType
from audit.services import REDACTED, TRUNCATED, audit_record

pytestmark = pytest.mark.django_db

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
META = RequestContext(ip_address="2001:db8::1", user_agent="UA/1", request_id="req-1")


def test_every_event_the_spec_lists_has_a_stable_dotted_name() -> None:
    assert set(EventType.values) >= {
        "auth.registered",
        "auth.login_succeeded",
        "auth.login_failed",
        "auth.locked_out",
        "auth.unlocked",
        "auth.logout",
        "auth.logout_all",
        "auth.token_refreshed",
        "auth.refresh_reuse_detected",
        "auth.session_revoked",
        "auth.password_changed",
        "auth.password_reset_requested",
        "auth.password_reset_completed",
        "auth.email_verification_sent",
        "auth.email_verified",
        "account.profile_updated",
        "account.deleted",
        "account.deactivated",
        "account.activated",
        "account.staff_changed",
        "task.created",
        "task.updated",
        "task.deleted",
        "task.restored",
        "task.bulk_action",
        "task.exported",
    }
    field = Event._meta.get_field("event")
    assert field.max_length is not None
    assert all(len(value) <= field.max_length for value in EventType.values)


def test_it_records_who_what_when_and_where_from(user: User) -> None:
    event = audit_record(event=EventType.PROFILE_UPDATED, user=user, meta=META, details={"fields": ["bio"]})

    event.refresh_from_db()
    assert event.event == "account.profile_updated"
    assert event.user_id == user.pk
    assert event.email == user.email
    assert (event.ip_address, event.user_agent, event.request_id) == ("2001:db8::1", "UA/1", "req-1")
    offset = event.created_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert event.details == {"fields": ["bio"]}


def test_the_email_given_wins_and_no_user_is_kept_as_null(db: Any) -> None:
    event = audit_record(event=EventType.LOGIN_FAILED, user=None, email="who@example.com", meta=META)

    assert (event.user_id, event.email) == (None, "who@example.com")


def test_an_anonymous_user_is_recorded_as_no_user(db: Any) -> None:
    event = audit_record(event=EventType.LOGIN_FAILED, user=AnonymousUser(), email="who@example.com")

    assert event.user_id is None


def test_without_a_request_it_is_a_system_event(user: User) -> None:
    event = audit_record(event=EventType.UNLOCKED, user=user)

    assert (event.ip_address, event.user_agent, event.request_id) == (None, "", "system")


def test_secret_keys_never_reach_the_details(user: User) -> None:
    details = {
        "password": "p1",
        "new_password": "p2",
        "Current-Password": "p3",
        "token": "t1",
        "refresh_token": "t2",
        "access": "t3",
        "refresh": "t4",
        "Authorization": "Bearer t5",
        "reset_link": "https://app/reset?uid=x&token=t6",
        "client_secret": "s1",
        "session_cookie": "c1",
        "nested": {"password": "p4", "kept": 1, "deeper": [{"token": "t7", "ok": True}]},
        "session_id": "0b7c",
        "fields": ["bio"],
    }

    event = audit_record(event=EventType.PROFILE_UPDATED, user=user, meta=META, details=details)

    event.refresh_from_db()
    assert event.details == {
        "nested": {"kept": 1, "deeper": [{"ok": True}]},
        "session_id": "0b7c",
        "fields": ["bio"],
    }


def test_values_that_are_tokens_are_redacted_whatever_their_key(user: User) -> None:
    details = {
        "note": JWT,
        "header": f"Bearer {JWT}",
        "auth": "bearer abc.def",
        "url": f"https://app.example.com/x?t={JWT}",
        "title": "Call the bearer about the bonds",
    }

    event = audit_record(event=EventType.TASK_CREATED, user=user, meta=META, details=details)

    assert event.details == {
        "note": REDACTED,
        "header": REDACTED,
        "auth": REDACTED,
        "url": REDACTED,
        "title": "Call the bearer about the bonds",
    }


def test_user_supplied_strings_are_stored_as_data(db: Any) -> None:
    forged = "x@example.com\r\n2026-11-24 INFO taskdesk.request [forged] GET / 200"
    meta = RequestContext(ip_address=None, user_agent="UA\n<script>alert(1)</script>", request_id="r")

    event = audit_record(event=EventType.LOGIN_FAILED, email=forged, meta=meta, details={"q": "a\nb"})

    event.refresh_from_db()
    assert event.email == forged
    assert event.user_agent == "UA\n<script>alert(1)</script>"
    assert event.details == {"q": "a\nb"}


def test_nul_characters_and_overlong_strings_cannot_break_the_write(db: Any) -> None:
    # PostgreSQL refuses NUL in text and jsonb; columns have lengths. Neither may turn a change into a 500.
    meta = RequestContext(ip_address=None, user_agent="U\x00A" + "x" * 1000, request_id="r" * 500)

    event = audit_record(
        event=EventType.LOGIN_FAILED, email="a\x00b@example.com" + "e" * 400, meta=meta, details={"k\x00": "v\x00"}
    )

    event.refresh_from_db()
    assert event.email.startswith("ab@example.com") and len(event.email) == 254
    assert event.user_agent.startswith("UAx") and len(event.user_agent) == 400
    assert len(event.request_id) == 128
    assert event.details == {"k": "v"}


def test_details_take_json_friendly_values(user: User) -> None:
    event = audit_record(
        event=EventType.TASK_BULK,
        user=user,
        details={"user_id": user.pk, "ids": (1, 2), "ratio": float("nan"), "deep": {"a": {"b": {"c": {}}}}},
    )

    event.refresh_from_db()
    assert event.details == {
        "user_id": str(user.pk),
        "ids": [1, 2],
        "ratio": "nan",
        "deep": {"a": {"b": {"c": TRUNCATED}}},
    }


def test_a_recorded_event_cannot_be_changed_or_deleted_through_the_model(user: User) -> None:
    event = audit_record(event=EventType.LOGIN_SUCCEEDED, user=user, meta=META)

    event.email = "someone@else.example"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    event.refresh_from_db()
    assert event.email == user.email


def test_deleting_the_user_keeps_their_events_with_the_email_of_the_time(user: User) -> None:
    event = audit_record(event=EventType.LOGIN_SUCCEEDED, user=user, meta=META)

    User.objects.filter(pk=user.pk).delete()

    event.refresh_from_db()
    assert (event.user_id, event.email) == (None, "owner@example.com")
