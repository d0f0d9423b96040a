"""/metrics under gunicorn with the project's config: the figures of every worker, kept when one is killed."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from accounts.tests import servers
from accounts.tests.servers import post_json, worker_pids
from config.tests.test_metrics import value

gunicorn_server = servers.gunicorn_server

TOKEN = "metrics-token-for-the-test"
REQUESTS = 90


def get(port: int, path: str, *, token: str | None = None, scheme: str = "Bearer") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token is not None:
        request.add_header("Authorization", f"{scheme} {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(port: int) -> str:
    status, text = get(port, "/metrics", token=TOKEN)
    assert status == 200, text
    return text


def pids_that_counted(directory: Path) -> set[int]:
    """The processes that wrote counters: prometheus_client names each file after its writer's pid."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob("counter_*.db")}


def test_every_scrape_sums_all_workers_and_a_killed_worker_keeps_its_counts(
    gunicorn_server: Any, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A file left by an earlier run (here: garbage) must be cleared at start, not read as a live worker.
    (metrics_dir / "counter_1.db").write_bytes(b"left over from the last run")
    port, master = gunicorn_server(
        workers=3, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), METRICS_TOKEN=TOKEN, THROTTLE_USER="100000/min"
    )
    status, body, _ = post_json(
        port, "/api/v1/auth/register", {"email": "metrics@example.com", "password": "a long passphrase"}
    )
    assert status == 201, body
    access = body["access"]

    def list_tasks(_: int) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/tasks/", headers={"Authorization": f"Bearer {access}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    # Concurrent clients keep every worker busy, so the requests spread over them.
    with ThreadPoolExecutor(max_workers=9) as pool:
        assert set(pool.map(list_tasks, range(REQUESTS))) == {200}
    served = pids_that_counted(metrics_dir) & worker_pids(master.pid)
    assert len(served) >= 2, f"the requests did not spread over the workers: {served}"

    # Each scrape is answered by whichever worker accepts it, and each shows the whole.
    labels = {"view": "task-list", "method": "GET"}
    for _ in range(6):
        text = scrape(port)
        assert value(text, "taskdesk_http_requests_total", **labels, status="200") == REQUESTS
        assert value(text, "taskdesk_http_request_duration_seconds_count", **labels) == REQUESTS
        # At least one statement each (the page, which checks the session too).
        assert value(text, "taskdesk_db_queries_total", view="task-list") >= REQUESTS
        assert value(text, "taskdesk_logins_total", result="succeeded") == 1

    # kill -9 of a worker that served: gunicorn replaces it, its counts stay.
    victim = max(served)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (victim in worker_pids(master.pid) or len(worker_pids(master.pid)) < 3):
        time.sleep(0.2)
    assert victim not in worker_pids(master.pid) and len(worker_pids(master.pid)) == 3
    for _ in range(4):
        text = scrape(port)
        assert value(text, "taskdesk_http_requests_total", **labels, status="200") == REQUESTS
        assert value(text, "taskdesk_logins_total", result="succeeded") == 1

    assert list_tasks(0) == 200
    assert value(scrape(port), "taskdesk_http_requests_total", **labels, status="200") == REQUESTS + 1


def test_the_token_guards_the_scrape_under_gunicorn(gunicorn_server: Any) -> None:
    port, _ = gunicorn_server(workers=2, METRICS_TOKEN=TOKEN)

    status, body = get(port, "/metrics")
    assert status == 401 and json.loads(body)["code"] == "not_authenticated"
    status, body = get(port, "/metrics", token="not-the-token")
    assert status == 403 and json.loads(body)["code"] == "permission_denied"
    status, body = get(port, "/metrics", token=TOKEN, scheme="Basic")
    assert status == 401
    assert "taskdesk_http_requests_total" in scrape(port)


def test_without_a_configured_directory_gunicorn_makes_one_and_removes_it(gunicorn_server: Any, tmp_path: Path) -> None:
    env = servers.migrated_sqlite(tmp_path / "own.sqlite3")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["TMPDIR"] = str(tmp_path)
    port, master = gunicorn_server(workers=2, env=env, METRICS_TOKEN=TOKEN)
    before = value(scrape(port), "taskdesk_http_requests_total", view="health")  # the start-up probes
    for _ in range(4):
        assert get(port, "/health")[0] == 200
    made = list(tmp_path.glob("taskdesk-metrics-*"))
    assert len(made) == 1
    assert value(scrape(port), "taskdesk_http_requests_total", view="health") == before + 4

    servers.stop([master])
    assert not made[0].exists()
