"""Real app instances for tests that need more than one process: gunicorn on loopback ports.

`app_instances(**env)` migrates a fresh SQLite file, then starts two gunicorn instances (2 workers each) on
it with the given environment on top of this process's (so they share its Redis when REDIS_URL is set),
and stops them after the test.
"""

from __future__ import annotations

import json
import os
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


def post_json(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


@pytest.fixture
def app_instances(tmp_path: Path) -> Iterator[Callable[..., list[int]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(**overrides: str) -> list[int]:
        env = {
            **os.environ,
            "DJANGO_ENV": "development",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
            "REDIS_URL": settings.REDIS_URL,
            "LOG_LEVEL": "WARNING",
            **overrides,
        }
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr.decode()
        ports = [_free_port(), _free_port()]
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [*SERVE, "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                    cwd=BASE_DIR,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port, process in zip(ports, processes, strict=True):
            _wait_until_up(port, process)
        cache.clear()
        return ports

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
