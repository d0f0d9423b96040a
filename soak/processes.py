"""What the soak starts and must stop again: its database, a local SMTP server, gunicorn and the job
workers. Every start is paired with a stop the caller runs in a `finally` (or an ExitStack), so Ctrl+C,
a failure or a failed reconciliation leaves no process and no database behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class SoakError(Exception):
    """Something the soak needs is missing or broken: printed as it is, exit status 2."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# PostgreSQL and Redis ---------------------------------------------------------------------------------


def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise SoakError(f"PostgreSQL is unreachable at {_redacted(url)}: {str(exc).strip()}") from exc


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if not parts.password:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        raise SoakError(f"Redis is unreachable at {_redacted(url)}: {exc}") from exc


@contextlib.contextmanager
def database(url: str | None, *, admin_url: str) -> Iterator[str]:
    """The soak's database: `url` as given (checked, kept), or a new one made on the server of `admin_url`
    and dropped afterwards, whatever happens in between."""
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SoakError(f"the soak runs on PostgreSQL: DATABASE_URL is {_redacted(url)}")
        _connect(url).close()
        yield url
        return
    name = f"taskdesk_soak_{os.getpid()}"
    admin = _connect(admin_url)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# A mail server in this process -------------------------------------------------------------------------


@dataclass
class Mail:
    to: list[str]
    message_id: str
    subject: str
    text: str


@dataclass
class Inbox:
    """Every message the app sent, as an SMTP server on a loopback port received it."""

    messages: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        mail = Mail(
            to=[address.lower() for address in envelope.rcpt_tos],
            message_id=str(parsed.get("Message-ID", "")).strip(),
            subject=str(parsed.get("Subject", "")),
            text=body.get_content() if body is not None else "",
        )
        with self.lock:
            self.messages.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [mail for mail in self.messages if address.lower() in mail.to]

    def all(self) -> list[Mail]:
        with self.lock:
            return list(self.messages)


@contextlib.contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# gunicorn and the job workers -------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except psutil.Error:
        return None


def _stop(process: subprocess.Popen[bytes], *, grace: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Fleet:
    """One gunicorn (config/gunicorn.conf.py, `web` sync workers) and `jobs` `manage.py worker` processes,
    all with the production environment `env`; logs go to files in `logs`."""

    def __init__(self, *, env: dict[str, str], web: int, jobs: int, logs: Path) -> None:
        self.env, self.web, self.jobs, self.logs = env, web, jobs, logs
        self.port = free_port()
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.started_workers = 0
        self._files: list[Any] = []

    def _log(self, name: str) -> Any:
        handle = (self.logs / name).open("ab")
        self._files.append(handle)
        return handle

    def start(self) -> None:
        log = self._log("gunicorn.log")
        self.gunicorn = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi", "-w", str(self.web)],
            cwd=ROOT,
            env={**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl+C reaches the soak only, which stops everything in order
        )
        for _ in range(self.jobs):
            self.workers.append(self._start_worker())
        self._wait_until_up()

    def _start_worker(self) -> subprocess.Popen[bytes]:
        self.started_workers += 1
        log = self._log("worker.log")
        return subprocess.Popen(
            [PYTHON, "manage.py", "worker"], cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.gunicorn is not None
            if self.gunicorn.poll() is not None:
                raise SoakError(f"gunicorn exited with {self.gunicorn.returncode}; see {self.logs / 'gunicorn.log'}")
            for worker in self.workers:
                if worker.poll() is not None:
                    raise SoakError(f"a job worker exited with {worker.returncode}; see {self.logs / 'worker.log'}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2).close()
                if len(self.web_pids()) == self.web:
                    return
            time.sleep(0.3)
        raise SoakError(f"gunicorn did not answer /health within 90 s; see {self.logs / 'gunicorn.log'}")

    def web_pids(self) -> list[int]:
        """The gunicorn workers now alive, oldest first."""
        if self.gunicorn is None:
            return []
        try:
            children = psutil.Process(self.gunicorn.pid).children()
        except psutil.Error:
            return []
        alive = [child for child in children if child.status() != psutil.STATUS_ZOMBIE]
        return [child.pid for child in sorted(alive, key=lambda child: (child.create_time(), child.pid))]

    def job_pids(self) -> list[int]:
        return [worker.pid for worker in self.workers if worker.poll() is None]

    def kill_web(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)  # the master sees the loss and forks a new worker

    def kill_and_restart_worker(self, index: int) -> tuple[int, int]:
        """kill -9 the job worker at `index` and start another in its place; answers (old pid, new pid)."""
        old = self.workers[index]
        old.kill()
        old.wait()
        self.workers[index] = self._start_worker()
        return old.pid, self.workers[index].pid

    def stop(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            _stop(worker, grace=15)
        if self.gunicorn is not None:
            stragglers = []
            with contextlib.suppress(psutil.Error):
                stragglers = psutil.Process(self.gunicorn.pid).children(recursive=True)
            _stop(self.gunicorn, grace=30)
            for child in stragglers:  # only if the master died before its workers
                with contextlib.suppress(psutil.Error):
                    child.kill()
        for handle in self._files:
            handle.close()
