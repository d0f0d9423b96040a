"""Real app instances for tests that need more than one process: gunicorn on loopback ports.

`app_instances(**env)` migrates a fresh SQLite file, then starts two gunicorn instances (2 workers each) on
it with the given environment on top of this process's (so they share its Redis when REDIS_URL is set),
and stops them after the test. `gunicorn_server(workers=..., **env)` starts one instance, with the
project's config/gunicorn.conf.py, and gives its port and process (for tests that kill its workers).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

BASE_DIR = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not come up in {timeout}s")


def call(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, *, token: str | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One JSON request; answers (status, body, headers) whatever the status."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def post_json(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    return call(port, "POST", path, body)


def migrated_sqlite(path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a server on a freshly migrated SQLite file at `path`."""
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{path}",
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env, capture_output=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stderr.decode()
    return env


def serve(env: dict[str, str], *, workers: int = 2, log: Path | None = None) -> tuple[int, subprocess.Popen[bytes]]:
    port = _free_port()
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [*SERVE, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=BASE_DIR,
        env=env,
        stdout=output,
        stderr=output,
    )
    return port, process


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def worker_pids(master: int) -> set[int]:
    """The pids of the gunicorn workers of this master (its children), read from /proc."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.add(int(stat.parent.name))
    return pids


@pytest.fixture
def app_instances(tmp_path: Path) -> Iterator[Callable[..., list[int]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(**overrides: str) -> list[int]:
        env = migrated_sqlite(tmp_path / "shared.sqlite3", **overrides)
        ports = []
        for _ in range(2):
            port, process = serve(env)
            ports.append(port)
            processes.append(process)
        for port, process in zip(ports, processes, strict=True):
            _wait_until_up(port, process)
        cache.clear()
        return ports

    try:
        yield start
    finally:
        stop(processes)


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[Callable[..., tuple[int, subprocess.Popen[bytes]]]]:
    """Starts one gunicorn instance on a fresh SQLite file; `env` goes on top of this process's environment."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        *, workers: int = 2, env: dict[str, str] | None = None, **overrides: str
    ) -> tuple[int, subprocess.Popen[bytes]]:
        base = env if env is not None else migrated_sqlite(tmp_path / "server.sqlite3", **overrides)
        port, process = serve({**base, **overrides}, workers=workers, log=tmp_path / "gunicorn.log")
        processes.append(process)
        _wait_until_up(port, process)
        return port, process

    try:
        yield start
    finally:
        stop(processes)
