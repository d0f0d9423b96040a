"""`python -m soak` (`make soak`): Taskdesk's production configuration under mixed load, its processes
killed every 30 s, then reconciled. Exits 0 when every check held, 1 when one did not, 2 when the soak
could not run (PostgreSQL or Redis unreachable, gunicorn would not start).

    make soak                        # 5 minutes, on a database of its own (made and dropped)
    make soak SECONDS=60             # or SOAK_SECONDS=60
    DATABASE_URL=postgres://... REDIS_URL=redis://... make soak   # an existing database, kept

See docs/operations.md#soak-test for what it does and checks, and the figures of a run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from soak import checks
from soak.load import Recorder, Team
from soak.processes import PYTHON, ROOT, Fleet, Inbox, SoakError, check_redis, database, rss_mb, smtp_server

DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n\n")[0])
    number = os.environ.get
    parser.add_argument("--seconds", type=int, default=int(number("SOAK_SECONDS", "300")), help="load time")
    parser.add_argument("--teams", type=int, default=int(number("SOAK_TEAMS", "6")), help="client threads")
    parser.add_argument("--web", type=int, default=int(number("SOAK_WEB_WORKERS", "3")), help="gunicorn workers")
    parser.add_argument("--jobs", type=int, default=int(number("SOAK_JOB_WORKERS", "2")), help="job workers")
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds between kills")
    parser.add_argument("--rss-growth-mb", type=float, default=float(number("SOAK_RSS_GROWTH_MB", "40")))
    parser.add_argument("--seed", type=int, default=int(number("SOAK_SEED", "0")) or None)
    args = parser.parse_args()
    if args.seconds < 10 or args.teams < 1 or args.web < 2 or args.jobs < 2:
        parser.error("at least 10 seconds, 1 team, 2 gunicorn workers and 2 job workers (one of each is killed)")
    return args


def production_env(*, database_url: str, redis_url: str, smtp_port: int, web: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "soak-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "WEB_CONCURRENCY": str(web),
        "LOG_LEVEL": "WARNING",
        "SENTRY_DSN": "",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        # A few clients do the work of many: lift the limits, keep the limiters (and Redis) in the path.
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_ANON": "1000000/min",
        "THROTTLE_LOGIN": "100000/min",
        "THROTTLE_REGISTER": "100000/min",
        "THROTTLE_INVITATIONS": "100000/hour",
    }
    env.pop("DEBUG", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SoakError(f"migrate failed:\n{done.stderr[-3000:]}")


class Killer(threading.Thread):
    """Every `every` seconds (the first after half of it): kill -9 a gunicorn worker (the master forks
    another) and a job worker (started again here), choosing the moment the job worker holds a job when
    one comes within a few seconds. One gunicorn worker and one job worker are never killed: their memory
    is measured over the whole run."""

    def __init__(self, *, fleet: Fleet, recorder: Recorder, every: float, until: float, spared_web: int) -> None:
        super().__init__(name="killer", daemon=True)
        self.fleet, self.recorder, self.every, self.until, self.spared_web = fleet, recorder, every, until, spared_web
        self.stop = threading.Event()
        self.measured = threading.Event()  # no kill before the workers' memory at the start is taken
        self.web_kills = 0
        self.job_kills = 0
        self.mid_job = 0

    def run(self) -> None:
        from django.db import connections

        try:
            next_kill = time.monotonic() + self.every / 2
            self.measured.wait(self.every)
            while not self.stop.wait(max(0.0, next_kill - time.monotonic())):
                if time.monotonic() >= self.until - 1:
                    return
                self.kill_web()
                self.kill_job_worker()
                next_kill += self.every
        finally:
            connections.close_all()

    def kill_web(self) -> None:
        victims = [pid for pid in self.fleet.web_pids() if pid != self.spared_web]
        if victims:
            self.recorder.kill_at(time.monotonic())
            self.fleet.kill_web(random.choice(victims))
            self.web_kills += 1

    def kill_job_worker(self) -> None:
        from django_tasks_db.models import DBTaskResult

        from config.jobs.models import WorkerHeartbeat

        pid = self.fleet.workers[-1].pid
        deadline = time.monotonic() + 5
        held = None
        while held is None and time.monotonic() < deadline and not self.stop.is_set():
            ids = set(WorkerHeartbeat.objects.filter(pid=pid).values_list("worker_id", flat=True))
            running = DBTaskResult.objects.filter(status="RUNNING").values_list("id", "worker_ids")
            held = next((job_id for job_id, worker_ids in running if worker_ids and worker_ids[-1] in ids), None)
            time.sleep(0 if held else 0.01)
        self.fleet.kill_and_restart_worker(len(self.fleet.workers) - 1)
        self.job_kills += 1
        # Jobs take milliseconds: count only the kills that really cut one short.
        if held is not None and DBTaskResult.objects.filter(pk=held, status="RUNNING").exists():
            self.mid_job += 1


def drain(load_end: datetime, *, timeout: float = 150) -> bool:
    """Waits until no job is running or due and every reminder due during the run is delivered."""
    from django_tasks_db.models import DBTaskResult

    from tasks.models import Reminder

    quiet_since = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # ready(): due now, or queued without a time (django-tasks stores those with the largest date).
        busy = (
            DBTaskResult.objects.running().exists()
            or DBTaskResult.objects.ready().exists()
            or Reminder.objects.filter(next_fire_at__lte=load_end).exists()
        )
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 2:
            return True
        time.sleep(0.5)
    return False


def requests_counted(port: int, *, token: str) -> int:
    """The API requests /metrics says were answered: what every gunicorn worker counted, killed ones too
    (their counts stay in the shared directory), less the probes and scrapes."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
    except OSError:
        return -1  # fails the check, which prints it
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"taskdesk_http_requests_total\{(.*)\} (\S+)$", line)
        if match and not re.search(r'view="(health[^"]*|metrics)"', match.group(1)):
            total += float(match.group(2))
    return int(total)


def memory(fleet: Fleet, *, samples: int = 1) -> dict[int, tuple[str, float | None]]:
    """Each worker's RSS; under load the least of `samples` readings 0.2 s apart, since a login or a
    registration holds Argon2's 100 MB for the moment it hashes, and that is not what the worker keeps."""
    roles = {pid: "gunicorn worker" for pid in fleet.web_pids()} | {pid: "job worker" for pid in fleet.job_pids()}
    taken: dict[int, tuple[str, float | None]] = {pid: (role, rss_mb(pid)) for pid, role in roles.items()}
    for _ in range(samples - 1):
        time.sleep(0.2)
        for pid, (role, least) in taken.items():
            value = rss_mb(pid)
            if value is not None and (least is None or value < least):
                taken[pid] = (role, value)
    return taken


def main() -> int:
    args = arguments()
    seed = args.seed or random.randrange(1, 10**6)
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    check_redis(redis_url)
    logs = Path(tempfile.mkdtemp(prefix="taskdesk-soak-"))
    recorder = Recorder()
    inbox = Inbox()
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(
            database(os.environ.get("DATABASE_URL"), admin_url=os.environ.get("SOAK_POSTGRES", DEFAULT_POSTGRES))
        )
        smtp_port = stack.enter_context(smtp_server(inbox))
        env = production_env(database_url=database_url, redis_url=redis_url, smtp_port=smtp_port, web=args.web)
        print(f"soak: {args.seconds} s, {args.teams} teams, seed {seed}; logs in {logs}", flush=True)
        migrate(env)
        # This process reads the same database (the kill timing, the drain, the reconciliation).
        os.environ.update({**env, "DJANGO_SETTINGS_MODULE": "config.settings"})
        import django

        django.setup()
        from django.db import connections

        fleet = Fleet(env=env, web=args.web, jobs=args.jobs, logs=logs)
        stack.callback(fleet.stop)
        fleet.start()
        since = datetime.now(UTC)
        started = time.monotonic()
        deadline = started + args.seconds
        stop = threading.Event()
        stack.callback(stop.set)
        teams = [
            Team(
                number=n,
                port=fleet.port,
                tag=f"soak{os.getpid()}-{secrets.token_hex(3)}",
                deadline=deadline,
                recorder=recorder,
                inbox=inbox,
                stop=stop,
                rng=random.Random(seed + n),
            )
            for n in range(args.teams)
        ]
        threads = [threading.Thread(target=team.run, name=f"team-{team.number}", daemon=True) for team in teams]
        spared = fleet.web_pids()[0]
        killer = Killer(fleet=fleet, recorder=recorder, every=args.kill_every, until=deadline, spared_web=spared)
        stack.callback(killer.stop.set)
        for thread in threads:
            thread.start()
        killer.start()

        time.sleep(min(10.0, args.seconds / 4))  # the first requests load code and fill caches
        rss_start = memory(fleet, samples=25)
        killer.measured.set()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 60)
        load_seconds = time.monotonic() - started
        load_end = datetime.now(UTC)
        killer.stop.set()
        killer.join(30)
        rss_end = memory(fleet)
        web_alive = len(fleet.web_pids())
        diverged = [problem for team in teams for problem in team.diverged()]
        synced = sum(len(team.replicas) for team in teams)
        counted = requests_counted(fleet.port, token=env["METRICS_TOKEN"])
        print(f"load done after {load_seconds:.0f} s; draining the queue", flush=True)
        drained = drain(load_end)
        fleet.stop()
        connections.close_all()
        results = checks.reconcile(recorder=recorder, inbox=inbox, since=since, load_end=load_end)
        answered = sum(recorder.by_kind.values()) - sum(recorder.killed.values())
        results.append(
            checks.Check(
                "metrics",
                answered <= counted <= answered + sum(recorder.killed.values()),
                f"/metrics counts {counted} API requests answered, by every gunicorn worker, the killed ones "
                f"included; the clients got {answered} answers and {sum(recorder.killed.values())} cut off",
            )
        )
        results.append(
            checks.Check(
                "sync",
                not diverged,
                f"{synced} clients' copies kept by sync equal the task and project lists: "
                + ("yes" if not diverged else "NO: " + "; ".join(diverged[:5])),
            )
        )
        connections.close_all()

    survivors = {pid for pid in rss_start if pid in rss_end}
    grown = [
        pid
        for pid in survivors
        if (rss_start[pid][1] or 0) and (rss_end[pid][1] or 0) - (rss_start[pid][1] or 0) > args.rss_growth_mb
    ]
    report(
        args=args,
        recorder=recorder,
        seconds=load_seconds,
        killer=killer,
        web_alive=web_alive,
        workers_started=fleet.started_workers,
        drained=drained,
        results=results,
        rss=(rss_start, rss_end),
    )
    failed = [check.name for check in results if not check.ok]
    if recorder.errors:
        failed.append("errors")
    if not drained:
        failed.append("drain")
    if web_alive != args.web:
        failed.append("respawn")
    if grown:
        failed.append("memory")
    if failed:
        print(f"\nsoak FAILED: {', '.join(failed)} (the processes' logs are in {logs})")
        return 1
    shutil.rmtree(logs, ignore_errors=True)
    print("\nsoak passed")
    return 0


def report(
    *,
    args: argparse.Namespace,
    recorder: Recorder,
    seconds: float,
    killer: Killer,
    web_alive: int,
    workers_started: int,
    drained: bool,
    results: list[checks.Check],
    rss: tuple[dict[int, tuple[str, float | None]], dict[int, tuple[str, float | None]]],
) -> None:
    total = sum(recorder.by_kind.values())
    print(f"\nTaskdesk soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {seconds:.0f} s of load, {args.teams} teams,")
    print(f"gunicorn with {args.web} workers, {args.jobs} job workers, PostgreSQL and Redis, production settings")
    print(f"\n{'requests':22} {'sent':>7} {'killed':>7} {'retried':>8}")
    for kind, n in sorted(recorder.by_kind.items(), key=lambda item: -item[1]):
        print(f"{kind:22} {n:>7} {recorder.killed[kind]:>7} {recorder.retried[kind]:>8}")
    print(
        f"{'all':22} {total:>7} {sum(recorder.killed.values()):>7} {sum(recorder.retried.values()):>8}"
        f"   {total / seconds:.1f} req/s; errors: {len(recorder.errors)}"
    )
    for error in recorder.errors[:20]:
        print(f"  error: {error}")
    print(
        f"\nkills: {killer.web_kills} gunicorn workers (now {web_alive} of {args.web} alive), "
        f"{killer.job_kills} job workers ({killer.mid_job} in the middle of a job; {workers_started} started in all)"
    )
    start, end = rss
    print(f"\n{'memory (RSS, MB)':22} {'pid':>8} {'start':>8} {'end':>8}")
    for pid in sorted(start.keys() | end.keys()):
        role = (start.get(pid) or end[pid])[0]
        first, last = (start.get(pid, ("", None))[1], end.get(pid, ("", None))[1])
        note = "" if pid in start and pid in end else ("  (killed)" if pid not in end else "  (started during the run)")
        print(f"{role:22} {pid:>8} {_mb(first):>8} {_mb(last):>8}{note}")
    print(f"\nreconciliation{'' if drained else ' (the queue did not drain within 150 s)'}:")
    for check in results:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")


def _mb(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def _interrupt(signum: int, frame: FrameType | None) -> Any:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGINT too, explicitly: a shell starting the soak in the background would have it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        sys.exit(main())
    except SoakError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("soak: interrupted; everything it started is stopped", file=sys.stderr)
        sys.exit(130)
