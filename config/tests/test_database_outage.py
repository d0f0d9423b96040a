"""PostgreSQL cut under load, through a proxy between gunicorn and the database: 503s, then service again.

While the database is unreachable every API request answers 503 service_unavailable with Retry-After (no
500, no token issued); once it is back the very next requests succeed, without a restart.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.conf import settings

from accounts.tests import servers
from accounts.tests.servers import call
from config.tests.tcp_proxy import tcp_proxy
from config.tests.test_redis_outage import Load

pytestmark = pytest.mark.postgres
gunicorn_server = servers.gunicorn_server

PASSWORD = "a long passphrase"


def assert_unavailable(answer: tuple[int, dict[str, Any], dict[str, str]]) -> None:
    status, body, headers = answer
    assert (status, body.get("code")) == (503, "service_unavailable"), (status, body)
    assert int(headers["Retry-After"]) > 0
    assert "access" not in body and "refresh" not in body


def test_a_database_outage_answers_503_and_service_resumes_at_once(transactional_db: Any, gunicorn_server: Any) -> None:
    # The test database, reached through the proxy; transactional_db makes what the server writes visible
    # here and empties the tables afterwards.
    db = settings.DATABASES["default"]
    with tcp_proxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)) as proxy:
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        url = f"postgres://{db['USER']}{password}@127.0.0.1:{proxy.port}/{db['NAME']}"
        env = {**os.environ, "DJANGO_ENV": "development", "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        app, _ = gunicorn_server(workers=2, env=env, REDIS_URL=settings.REDIS_URL)

        status, ada, _ = call(app, "POST", "/api/v1/auth/register", {"email": "ada@example.com", "password": PASSWORD})
        assert status == 201, ada
        token = ada["access"]
        assert call(app, "POST", "/api/v1/tasks/", {"title": "before the outage"}, token=token)[0] == 201

        with Load(app, token) as load:
            time.sleep(0.3)
            proxy.cut()
            time.sleep(0.3)
            assert_unavailable(call(app, "GET", "/api/v1/tasks/", token=token))
            assert_unavailable(call(app, "POST", "/api/v1/tasks/", {"title": "during"}, token=token))
            assert_unavailable(
                call(app, "POST", "/api/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD})
            )
            assert call(app, "GET", "/health/db")[0] == 503
            assert call(app, "GET", "/health")[0] == 200
            time.sleep(1)

            proxy.restore()
            # Every worker is back on its next request: connections are health-checked before reuse.
            for _ in range(6):
                status, page, _ = call(app, "GET", "/api/v1/tasks/", token=token)
                assert status == 200, page
            time.sleep(0.3)

        statuses = {status for status, _ in load.results}
        assert statuses <= {200, 503} and 503 in statuses, statuses
        assert page["count"] == 1
        assert call(app, "POST", "/api/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD})[0] == 200
