"""JWTs are ours only: stamped with our audience and issuer and refused without them (ASVS 5.0 9.2.3, 9.2.4);
signed with a key production refuses to take short; lifetimes bounded by settings that fail fast."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import assert_error
from config.tests.test_production_settings import run

pytestmark = pytest.mark.django_db


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def resigned(token: str, **changes: Any) -> str:
    payload = {name: value for name, value in {**claims(token), **changes}.items() if value is not None}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


def login(user: User) -> dict[str, Any]:
    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_both_tokens_name_this_api_as_audience_and_taskdesk_as_issuer(user: User) -> None:
    tokens = login(user)

    for kind in ("access", "refresh"):
        assert claims(tokens[kind])["aud"] == "taskdesk-api", kind
        assert claims(tokens[kind])["iss"] == "taskdesk", kind


@pytest.mark.parametrize(
    "changes",
    [{"aud": "another-service"}, {"aud": None}, {"iss": "someone-else"}, {"iss": None}],
    ids=["foreign-audience", "no-audience", "foreign-issuer", "no-issuer"],
)
def test_a_token_signed_with_our_key_for_another_audience_or_issuer_is_refused(
    user: User, changes: dict[str, Any]
) -> None:
    tokens = login(user)

    me = APIClient().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {resigned(tokens['access'], **changes)}")
    assert_error(me, 401, "token_invalid")
    refresh = APIClient().post("/api/v1/auth/refresh", {"refresh": resigned(tokens["refresh"], **changes)})
    assert_error(refresh, 401, "token_invalid")
    # Refused as foreign, not taken for a replay: the session is untouched and its real tokens still work.
    assert Session.objects.get(user=user).ended_at is None
    assert APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}).status_code == 200


PRODUCTION = {"DJANGO_ENV": "production", "ALLOWED_HOSTS": "api.example.com"}
SETUP = ("-c", "import django; django.setup()")


@pytest.mark.parametrize(
    "key",
    ["k3y-" * 12, "a" * 64, "django-insecure-" + "x7Qp2mZr9" * 6],
    ids=["48-characters", "one-character-repeated", "django-insecure-prefix"],
)
def test_production_refuses_a_weak_secret_key(key: str) -> None:
    result = run(*SETUP, SECRET_KEY=key, **PRODUCTION)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be at least 50 random characters" in result.stderr


def test_production_takes_a_50_character_random_key() -> None:
    result = run(*SETUP, SECRET_KEY="Vb3kR9xq2LmZ7tP0wY5nC8sD1fG4hJ6aE2rT9uI3oK7lQ1zX5c", **PRODUCTION)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "limit"),
    [("ACCESS_TOKEN_MINUTES", "61", 60), ("REFRESH_TOKEN_DAYS", "91", 90), ("SESSION_MAX_DAYS", "366", 365)],
)
def test_token_and_session_lifetimes_have_ceilings(name: str, value: str, limit: int) -> None:
    refused = run(*SETUP, **{name: value})
    accepted = run(*SETUP, **{name: str(limit)})

    assert refused.returncode != 0
    assert f"{name} must be at most {limit}, not {value}." in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
