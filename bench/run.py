"""Taskdesk benchmark: the proof of the performance targets (docs/performance.md, "How to run the benchmark").

    make bench                                    # SQLite file + in-process cache
    DATABASE_URL=postgres://.../taskdesk_bench REDIS_URL=redis://127.0.0.1:6379/10 make bench
    make bench ARGS=--scale                       # (or BENCH_SCALE=1) + the growth cases and EXPLAINs

It wipes and migrates its database (a PostgreSQL database's name must contain "bench"; the Redis db is
flushed), seeds it with `manage.py seed_demo` (a benchmark user seeing 1,000 tasks, personal and in three
shared projects, with subtasks, assignees and comments), starts the production gunicorn and, beside it, the
floor (a bare DRF view of 20 constant rows under the same gunicorn config, bench/floor/), and drives each case
with wrk (2 threads, 32 connections; a Python load generator when wrk is missing). It prints one table and
writes bench/results/<timestamp>.json and latest.json.

Environment: BENCH_DURATION (15s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (32), BENCH_WORKERS (2 per CPU),
BENCH_ONLY (e.g. list,me), BENCH_DRIVER (wrk or python), BENCH_REFRESH_MODE (body or cookie), BENCH_SCALE,
BENCH_PAIRED (1: the floor is measured again just before each case, and each share is against that one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loadgen import Load, Result, drive, wrk_available  # noqa: E402

PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench password 2026"
# seed_demo arguments of the benchmark user's world: 4 users, all members of 3 projects; each creates
# `tasks` tasks, half of them in the projects, so bench1 sees tasks/2 personal + 4 x tasks/2 project tasks.
BENCH_SEED = ["--prefix", "bench", "--users", "4", "--projects", "3", "--members", "4", "--seed", "1"]
BENCH_TASKS = 400  # bench1 sees 1,000
VISIBLE = {400: 1_000, 40_000: 100_000}
# Other users' data of the large scale database: 1,000 users x 1,000 tasks, 10,000 projects of 3 members.
OTHERS_SEED = ["--prefix", "other", "--users", "1000", "--tasks", "1000", "--projects", "10000", "--members", "3"]


def env_seconds(name: str, default: str) -> float:
    raw = os.environ.get(name, default).strip().lower().removesuffix("s")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, like 15s") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive")
    return value


DURATION = env_seconds("BENCH_DURATION", "15s")
WARMUP = env_seconds("BENCH_WARMUP", "3s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str((os.cpu_count() or 1) * 2)))
REFRESH_MODE = os.environ.get("BENCH_REFRESH_MODE", "body")
LOGINS_PER_SECOND = 8
# The floor measured again before each case (BENCH_PAIRED=0: once, first).
PAIRED = os.environ.get("BENCH_PAIRED", "1").strip().lower() not in ("0", "false", "no")


# Targets ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    share: float | None = None  # of the floor's req/s
    rps: float | None = None
    p99_ms: float = 50.0
    # Growth cases: the list's latency against its latency at 1,000 tasks.
    ratio: float | None = None

    def describe(self) -> str:
        parts = []
        if self.share is not None:
            parts.append(f"≥{self.share:.0%} floor")
        if self.rps is not None:
            parts.append(f"≥{self.rps:,.0f}/s")
        if self.ratio is not None:
            parts.append(f"≤{self.ratio:g}x list")
        parts.append(f"p99≤{self.p99_ms:g}ms, 0 err")
        return ", ".join(parts)


TARGETS = {
    "list": Target(share=0.24, rps=1300),
    "get": Target(share=0.33, rps=1800),
    "me": Target(share=0.33, rps=1800),
    "create": Target(share=0.16, rps=900),
    "refresh": Target(rps=600),
    "sync": Target(rps=2000),
    "304": Target(rps=2000),
    "list+logins": Target(),
    "list@100k": Target(ratio=1.5),
    "list@1M": Target(ratio=1.5),
}


@dataclass
class Row:
    case: str
    label: str
    result: Result
    target: Target | None
    floor_rps: float | None = None
    floor_cpu_ms: float | None = None
    # Growth cases: this case's latency over the list's at 1,000 tasks (p50, p99).
    ratios: tuple[float, float] | None = None
    note: str = ""
    missed: list[str] = field(default_factory=list)

    def judge(self) -> None:
        target, result = self.target, self.result
        if target is None:
            return
        if target.share is not None and self.share is not None and self.share < target.share:
            self.missed.append("share")
        if target.rps is not None and result.rps < target.rps:
            self.missed.append("req/s")
        if not result.p99_ms <= target.p99_ms:
            self.missed.append("p99")
        if result.errors:
            self.missed.append("errors")
        if not result.requests:
            self.missed.append("no answers")
        if target.ratio is not None and self.ratios is not None and max(self.ratios) > target.ratio:
            self.missed.append("ratio")

    @property
    def share(self) -> float | None:
        return self.result.rps / self.floor_rps if self.floor_rps else None

    @property
    def cost_share(self) -> float | None:
        """The floor's CPU per request over this case's: the share of the floor's rate this case would reach
        with the same CPU, steadier than `share` where the host's CPU comes and goes."""
        if not self.floor_cpu_ms or not self.result.cpu_ms:
            return None
        return self.floor_cpu_ms / self.result.cpu_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "label": self.label,
            **self.result.as_dict(),
            "share_of_floor": round(self.share, 3) if self.share is not None else None,
            "cpu_share_of_floor": round(self.cost_share, 3) if self.cost_share is not None else None,
            "target": self.target.describe() if self.target else None,
            "ratios_p50_p99": self.ratios,
            "met": None if self.target is None else not self.missed,
            "missed": self.missed,
            "note": self.note,
        }


# Processes -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_ENV": "production",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + uuid.uuid4().hex * 2),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        # One client address hammering the API: lift the rate limits, keep the limiters running.
        "THROTTLE_USER": "100000000/min",
        "THROTTLE_ANON": "100000000/min",
        "THROTTLE_LOGIN": "100000/min",
        "THROTTLE_REGISTER": "100000/min",
        # A refresh token presented twice is reuse at once (no grace window): the refresh case's errors show it.
        "REFRESH_GRACE_SECONDS": "0",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


@contextmanager
def gunicorn(name: str, wsgi: str, env: dict[str, str]) -> Iterator[str]:
    """A gunicorn with the production config (config/gunicorn.conf.py) on a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = RESULTS / f"gunicorn-{name}.log"
    with open(log_path, "w") as log:
        command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", wsgi, "-w", str(WORKERS)]
        server = subprocess.Popen(
            [*command, "-b", f"127.0.0.1:{port}", *os.environ.get("BENCH_GUNICORN_ARGS", "").split()],
            cwd=ROOT,
            env={**env, "PROMETHEUS_MULTIPROC_DIR": ""},
            stdout=log,
            stderr=log,
        )
        try:
            wait_until_up(base + ("/floor" if name == "floor" else "/health"), server, log_path)
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def wait_until_up(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log_path}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url}")


# HTTP helpers ------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None, headers: dict[str, str] | None = None
) -> Answer:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:  # urllib raises on 304 and 4xx/5xx
        status, raw, got = error.code, error.read(), dict(error.headers)
    return Answer(status, got, json.loads(raw) if raw else None)


def login(base: str, email: str) -> dict[str, Any]:
    answer = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    if answer.status != 200:
        raise SystemExit(f"login of {email} answered {answer.status}: {answer.body}")
    return dict(answer.body)


def refresh_tokens(base: str, email: str, count: int) -> tuple[str, ...]:
    """`count` sessions of one user (a login each: Argon2, so a few at a time); their refresh tokens."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        pairs = list(pool.map(lambda _: login(base, email), range(count)))
    # Login answers in body mode; the same token is the cookie's value in cookie mode.
    return tuple(pair["refresh"] for pair in pairs)


class Logins:
    """A side thread signing in `rate` times a second through the API (each an Argon2 verification), as users
    arriving while others work; counts what answered 200. At most `in_flight` logins wait at once: when the
    server is slower than the rate, the ticks that find them all waiting are skipped (and counted), rather
    than piling up logins that would hold every worker."""

    def __init__(self, base: str, email: str, rate: float, in_flight: int = 4) -> None:
        self.base, self.email, self.rate = base, email, rate
        self.done = self.failed = self.skipped = 0
        self._slots = threading.BoundedSemaphore(in_flight)
        self._in_flight = in_flight
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def _one(self) -> None:
        try:
            answer = call(self.base, "POST", "/api/v1/auth/login", {"email": self.email, "password": PASSWORD})
        except OSError:
            self.failed += 1
        else:
            if answer.status == 200:
                self.done += 1
            else:
                self.failed += 1
        finally:
            self._slots.release()

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=self._in_flight) as pool:
            tick = time.monotonic()
            while not self._stop.is_set():
                if self._slots.acquire(blocking=False):
                    pool.submit(self._one)
                else:
                    self.skipped += 1
                tick += 1 / self.rate
                self._stop.wait(max(0.0, tick - time.monotonic()))

    def __enter__(self) -> Logins:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.monotonic() - self._started


# Databases -----------------------------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    label: str

    @property
    def vendor(self) -> str:
        return "postgresql" if self.url.startswith(("postgres://", "postgresql://")) else "sqlite"

    @property
    def name(self) -> str:
        parsed = urllib.parse.urlparse(self.url)
        return parsed.path.lstrip("/") if self.vendor == "postgresql" else parsed.path

    def sibling(self, suffix: str) -> Database:
        """Another database beside this one: `<name>_<suffix>` on the same server, or a file beside it."""
        parsed = urllib.parse.urlparse(self.url)
        if self.vendor == "postgresql":
            return Database(parsed._replace(path=f"/{self.name}_{suffix}").geturl(), suffix)
        path = Path(parsed.path)
        return Database(f"sqlite:///{path.with_name(f'{path.stem}-{suffix}{path.suffix}')}", suffix)

    def _admin(self) -> Any:
        import psycopg

        parsed = urllib.parse.urlparse(self.url)
        return psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True)

    def recreate(self) -> None:
        if self.vendor == "sqlite":
            for path in Path(self.name).parent.glob(Path(self.name).name + "*"):
                path.unlink()
            return
        from psycopg import sql

        with self._admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def marker(self) -> str | None:
        """What a previous run seeded here (a comment on the PostgreSQL database, a file beside SQLite's)."""
        if self.vendor == "sqlite":
            path = Path(self.name + ".seeded")
            return path.read_text().strip() if path.exists() and Path(self.name).exists() else None
        with self._admin() as admin:
            row = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
        return row[0] if row else None

    def mark(self, value: str) -> None:
        if self.vendor == "sqlite":
            Path(self.name + ".seeded").write_text(value + "\n")
            return
        from psycopg import sql

        with self._admin() as admin:
            admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(self.name), sql.Literal(value)))


def flush_redis() -> None:
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


def seed(env: dict[str, str], *parts: list[str]) -> list[str]:
    lines = []
    for args in parts:
        started = time.monotonic()
        out = manage(env, "seed_demo", *args, "--password", PASSWORD)
        lines.append(f"{out} ({time.monotonic() - started:.0f}s with start-up)")
        print("  " + lines[-1], flush=True)
    return lines


def prepare_scale(database: Database, parts: list[list[str]]) -> tuple[dict[str, str], str]:
    """A scale database, seeded once: reused while its marker says it holds this data."""
    env = app_env(database.url)
    wanted = "taskdesk-bench " + " ".join(" ".join(args) for args in parts)
    if database.marker() == wanted:
        manage(env, "migrate", "--noinput", "-v0")
        return env, f"{database.label}: reused (seeded by an earlier run)"
    print(f"Seeding {database.label} ({database.name}); done once, reused by later runs ...", flush=True)
    database.recreate()
    manage(env, "migrate", "--noinput", "-v0")
    started = time.monotonic()
    seed(env, *parts)
    database.mark(wanted)
    return env, f"{database.label}: seeded in {time.monotonic() - started:.0f}s"


# Cases -------------------------------------------------------------------------------------------------------


@dataclass
class Context:
    base: str
    host: str
    port: int
    token: str
    task_id: int
    cursor: str
    etag: str
    visible: int


def sync_path(cursor: str) -> str:
    return "/api/v1/sync?cursor=" + urllib.parse.quote(cursor)


def bench_context(base: str) -> Context:
    """Signs the benchmark user in, checks what they see, and takes a task id, a sync cursor and an ETag."""
    token = login(base, "bench1@example.com")["access"]
    listed = call(base, "GET", "/api/v1/tasks/", token=token)
    if listed.status != 200:
        raise SystemExit(f"the task list answered {listed.status}: {listed.body}")
    # A client that synced everything and polls: its cursor has nothing new while nobody writes.
    body = call(base, "GET", "/api/v1/sync?limit=1000", token=token).body
    while body["has_more"]:
        body = call(base, "GET", f"{sync_path(body['cursor'])}&limit=1000", token=token).body
    # A change may come twice while other transactions on the server are in flight (SPEC 4d): poll a little.
    for _ in range(20):
        body = call(base, "GET", sync_path(body["cursor"]), token=token).body
        if not (body["tasks"] or body["projects"]):
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the sync cursor still has changes: the 'nothing new' case would measure a delta")
    parsed = urllib.parse.urlparse(base)
    return Context(
        base=base,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 80,
        token=token,
        task_id=listed.body["results"][0]["id"],
        cursor=body["cursor"],
        etag=listed.headers["ETag"],
        visible=listed.body["count"],
    )


CREATE_BODY = json.dumps(
    {
        "title": "Benchmark task",
        "description": "Something to do, described in a sentence or two.",
        "priority": "high",
        "tags": ["bench", "created"],
        "due_at": "2027-01-15T09:00:00Z",
    }
)


def app_loads(ctx: Context) -> dict[str, tuple[str, Load, int]]:
    """case -> (label, load, the status its requests must answer)."""
    auth = {"Authorization": f"Bearer {ctx.token}"}

    def load(path: str, **extra: Any) -> Load:
        return Load(ctx.host, ctx.port, path, headers={**auth, **extra.pop("headers", {})}, **extra)

    return {
        "list": ("task list, page of 20", load("/api/v1/tasks/"), 200),
        "get": ("task detail", load(f"/api/v1/tasks/{ctx.task_id}"), 200),
        "me": ("auth/me", load("/api/v1/auth/me"), 200),
        "sync": ("sync, nothing new", load(sync_path(ctx.cursor)), 200),
        "304": ("task list, 304", load("/api/v1/tasks/", headers={"If-None-Match": ctx.etag}), 304),
        "list+logins": (f"task list + {LOGINS_PER_SECOND} logins/s", load("/api/v1/tasks/"), 200),
        "create": ("create a task", load("/api/v1/tasks/", method="POST", body=CREATE_BODY), 201),
    }


def probe(load: Load, expected: int) -> None:
    """One request of the case answers what the case is meant to measure."""
    body = json.loads(load.body) if load.body else None
    answer = call(f"http://{load.host}:{load.port}", load.method, load.path, body, headers=load.headers)
    if answer.status != expected:
        raise SystemExit(f"{load.method} {load.path} answered {answer.status}, not {expected}: {answer.body}")


def busy_seconds() -> float | None:
    """CPU time the whole machine has spent working (user, nice, system, irq, softirq: not idle, iowait or time
    stolen by the host), from /proc/stat; None where there is none."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(field) for field in fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def with_cpu(run: Callable[[], Result]) -> Result:
    """`run()`'s result with the machine's CPU time per request: what a request costs, whatever share of the
    CPU the host lets this machine have meanwhile (throughput follows it on a CPU-bound machine)."""
    before = busy_seconds()
    result = run()
    after = busy_seconds()
    if before is None or after is None or not result.requests:
        return result
    return replace(result, cpu_ms=round((after - before) * 1000 / result.requests, 3))


def measure(load: Load, driver: str) -> Result:
    drive(load, driver=driver, seconds=WARMUP, connections=CONNECTIONS)
    return with_cpu(lambda: drive(load, driver=driver, seconds=DURATION, connections=CONNECTIONS))


def refresh_case(ctx: Context, driver: str) -> Result:
    """Fresh sessions for the warm-up and for the run: a chain cut at the end of a run is lost with its token."""
    load = Load(ctx.host, ctx.port, "/api/v1/auth/refresh", method="POST", refresh_mode=REFRESH_MODE)
    headers = {"X-Refresh-Mode": "cookie"} if REFRESH_MODE == "cookie" else {}
    warm = refresh_tokens(ctx.base, "bench3@example.com", CONNECTIONS)
    run = refresh_tokens(ctx.base, "bench3@example.com", CONNECTIONS)
    drive(replace(load, refresh_tokens=warm, headers=headers), driver=driver, seconds=WARMUP, connections=CONNECTIONS)
    return with_cpu(
        lambda: drive(
            replace(load, refresh_tokens=run, headers=headers), driver=driver, seconds=DURATION, connections=CONNECTIONS
        )
    )


# The run -------------------------------------------------------------------------------------------------------

ORDER = ["floor", "list", "get", "me", "sync", "304", "list+logins", "refresh", "create"]


def selected(only: list[str], scale: bool) -> list[str]:
    unknown = [case for case in only if case not in ORDER]
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown case {', '.join(unknown)}; the cases are {', '.join(ORDER)}")
    chosen = [case for case in ORDER if not only or case in only or case == "floor"]
    if scale and "list" not in chosen:
        chosen.insert(1, "list")  # the growth cases are compared with it
    return chosen


def git_rev() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return done.stdout.strip() + ("-dirty" if dirty else "")


def run_app_cases(base: str, floor_base: str, cases: list[str], driver: str) -> tuple[list[Row], Context]:
    ctx = bench_context(base)
    loads = app_loads(ctx)
    floor_load = Load("127.0.0.1", int(urllib.parse.urlparse(floor_base).port or 80), "/floor")
    rows: list[Row] = []
    floor_rps: float | None = None
    floor_cpu: float | None = None
    floors: list[Result] = []
    for case in cases:
        print(f"  {case} ...", flush=True)
        if case == "floor":
            probe(floor_load, 200)
            result = measure(floor_load, driver)
            floor_rps, floor_cpu = result.rps, result.cpu_ms
            floors.append(result)
            rows.append(Row("floor", "floor: bare DRF view, 20 rows", result, None, note="reference"))
            continue
        if PAIRED and floors:
            # The floor again, just before this case: on a machine whose speed drifts (shared or throttled
            # CPUs), each case is judged against the floor of its own minute.
            again = measure(floor_load, driver)
            floors.append(again)
            floor_rps, floor_cpu = again.rps, again.cpu_ms
        if case == "refresh":
            result = refresh_case(ctx, driver)
            rows.append(Row(case, f"refresh ({REFRESH_MODE} mode)", result, TARGETS[case], floor_rps, floor_cpu))
            continue
        label, load, expected = loads[case]
        probe(load, expected)
        if case == "list+logins":
            with Logins(base, "bench2@example.com", LOGINS_PER_SECOND) as logins:
                result = measure(load, driver)
            plain = next((row.result.p99_ms for row in rows if row.case == "list"), None)
            note = f"{logins.done} logins ({logins.done / logins.seconds:.1f}/s), {logins.failed} failed"
            if logins.skipped:
                note += f", {logins.skipped} skipped (the server was slower than {LOGINS_PER_SECOND}/s)"
            if plain is not None:
                note += f"; list alone p99 {plain:g} ms"
            row = Row(case, label, result, TARGETS[case], floor_rps, floor_cpu, note=note)
            row.result.errors += logins.failed
        else:
            row = Row(case, label, measure(load, driver), TARGETS[case], floor_rps, floor_cpu)
        rows.append(row)
    if len(floors) > 1:
        rates = sorted(result.rps for result in floors)
        rows[0].note = (
            f"the floor before each case: {', '.join(f'{rate:,.0f}' for rate in (r.rps for r in floors[1:]))} "
            f"req/s (median {rates[len(rates) // 2]:,.0f}); each share is against the floor measured just before it"
        )
    return rows, ctx


def format_table(rows: list[Row]) -> str:
    header = (
        f"{'case':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'floor':>6} {'cpu ms':>7} {'cpu':>5}  "
        f"{'target':40} met"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        share = f"{row.share:.0%}" if row.share is not None else "-"
        cpu = f"{row.result.cpu_ms:.2f}" if row.result.cpu_ms is not None else "-"
        cost = f"{row.cost_share:.0%}" if row.cost_share is not None else "-"
        met = "-" if row.target is None else ("met" if not row.missed else "MISSED " + ",".join(row.missed))
        r = row.result
        lines.append(
            f"{row.label:32} {r.rps:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7} {share:>6} {cpu:>7} "
            f"{cost:>5}  {row.target.describe() if row.target else '':40} {met}"
        )
        if row.ratios and row.result.requests:
            lines.append(f"{'':32} p50 {row.ratios[0]:.2f}x, p99 {row.ratios[1]:.2f}x the list at 1,000 tasks")
        if row.note and row.note != "reference":
            lines.append(f"{'':32} {row.note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="Also the growth cases (100k and 1M tasks) and EXPLAINs.")
    args = parser.parse_args(argv)
    scale = args.scale or os.environ.get("BENCH_SCALE", "").lower() in ("1", "true", "yes")
    only = [part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()]
    cases = selected(only, scale)
    forced = os.environ.get("BENCH_DRIVER", "").strip()
    if forced not in ("", "wrk", "python"):
        raise SystemExit("BENCH_DRIVER is wrk or python")
    driver = forced or ("wrk" if wrk_available() else "python")
    if driver == "wrk" and not wrk_available():
        raise SystemExit("BENCH_DRIVER=wrk but wrk is not installed (apt-get install wrk)")

    RESULTS.mkdir(parents=True, exist_ok=True)
    database = Database(os.environ.get("DATABASE_URL") or f"sqlite:///{RESULTS / 'bench.sqlite3'}", "1k")
    if database.vendor == "postgresql" and "bench" not in database.name:
        raise SystemExit(f"make bench wipes its database: {database.name!r} must have 'bench' in its name")
    cache = "redis" if os.environ.get("REDIS_URL", "").strip() else "locmem"
    started = datetime.now(UTC)
    header = (
        f"Taskdesk benchmark {started:%Y-%m-%d %H:%M} UTC, git {git_rev()}\n"
        f"driver={driver} ({'wrk 2 threads' if driver == 'wrk' else 'Python load generator'}, {CONNECTIONS} "
        f"connections, {DURATION:g}s after {WARMUP:g}s warm-up); database={database.vendor} cache={cache} "
        f"gunicorn workers={WORKERS}; cpus={os.cpu_count()}"
    )
    print(header, flush=True)

    print(f"Preparing {database.vendor} database {database.name} ...", flush=True)
    database.recreate()
    env = app_env(database.url)
    manage(env, "migrate", "--noinput", "-v0")
    seeding = seed(env, [*BENCH_SEED, "--tasks", str(BENCH_TASKS)])
    flush_redis()
    floor_env = {**app_env(database.url), "DJANGO_SETTINGS_MODULE": "bench.floor.settings"}

    with gunicorn("floor", "bench.floor.wsgi", floor_env) as floor_base, gunicorn("app", "config.wsgi", env) as base:
        rows, ctx = run_app_cases(base, floor_base, cases, driver)
    notes = [f"benchmark user bench1@example.com sees {ctx.visible:,} tasks (before the create case)", *seeding]
    explains = run_scale(database, rows, notes, driver) if scale else []
    for row in rows:
        row.judge()

    table = format_table(rows)
    print()
    print(header)
    print(table)
    for note in notes:
        print("  " + note)
    if explains:
        print(f"EXPLAIN (ANALYZE, BUFFERS) of each case's SQL: {', '.join(explains)}")
    report = {
        "started_at": started.isoformat(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "database": database.vendor,
            "database_name": database.name,
            "cache": cache,
            "workers": WORKERS,
            "driver": driver,
            "connections": CONNECTIONS,
            "duration_s": DURATION,
            "warmup_s": WARMUP,
            "git_rev": git_rev(),
        },
        "rows": [row.as_dict() for row in rows],
        "notes": notes,
        "table": table,
    }
    text = json.dumps(report, indent=2)
    (RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return 0 if all(not row.missed for row in rows) else 1


def run_scale(database: Database, rows: list[Row], notes: list[str], driver: str) -> list[str]:
    """The growth cases: the list with the benchmark user at 100,000 tasks, and at 1,000 tasks among 1M tasks and
    10k projects of other users, each against the list at 1,000 tasks of this run; and the EXPLAIN files."""
    base_list = next(row for row in rows if row.case == "list").result
    floor_rps = rows[0].result.rps
    worlds = {
        "list@100k": (database.sibling("scale100k"), [[*BENCH_SEED, "--tasks", "40000"]], "user at 100k tasks"),
        "list@1M": (
            database.sibling("scale1m"),
            [[*BENCH_SEED, "--tasks", str(BENCH_TASKS)], [*OTHERS_SEED, "--seed", "2"]],
            "1M tasks in tables",
        ),
    }
    explains: dict[str, list[str]] = {}
    for case, (scale_db, parts, label) in worlds.items():
        scale_env, note = prepare_scale(scale_db, parts)
        flush_redis()
        with gunicorn(case.replace("@", "-"), "config.wsgi", scale_env) as scale_base:
            ctx = bench_context(scale_base)
            _, load, expected = app_loads(ctx)["list"]
            probe(load, expected)
            print(f"  {case} ...", flush=True)
            result = measure(load, driver)
        ratios = (
            round(result.p50_ms / base_list.p50_ms, 2) if base_list.p50_ms else float("inf"),
            round(result.p99_ms / base_list.p99_ms, 2) if base_list.p99_ms else float("inf"),
        )
        row = Row(case, f"task list, {label}", result, TARGETS[case], floor_rps, rows[0].result.cpu_ms, ratios=ratios)
        row.note = f"{note}; the user sees {ctx.visible:,} tasks"
        rows.append(row)
        for name, text in explain(scale_env, label).items():
            explains.setdefault(name, []).append(text)
    paths = []
    for name, texts in explains.items():
        path = RESULTS / f"explain-{name}.txt"
        path.write_text("\n\n".join(texts) + "\n")
        paths.append(str(path.relative_to(ROOT)))
    return paths


def explain(env: dict[str, str], label: str) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL the list, detail, sync and 304 requests run (bench/explain.py,
    in a process of its own with this database's settings)."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.explain", "--email", "bench1@example.com", "--password", PASSWORD, "--label", label],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"bench/explain.py failed:\n{done.stdout}{done.stderr}")
    return dict(json.loads(done.stdout))


if __name__ == "__main__":
    sys.exit(main())
