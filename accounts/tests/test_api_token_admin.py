"""Staff see a user's API tokens on their page and revoke them, through the service, audited with the actor."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services.api_tokens import api_token_create
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import assert_error
from audit.context import SYSTEM
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

# `tdk_`, 32 hex characters of the id, `_`: the secret follows (it may itself hold `_`).
SECRET_AT = len("tdk_") + 32 + 1

USERS = "/admin/accounts/user/"
TOKENS = "/admin/accounts/apitoken/"


def console_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def revoke(console: Client, *tokens: ApiToken) -> Any:
    body = {"action": "revoke_selected", "_selected_action": [str(token.pk) for token in tokens]}
    return console.post(TOKENS, body, follow=True)


def make_token(user: User, name: str = "deploy bot") -> tuple[ApiToken, str]:
    return api_token_create(user=user, name=name, scopes=["tasks:read"], expires_in_days=None, meta=SYSTEM)


def script(raw: str) -> Any:
    return APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_user_page_lists_live_tokens_without_their_secret(staff: User, user: User) -> None:
    token, raw = make_token(user)
    revoked, _ = make_token(user, name="old laptop")
    revoked.revoked_at = revoked.created_at
    revoked.save()

    page = console_for(staff).get(f"{USERS}{user.pk}/change/").content.decode()

    assert "deploy bot" in page and "old laptop" not in page
    assert raw[SECRET_AT:] not in page and token.secret_hash not in page
    detail = console_for(staff).get(f"{TOKENS}{token.pk}/change/").content.decode()
    assert "deploy bot" in detail and token.secret_hash not in detail


def test_staff_revoke_a_token_and_it_is_audited_with_them_as_actor(staff: User, user: User) -> None:
    token, raw = make_token(user)
    assert script(raw).status_code == 200

    page = revoke(console_for(staff), token).content.decode()

    assert "Revoked 1 API token(s)." in page
    assert_error(script(raw), 401, "token_invalid")
    token.refresh_from_db()
    assert token.revoke_reason == "staff"
    event = Event.objects.get(event=EventType.API_TOKEN_REVOKED)
    assert event.user_id == user.pk and event.actor_id == staff.pk
    assert event.details["reason"] == "staff"


def test_a_plain_staff_member_cannot_revoke_a_superusers_token(staff: User) -> None:
    root = cast(User, UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    token, raw = make_token(root)

    page = revoke(console_for(staff), token).content.decode()

    assert "Revoked 0 API token(s)." in page
    assert script(raw).status_code == 200
    refused = Event.objects.get(event=EventType.STAFF_ACTION_REFUSED)
    assert refused.details["action"] == "revoke_api_token"
    # A superuser may.
    assert "Revoked 1 API token(s)." in revoke(console_for(root), token).content.decode()


def test_the_tokens_page_is_read_only(staff: User, user: User) -> None:
    token, _ = make_token(user)
    console = console_for(staff)

    assert console.get(f"{TOKENS}add/").status_code == 403
    assert console.post(f"{TOKENS}{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk, revoked_at=None).exists()
    assert console.get(f"{TOKENS}?state=live").status_code == 200
