"""Security headers: every answer, API or page, early error or not, tells the browser what it may do with it.

The API's answers run nothing, load nothing and are never framed; the HTML pages (admin, API docs) run only
scripts of this server or the inline script holding the response's nonce. In production, HSTS for a year and
plain HTTP refused on the API (run in a fresh interpreter: settings are read once, at startup).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from config.http.security_headers import API_POLICY
from config.tests.test_production_settings import STRONG_KEY, run

pytestmark = pytest.mark.django_db


def directives(response: Any) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def assert_browser_headers(response: Any) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_every_api_answer_forbids_scripts_plugins_and_framing(auth_client: Any) -> None:
    client = Client()
    answers = {
        "ok": client.get("/health"),
        "not signed in": client.get("/api/v1/auth/me"),
        "signed in": auth_client.get("/api/v1/auth/me"),
        "unknown route": client.get("/no/such/page"),
        "wrong method": client.put("/api/v1/auth/login"),
        "not json": client.post("/api/v1/auth/login", "email=a", content_type="application/x-www-form-urlencoded"),
        # Answered by a middleware before any view: the headers must not depend on reaching one.
        "too large": client.post("/api/v1/auth/login", "x" * (1024 * 1024 + 1), content_type="application/json"),
    }
    expected = {"ok": 200, "not signed in": 401, "signed in": 200, "unknown route": 404}
    expected |= {"wrong method": 405, "not json": 415, "too large": 413}
    for name, response in answers.items():
        assert response.status_code == expected[name], name
        assert response["Content-Security-Policy"] == API_POLICY, name
        policy = directives(response)
        assert policy["default-src"] == "default-src 'none'", name
        assert policy["object-src"] == "object-src 'none'", name
        assert policy["base-uri"] == "base-uri 'none'", name
        assert policy["frame-ancestors"] == "frame-ancestors 'none'", name
        assert_browser_headers(response)
        # No other window may script an API answer opened in a tab. (Swagger UI's page relaxes this for its
        # sign-in pop-ups; API answers never do.)
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/admin/login/"])
def test_the_pages_run_only_this_servers_scripts_and_their_own_nonced_inline_script(path: str) -> None:
    first, second = Client().get(path), Client().get(path)

    assert first.status_code == 200
    assert first["Content-Type"].startswith("text/html")
    assert_browser_headers(first)
    policy = directives(first)
    nonce = re.fullmatch(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{22})'", policy["script-src"])
    assert nonce, policy["script-src"]
    assert policy["default-src"] == "default-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["form-action"] == "form-action 'self'"
    # Every script tag is either a file of this server or inline with exactly this response's nonce.
    for tag in re.findall(r"<script\b[^>]*>", first.content.decode()):
        source = re.search(r'\bsrc="([^"]+)"', tag)
        if source:
            assert source.group(1).startswith("/static/"), tag
        else:
            assert f'nonce="{nonce.group(1)}"' in tag, tag
    # A nonce is good for one response only.
    assert directives(second)["script-src"] != policy["script-src"]


def test_the_swagger_page_starts_with_its_inline_script_allowed() -> None:
    response = Client().get("/api/docs/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])

    assert nonce
    inline = re.findall(r"<script nonce=\"([^\"]+)\">(.*?)</script>", response.content.decode(), re.DOTALL)
    assert len(inline) == 1
    assert inline[0][0] == nonce.group(1)
    assert "SwaggerUIBundle" in inline[0][1]


PRODUCTION = {"DJANGO_ENV": "production", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "testserver"}
# No database is opened on these paths: each answer comes before any query.
PROBE = """
import json, django
django.setup()
from django.test import Client
from django.conf import settings
def answer(response):
    return {"status": response.status_code, "headers": dict(response.headers), "body": response.content.decode()}
print(json.dumps({
    "https_health": answer(Client().get("/health", secure=True)),
    "http_api": answer(Client().get("/api/v1/auth/me")),
    "http_api_post": answer(Client().post("/api/v1/auth/login", {}, content_type="application/json")),
    "https_api": answer(Client().get("/api/v1/auth/me", secure=True)),
    "http_admin": answer(Client().get("/admin/login/")),
    "http_docs": answer(Client().get("/api/docs/")),
    "http_health": answer(Client().get("/health")),
    "cookies": {
        "session_secure": settings.SESSION_COOKIE_SECURE,
        "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
        "session_samesite": settings.SESSION_COOKIE_SAMESITE,
        "csrf_secure": settings.CSRF_COOKIE_SECURE,
    },
}))
"""


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    result = run("-c", PROBE, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_sends_hsts_for_a_year_with_subdomains_over_https(production: dict[str, Any]) -> None:
    health = production["https_health"]

    assert health["status"] == 200
    hsts = health["headers"]["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))  # type: ignore[union-attr]
    assert max_age >= 365 * 24 * 3600
    assert "includeSubDomains" in hsts
    assert production["https_api"]["headers"]["Strict-Transport-Security"] == hsts
    assert production["https_api"]["status"] == 401


def test_production_refuses_the_api_over_plain_http_instead_of_redirecting(production: dict[str, Any]) -> None:
    for name in ("http_api", "http_api_post"):
        answer = production[name]
        assert answer["status"] == 403, name
        assert "Location" not in answer["headers"], name
        body = json.loads(answer["body"])
        assert body["code"] == "https_required"
        assert body["request_id"] == answer["headers"]["X-Request-ID"]
        assert answer["headers"]["Content-Security-Policy"] == API_POLICY


def test_production_still_redirects_the_pages_people_open_and_leaves_health_probes_alone(
    production: dict[str, Any],
) -> None:
    for name in ("http_admin", "http_docs"):
        assert production[name]["status"] == 301, name
        assert production[name]["headers"]["Location"].startswith("https://testserver/"), name
    assert production["http_health"]["status"] == 200


def test_production_admin_cookies_are_secure_http_only_and_same_site(production: dict[str, Any]) -> None:
    assert production["cookies"] == {
        "session_secure": True,
        "session_httponly": True,
        "session_samesite": "Lax",
        "csrf_secure": True,
    }
