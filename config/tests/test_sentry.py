"""Error tracking through the real Sentry SDK, to a local endpoint that receives its envelopes over HTTP.

The DSN points at 127.0.0.1; the server below records what the SDK posts to /api/<project>/envelope/, and
the tests read the events out of it: the request id is there, the password, tokens, cookies and body are not.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD
from config.http import health
from config.http.sentry import init_sentry

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
SECRET_PASSWORD = "correct horse battery staple 42"
REQUEST_ID = "req-for-the-error-report-1"


class Envelopes:
    """What the SDK posted: the raw envelopes (decompressed) and the events in them."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.paths: list[str] = []
        self.arrived = threading.Event()

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.raw:
            lines = envelope.split("\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


def receiver(envelopes: Envelopes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            envelopes.paths.append(self.path)
            envelopes.raw.append(body.decode())
            envelopes.arrived.set()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def sentry() -> Iterator[Envelopes]:
    envelopes = Envelopes()
    server = receiver(envelopes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    init_sentry(dsn=f"http://public@127.0.0.1:{server.server_address[1]}/1", environment="test")
    try:
        yield envelopes
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init()  # no DSN: reporting off again for the tests that follow
        server.shutdown()
        server.server_close()


def through_wsgi(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict[str, Any]]:
    """One request through Django's WSGI handler, as gunicorn calls it (where the SDK reads the request from).

    Like Django's test client, it keeps the test's database connection open across the request.
    """
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **{"HTTP_" + name.upper(): value for name, value in headers.items()},
    }
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = WSGIHandler()(environ, start_response)
        content = b"".join(chunks)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0]), json.loads(content)


def reported(envelopes: Envelopes) -> dict[str, Any]:
    sentry_sdk.flush(timeout=5)
    assert envelopes.arrived.wait(5), "no envelope reached the local endpoint"
    events = envelopes.events
    assert len(events) == 1, events
    return events[0]


def test_an_unexpected_error_in_an_api_view_is_reported_with_the_request_id_and_no_secret(
    sentry: Envelopes, user: Any, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in = login_as(user)
    access, refresh = signed_in.tokens["access"], signed_in.tokens["refresh"]

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the sign-in broke unexpectedly")

    monkeypatch.setattr("accounts.services.signin.user_login", broken)
    status, body = through_wsgi(
        "POST",
        "/api/v1/auth/login?token=" + refresh,
        json.dumps({"email": user.email, "password": SECRET_PASSWORD, "refresh": refresh}).encode(),
        authorization=f"Bearer {access}",
        cookie=f"taskdesk_refresh={refresh}",
        x_request_id=REQUEST_ID,
    )
    assert status == 500
    assert body == {
        "detail": "An unexpected error occurred.",
        "code": "server_error",
        "request_id": REQUEST_ID,
    }

    event = reported(sentry)
    assert set(sentry.paths) == {"/api/1/envelope/"}
    assert event["tags"]["request_id"] == REQUEST_ID
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/v1/auth/login")
    assert "authorization" not in {name.lower() for name in event["request"]["headers"]}
    raw = "".join(sentry.raw)
    for secret in (SECRET_PASSWORD, access, refresh, PASSWORD, user.email):
        assert secret not in raw
    assert "data" not in event["request"] and "cookies" not in event["request"]


def test_an_unexpected_error_outside_drf_is_reported_too(sentry: Envelopes, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(names: list[str]) -> Any:
        raise RuntimeError("the health report broke")

    monkeypatch.setattr(health, "run", broken)
    status, body = through_wsgi("GET", "/health/db", x_request_id=REQUEST_ID)
    assert status == 500
    assert body["code"] == "server_error"

    event = reported(sentry)
    assert event["tags"]["request_id"] == REQUEST_ID
    assert event["exception"]["values"][-1]["value"] == "the health report broke"


def test_expected_errors_are_not_reported(sentry: Envelopes, api_client: APIClient, user: Any) -> None:
    api_client.post("/api/v1/auth/login", {"email": user.email, "password": "wrong"}, format="json")
    api_client.get("/api/v1/tasks/")
    api_client.get("/no/such/page")
    sentry_sdk.flush(timeout=5)
    assert sentry.events == []


def test_settings_turn_reporting_on_only_with_a_dsn() -> None:
    probe = "import django; django.setup(); import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("SENTRY_DSN", None)
    off = subprocess.run([sys.executable, "-c", probe], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    on = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env={**env, "SENTRY_DSN": "http://public@127.0.0.1:9/1"},
        capture_output=True,
        text=True,
    )
    assert (off.stdout.strip(), on.stdout.strip()) == ("False", "True"), (off.stderr, on.stderr)
