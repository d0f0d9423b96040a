"""Every kind of token presented where another kind belongs, and forged ones: refused with the SPEC's 401 (or
403 `insufficient_scope` for an API token outside its reach, 400 for a bad sync cursor), never a 500, and
nothing changes.

Kinds: access and refresh JWTs (SPEC 3), the `mfa_token` of a sign-in's first step, personal API tokens
(`tdk_...`, SPEC 3b), sync cursors (SPEC 4d).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.links import email_change_token, email_verification_tokens, encode_uid, password_reset_tokens
from accounts.models import ApiToken, Session, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import assert_error, sid
from accounts.tests.mfa_helpers import T0, enroll, mfa_token_for, second_step, totp_code
from config.tests.attack_world import bearer, fingerprint

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/refresh"
# Every account-side route an API token must not open (SPEC 3b), with a body that would change something.
ACCOUNT_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/auth/me", None),
    ("patch", "/api/v1/auth/me", {"full_name": "Token Holder"}),
    ("delete", "/api/v1/auth/me", {"password": "x"}),
    ("post", "/api/v1/auth/logout", {}),
    ("post", "/api/v1/auth/logout/all", None),
    ("post", "/api/v1/auth/password/change", {"current_password": "x", "new_password": "y" * 12}),
    ("post", "/api/v1/auth/email/resend", None),
    ("post", "/api/v1/auth/email/change", {"new_email": "new@example.com", "password": "x"}),
    ("get", "/api/v1/auth/sessions", None),
    ("get", "/api/v1/auth/tokens", None),
    ("post", "/api/v1/auth/tokens", {"name": "another", "scopes": ["tasks:write"]}),
    ("get", "/api/v1/auth/mfa", None),
    ("post", "/api/v1/auth/mfa/totp/setup", None),
    ("post", "/api/v1/auth/mfa/recovery-codes", {"password": "x"}),
    ("delete", "/api/v1/auth/mfa/totp", {"password": "x"}),
    ("get", "/api/v1/users/", None),
    ("get", "/api/v1/audit/events/", None),
]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(raw: str) -> dict[str, Any]:
    return dict(jwt.decode(raw, options={"verify_signature": False}))


def forgeries(access: str, other_user_id: str) -> dict[str, str]:
    """Tokens an attacker makes out of a real access token."""
    claims = _claims(access)
    header, payload, signature = access.split(".")
    key = str(settings.SIMPLE_JWT["SIGNING_KEY"])
    past = int((timezone.now() - timedelta(minutes=1)).timestamp())
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg none, no dot": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}",
        "other secret": jwt.encode(claims, "not-the-secret-key-at-all-0123456789", algorithm="HS256"),
        "HS512 with the right key": jwt.encode(claims, key, algorithm="HS512"),
        "payload swapped to another user": f"{header}.{_b64({**claims, 'user_id': other_user_id})}.{signature}",
        "signature cut": f"{header}.{payload}.",
        "signature flipped": f"{header}.{payload}.{signature[::-1]}",
        "expired, right key": jwt.encode({**claims, "exp": past}, key, algorithm="HS256"),
        "no session claim, right key": jwt.encode({k: v for k, v in claims.items() if k != "sid"}, key),
        "session claim not a uuid, right key": jwt.encode({**claims, "sid": ["x"]}, key),
        "user claim an object, right key": jwt.encode({**claims, "user_id": {"id": 1}}, key),
        "the other type, right key": jwt.encode(
            {**claims, "token_type": "refresh" if claims["token_type"] == "access" else "access"}, key
        ),
        "two segments": f"{header}.{payload}",
        "not base64": "!!!.@@@.###",
        "huge": "a" * 20_000,
    }


@pytest.fixture
def victim(login_as: Any) -> APIClient:
    """A second signed-in user, whose session must survive everything the first one tries."""
    return login_as(UserFactory(email="victim@example.com"))


def _live(client: APIClient) -> bool:
    return Session.objects.open().filter(pk=sid(client)).exists()


def test_a_refresh_token_is_not_an_access_token(auth_client: APIClient) -> None:
    for path in ("/api/v1/auth/me", "/api/v1/tasks/", "/api/v1/auth/sessions"):
        response = bearer(auth_client.tokens["refresh"]).get(path)  # type: ignore[attr-defined]
        assert_error(response, 401, "token_invalid")
    assert _live(auth_client)


def test_an_access_token_does_not_refresh_in_either_mode(auth_client: APIClient) -> None:
    access = auth_client.tokens["access"]  # type: ignore[attr-defined]
    assert_error(APIClient().post(REFRESH, {"refresh": access}, format="json"), 401, "token_invalid")
    cookie = APIClient()
    cookie.cookies["taskdesk_refresh"] = access
    assert_error(cookie.post(REFRESH, {}, format="json", HTTP_X_REFRESH_MODE="cookie"), 401, "token_invalid")
    assert _live(auth_client)
    # The real refresh token still rotates: the attempts spent nothing.
    refreshed = APIClient().post(REFRESH, {"refresh": auth_client.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]
    assert refreshed.status_code == 200, refreshed.content


def test_an_mfa_token_is_neither_an_access_nor_a_refresh_token_and_survives_the_attempt(
    time_machine: Any, settings: Any, user: Any, login_as: Any
) -> None:
    # Time stands still at the start of a TOTP step; the sign-in's code is the next step's (the enrolment's
    # code cannot be used twice).
    time_machine.move_to(T0, tick=False)
    auth_client = login_as(user)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1000/min"},
    }
    secret, _ = enroll(auth_client)
    mfa_token = mfa_token_for(user.email)
    before = Session.objects.count()

    assert_error(bearer(mfa_token).get("/api/v1/auth/me"), 401, "token_invalid")
    assert_error(bearer(mfa_token).get("/api/v1/tasks/"), 401, "token_invalid")
    assert_error(APIClient().post(REFRESH, {"refresh": mfa_token}, format="json"), 401, "token_invalid")
    assert Session.objects.count() == before

    time_machine.move_to(T0 + timedelta(seconds=30), tick=False)
    assert second_step(mfa_token, totp_code(secret)).status_code == 200


def test_no_other_token_passes_for_an_mfa_token(auth_client: APIClient, user: Any) -> None:
    enroll(auth_client)
    tokens = auth_client.tokens  # type: ignore[attr-defined]
    created = auth_client.post("/api/v1/auth/tokens", {"name": "ci", "scopes": ["tasks:write"]}, format="json")
    before = Session.objects.count()
    for raw in (tokens["access"], tokens["refresh"], created.json()["token"], "mfa_" + "A" * 43, "mfa_"):
        assert_error(second_step(raw, "123456"), 401, "token_invalid")
    assert Session.objects.count() == before


@pytest.fixture
def api_token(auth_client: APIClient) -> str:
    response = auth_client.post(
        "/api/v1/auth/tokens", {"name": "ci", "scopes": ["tasks:read", "projects:read"]}, format="json"
    )
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_ROUTES, ids=[f"{m} {p}" for m, p, _ in ACCOUNT_ROUTES])
def test_an_api_token_opens_no_account_route(
    auth_client: APIClient, api_token: str, method: str, path: str, body: Any
) -> None:
    before = fingerprint()
    response = getattr(bearer(api_token), method)(path, body, format="json")
    assert_error(response, 403, "insufficient_scope")
    assert fingerprint() == before
    assert _live(auth_client)


def test_an_api_token_is_no_refresh_token_in_either_mode(auth_client: APIClient, api_token: str) -> None:
    assert_error(APIClient().post(REFRESH, {"refresh": api_token}, format="json"), 401, "token_invalid")
    cookie = APIClient()
    cookie.cookies["taskdesk_refresh"] = api_token
    assert_error(cookie.post(REFRESH, {}, format="json", HTTP_X_REFRESH_MODE="cookie"), 401, "token_invalid")
    # Logged out with it as the refresh token: the access token's session ends, no other.
    response = auth_client.post("/api/v1/auth/logout", {"refresh": api_token}, format="json")
    assert response.status_code == 204
    assert not _live(auth_client)
    assert bearer(api_token).get("/api/v1/tasks/").status_code == 200


def test_an_api_token_stays_within_its_scopes(api_token: str, user: Any) -> None:
    reader = bearer(api_token)
    assert reader.get("/api/v1/tasks/").status_code == 200
    before = fingerprint()
    for method, path, body in (
        ("post", "/api/v1/tasks/", {"title": "sneaky"}),
        ("post", "/api/v1/projects/", {"name": "sneaky"}),
        ("post", "/api/v1/tasks/bulk/", {"action": "delete", "ids": [1]}),
        ("post", "/api/v1/notifications/read-all", None),
        ("post", f"/api/{user.pk}/tasks/", {"title": "sneaky"}),
    ):
        assert_error(getattr(reader, method)(path, body, format="json"), 403, "insufficient_scope")
    assert fingerprint() == before


def test_a_tasks_only_token_does_not_read_projects_or_sync(auth_client: APIClient) -> None:
    created = auth_client.post("/api/v1/auth/tokens", {"name": "tasks", "scopes": ["tasks:write"]}, format="json")
    tasks_only = bearer(created.json()["token"])
    assert tasks_only.get("/api/v1/tasks/").status_code == 200
    for path in ("/api/v1/projects/", "/api/v1/invitations/", "/api/v1/sync"):
        assert_error(tasks_only.get(path), 403, "insufficient_scope")


def test_another_users_refresh_token_ends_none_of_their_sessions(auth_client: APIClient, victim: APIClient) -> None:
    response = auth_client.post("/api/v1/auth/logout", {"refresh": victim.tokens["refresh"]}, format="json")  # type: ignore[attr-defined]
    assert response.status_code == 204
    assert _live(victim)
    assert victim.get("/api/v1/auth/me").status_code == 200


def test_a_sync_cursor_is_no_token_and_a_token_is_no_cursor(auth_client: APIClient, victim: APIClient) -> None:
    cursor = auth_client.get("/api/v1/sync").json()["cursor"]
    assert_error(bearer(cursor).get("/api/v1/sync"), 401, "token_invalid")
    assert_error(APIClient().post(REFRESH, {"refresh": cursor}, format="json"), 401, "token_invalid")
    tokens = auth_client.tokens  # type: ignore[attr-defined]
    for raw in (tokens["access"], tokens["refresh"], victim.get("/api/v1/sync").json()["cursor"]):
        body = assert_error(auth_client.get("/api/v1/sync", {"cursor": raw}), 400, "validation_error")
        assert list(body["errors"]) == ["cursor"]


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_forged_and_expired_jwts_are_refused_where_they_would_work(
    auth_client: APIClient, victim: APIClient, kind: str
) -> None:
    real = auth_client.tokens[kind]  # type: ignore[attr-defined]
    victim_id = str(_claims(victim.tokens["access"])["user_id"])  # type: ignore[attr-defined]
    before = fingerprint()
    for name, forged in forgeries(real, victim_id).items():
        if kind == "access":
            for method, path in (
                ("get", "/api/v1/auth/me"),
                ("get", "/api/v1/tasks/"),
                ("post", "/api/v1/auth/logout/all"),
            ):
                assert_error(getattr(bearer(forged), method)(path), 401, "token_invalid")
        elif name == "huge":  # longer than any token this API issues: refused by the body's validation
            assert_error(APIClient().post(REFRESH, {"refresh": forged}, format="json"), 400, "validation_error")
        else:
            assert_error(APIClient().post(REFRESH, {"refresh": forged}, format="json"), 401, "token_invalid")
    assert fingerprint() == before
    assert _live(auth_client) and _live(victim)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
        "Bearer tdk_",
        "Bearer tdk_" + "0" * 32 + "_x",
        "Token x",
    ],
)
def test_malformed_authorization_headers_are_a_401_never_a_500(db: Any, header: str) -> None:
    response = APIClient().get("/api/v1/tasks/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401, response.content
    assert response.json()["code"] in {"token_invalid", "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_api_token_of_a_deactivated_user_or_expired_or_revoked_is_a_401(
    auth_client: APIClient, api_token: str, user: Any
) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(bearer(api_token).get("/api/v1/tasks/"), 401, "token_invalid")
    User.objects.filter(pk=user.pk).update(is_active=True)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(bearer(api_token).get("/api/v1/tasks/"), 401, "token_invalid")
    ApiToken.objects.update(expires_at=None, revoked_at=timezone.now())
    assert_error(bearer(api_token).get("/api/v1/tasks/"), 401, "token_invalid")


def _every_route() -> list[tuple[str, str]]:
    """(method, path) of every route of the site outside the admin, ids filled with ones that exist nowhere."""
    calls: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if not pattern.namespace:  # the admin is a session-and-staff console with its own tests
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and pattern.name:
                regex = prefix + str(pattern.pattern)
                path = re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "1", regex).replace("^", "").replace("/?$", "").rstrip("$")
                view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
                methods = [m for m in ("get", "post", "put", "patch", "delete") if view is None or hasattr(view, m)]
                calls.extend((method, "/" + path) for method in (["get"] if view is None else methods))

    walk(get_resolver().url_patterns, "")
    return calls


@pytest.mark.parametrize("token", ["garbage", "deactivated"])
def test_no_route_answers_a_bad_token_with_a_500(auth_client: APIClient, user: Any, token: str) -> None:
    # The documentation pages used to render their template with the token still unread: reading it there
    # raised outside the exception handler.
    raw = "garbage" if token == "garbage" else auth_client.tokens["access"]  # type: ignore[attr-defined]
    User.objects.filter(pk=user.pk).update(is_active=False)
    client = bearer(raw)
    for method, path in _every_route():
        response = getattr(client, method)(path, {}, format="json") if method != "get" else client.get(path)
        # No worker runs beside the tests: the worker's health check rightly answers 503.
        assert response.status_code < 500 or path == "/health/worker", (method, path, response.content[:200])
    for path in ("/api/docs/", "/api/redoc/"):
        assert client.get(path).status_code == 200
    assert_error(client.get("/api/schema/", HTTP_ACCEPT="application/json"), 401, "token_invalid")


def test_one_kind_of_emailed_link_opens_no_other(user: Any, victim: APIClient) -> None:
    other = User.objects.get(email="victim@example.com")
    User.objects.filter(pk=user.pk).update(email_verified=False)
    user.refresh_from_db()
    uid = encode_uid(user)
    reset, verify = password_reset_tokens.make_token(user), email_verification_tokens.make_token(user)
    change = email_change_token(user, "elsewhere@example.com")
    password = user.password
    attempts = [
        ("/api/v1/auth/password/reset/confirm", {"uid": uid, "token": verify}),
        ("/api/v1/auth/password/reset/confirm", {"uid": uid, "token": change[:200]}),
        ("/api/v1/auth/password/reset/confirm", {"uid": encode_uid(other), "token": reset}),
        ("/api/v1/auth/password/reset/confirm", {"uid": uid, "token": victim.tokens["refresh"][:200]}),  # type: ignore[attr-defined]
        ("/api/v1/auth/email/verify", {"uid": uid, "token": reset}),
        ("/api/v1/auth/email/verify", {"uid": encode_uid(other), "token": verify}),
        ("/api/v1/auth/email/change/confirm", {"uid": uid, "token": reset}),
        ("/api/v1/auth/email/change/confirm", {"uid": uid, "token": verify}),
        ("/api/v1/auth/email/change/confirm", {"uid": encode_uid(other), "token": change}),
    ]
    # Each link works where it belongs: the refusals below are not a broken link's.
    assert email_verification_tokens.check_token(user, verify) and password_reset_tokens.check_token(user, reset)
    for path, body in attempts:
        response = APIClient().post(path, {**body, "new_password": "a brand new passphrase"}, format="json")
        error = assert_error(response, 400, "validation_error")
        assert "token" in error["errors"], (path, error)
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.password, fresh.email, fresh.email_verified) == (password, user.email, False)
    assert User.objects.get(pk=other.pk).email == "victim@example.com"
