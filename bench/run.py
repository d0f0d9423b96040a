"""Taskdesk benchmark: the authenticated task list (and a few neighbours) under gunicorn, driven by wrk.

    make bench                                   # SQLite file + in-process cache
    DATABASE_URL=postgres://... REDIS_URL=redis://... make bench     # the production shape

It migrates the database, starts gunicorn with the production settings on a free port, registers a user
through the API, creates tasks through the API, then runs wrk against each endpoint and prints requests/s
and latency percentiles (`BENCH_ONLY` picks some endpoints). Results are also written to bench/results/.
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
WORKERS = os.environ.get("BENCH_WORKERS", str((os.cpu_count() or 1) * 2))
TASKS = int(os.environ.get("BENCH_TASKS", "200"))
# Comma-separated parts of endpoint names to run only those, e.g. BENCH_ONLY="page of 20,304,sync".
ONLY = [part for part in os.environ.get("BENCH_ONLY", "").split(",") if part]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see bench/results/gunicorn.log")
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /health")


def etag_of(base: str, path: str, token: str) -> str:
    request = urllib.request.Request(base + path)
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["ETag"])


def not_modified_status(base: str, path: str, token: str, etag: str) -> int:
    request = urllib.request.Request(base + path)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:  # urllib raises on a 304
        return error.code


def wrk(url: str, token: str, *headers: str) -> dict[str, str]:
    extra = [arg for header in headers for arg in ("-H", header)]
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        [*command, *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {"rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)}  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE)
        result[f"p{pct}"] = match.group(1) if match else "?"
    # wrk counts statuses of 400 and above here (a 304 is not one).
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["errors"] = non2xx.group(1) if non2xx else "0"
    return result


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + uuid.uuid4().hex * 2),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        # The bench is one user hammering one endpoint: lift the per-user limit, keep the limiter running.
        "THROTTLE_USER": "100000000/min",
        "THROTTLE_REGISTER": "1000/min",
        "THROTTLE_LOGIN": "1000/min",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{results_dir / 'bench.sqlite3'}")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(results_dir / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.conf.py",
            "config.wsgi",
            "-w",
            WORKERS,
            "-b",
            f"127.0.0.1:{port}",
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_until_up(base, server)
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        auth = call(base, "POST", "/api/v1/auth/register", {"email": email, "password": "bench passphrase 2026"})
        token = auth["access"]
        statuses = ["pending", "in_progress", "completed"]
        priorities = ["low", "medium", "high", "urgent"]
        for i in range(TASKS):
            call(
                base,
                "POST",
                "/api/v1/tasks/",
                {
                    "title": f"Benchmark task {i}",
                    "description": "Something to do, described in a sentence or two." * 2,
                    "status": statuses[i % 3],
                    "priority": priorities[i % 4],
                    "tags": ["bench", f"group-{i % 5}"],
                },
                token,
            )
        # A client that synced once and polls: its cursor has nothing new (nobody writes during the run).
        cursor = call(base, "GET", "/api/v1/sync?limit=1000", token=token)["cursor"]
        cursor = call(base, "GET", "/api/v1/sync?cursor=" + urllib.parse.quote(cursor), token=token)["cursor"]
        etag = etag_of(base, "/api/v1/tasks/", token)
        if not_modified_status(base, "/api/v1/tasks/", token, etag) != 304:
            raise SystemExit("the list's ETag does not answer 304: the 304 case would measure 200s")
        targets: dict[str, str | tuple[str, ...]] = {
            "task list (page of 20)": "/api/v1/tasks/",
            "task list, 304 (If-None-Match)": ("/api/v1/tasks/", f"If-None-Match: {etag}"),
            "sync, nothing new": "/api/v1/sync?cursor=" + urllib.parse.quote(cursor),
            "task list (page of 100)": "/api/v1/tasks/?page_size=100",
            "task list filtered + ordered": "/api/v1/tasks/?status=pending&ordering=-priority",
            "task detail": "/api/v1/tasks/" + str(call(base, "GET", "/api/v1/tasks/", token=token)["results"][0]["id"]),
            "profile (auth only)": "/api/v1/auth/me",
            "health (no auth, no I/O)": "/health",
        }
        lines = [
            f"Taskdesk benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"database={env['DATABASE_URL'].split('://')[0]} cache={'redis' if env.get('REDIS_URL') else 'locmem'} "
            f"workers={WORKERS} wrk: 2 threads, {CONNECTIONS} connections, {DURATION}; {TASKS} tasks",
            f"{'endpoint':32} {'req/s':>9} {'p50':>9} {'p90':>9} {'p99':>9} {'non-2xx':>8}",
        ]
        for name, target in targets.items():
            if ONLY and not any(part in name for part in ONLY):
                continue
            path, *headers = (target,) if isinstance(target, str) else target
            r = wrk(base + path, token, *headers)
            lines.append(f"{name:32} {r['rps']:>9} {r['p50']:>9} {r['p90']:>9} {r['p99']:>9} {r['errors']:>8}")
        report = "\n".join(lines)
        print(report)
        (results_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.txt").write_text(report + "\n")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
