"""The two load drivers of `make bench`: wrk when it is installed, else a Python load generator.

Both take a `Load` (one request repeated, or a refresh chain per connection) and answer a `Result` with the
same fields, so the table does not depend on which one ran.

The Python generator: several processes (the GIL would make one process the bottleneck), each running one
thread per connection, each thread with one keep-alive `http.client` connection sending its next request
when the previous answer is read (as wrk does). Its own cost is higher than wrk's, so its absolute figures
are lower on a small machine; the floor, measured by the same driver in the same run, makes the shares
comparable.
"""

from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
REFRESH_PATH = "/api/v1/auth/refresh"
REFRESH_COOKIE = "taskdesk_refresh"
TOKEN_IN_BODY = re.compile(r'"refresh"\s*:\s*"([^"]+)"')
TOKEN_IN_COOKIE = re.compile(REFRESH_COOKIE + r"=([^;]+)")


@dataclass(frozen=True)
class Load:
    """What to send: `method path` with `headers` and `body`; or, with `refresh_tokens`, POST /auth/refresh with
    one refresh chain per connection (each answer's new token is the chain's next request: re-using a rotated
    token would be taken as theft and end the session)."""

    host: str
    port: int
    path: str = "/"
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    refresh_tokens: tuple[str, ...] = ()
    # "body": `{"refresh": ...}` in, `refresh` in the answer; "cookie": the `taskdesk_refresh` cookie both ways.
    refresh_mode: str = "body"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    # Answers outside 2xx/3xx plus socket errors (connect, read, write, timeout).
    errors: int
    driver: str
    # The whole machine's CPU time (servers, databases, the load generator, the kernel) per request, in ms.
    cpu_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (0 for none)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def timeout_for(seconds: float) -> float:
    """How long a request may take before it counts as a socket error: longer than the run, so that a slow
    case (the list among a million rows) is measured as slow rather than reported without answers."""
    return max(10.0, 2 * seconds)


# The Python driver ------------------------------------------------------------------------------------------


def _request_body(load: Load, token: str | None) -> tuple[str, bytes | None, dict[str, str]]:
    headers = {"Content-Type": "application/json", **load.headers}
    if token is None:
        return load.path, load.body.encode() if load.body is not None else None, headers
    if load.refresh_mode == "cookie":
        return REFRESH_PATH, b"{}", {**headers, "X-Refresh-Mode": "cookie", "Cookie": f"{REFRESH_COOKIE}={token}"}
    return REFRESH_PATH, json.dumps({"refresh": token}).encode(), headers


def _next_token(load: Load, response: http.client.HTTPResponse, body: bytes) -> str | None:
    if load.refresh_mode == "cookie":
        match = TOKEN_IN_COOKIE.search(response.getheader("Set-Cookie") or "")
    else:
        match = TOKEN_IN_BODY.search(body.decode(errors="replace"))
    return match.group(1) if match else None


def _connection_loop(load: Load, deadline: float, token: str | None, out: dict[str, Any]) -> None:
    """One connection: requests back to back until the deadline; a chain ends with its first failure."""
    latencies: list[float] = out["latencies"]
    chained = token is not None
    connection: http.client.HTTPConnection | None = None
    timeout = timeout_for(deadline - time.monotonic())
    while time.monotonic() < deadline:
        if chained and token is None:
            # The chain broke (its failure was counted): no token is left that the server would take.
            break
        path, body, headers = _request_body(load, token)
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(load.host, load.port, timeout=timeout)
            connection.request(load.method if not chained else "POST", path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            out["errors"] += 1
            if connection is not None:
                connection.close()
            connection = None
            token = None if chained else token
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status < 400:
            out["errors"] += 1
        if chained:
            token = _next_token(load, response, payload)
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


def _process(load: Load, connections: int, tokens: list[str], seconds: float, queue: Any) -> None:
    import threading

    deadline = time.monotonic() + seconds
    outs: list[dict[str, Any]] = [{"latencies": [], "errors": 0} for _ in range(connections)]
    threads = [
        threading.Thread(
            target=_connection_loop,
            args=(load, deadline, tokens[i] if load.refresh_tokens else None, outs[i]),
            daemon=True,
        )
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(
        {
            "latencies": [value for out in outs for value in out["latencies"]],
            "errors": sum(out["errors"] for out in outs),
        }
    )


def run_python(load: Load, *, seconds: float, connections: int = 32, processes: int | None = None) -> Result:
    """The Python driver: `connections` keep-alive connections spread over `processes` processes."""
    if load.refresh_tokens and len(load.refresh_tokens) < connections:
        raise ValueError("a refresh chain per connection: give at least as many refresh tokens as connections")
    processes = max(1, min(processes or min(4, (os.cpu_count() or 1) * 2), connections))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = []
    first = 0
    for share in shares:
        tokens = list(load.refresh_tokens[first : first + share])
        first += share
        worker = context.Process(target=_process, args=(load, share, tokens, seconds, queue), daemon=True)
        worker.start()
        workers.append(worker)
    started = time.monotonic()
    parts = [queue.get(timeout=seconds + timeout_for(seconds) + 60) for _ in workers]
    elapsed = max(time.monotonic() - started, seconds)
    for worker in workers:
        worker.join(timeout=10)
    latencies = sorted(value for part in parts for value in part["latencies"])
    return Result(
        requests=len(latencies),
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 0.50), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        errors=sum(part["errors"] for part in parts),
        driver="python",
    )


# The wrk driver ---------------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise RuntimeError(f"wrk printed a duration this does not read: {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def parse_wrk(output: str) -> tuple[int, float, float, float, float, int]:
    """(requests, seconds, req/s, p50 ms, p99 ms, errors) from `wrk --latency` output."""
    requests = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not requests or not rps:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    # wrk counts statuses of 400 and above here (a 304 is not one), and socket errors apart.
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return (
        int(requests.group(1)),
        _milliseconds(requests.group(2) + requests.group(3)) / 1000,
        float(rps.group(1)),
        # No latency lines: no answer came back (the table flags a case without answers).
        _milliseconds(p50.group(1)) if p50 else 0.0,
        _milliseconds(p99.group(1)) if p99 else 0.0,
        errors,
    )


def run_wrk(load: Load, *, seconds: float, connections: int = 32, threads: int = 2) -> Result:
    """wrk with 2 threads; a Lua script for a request body, and for the refresh chains (bench/lua/)."""
    timeout = f"{timeout_for(seconds):g}s"
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", timeout]
    env = dict(os.environ)
    for name, value in load.headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="taskdesk-bench-") as scratch:
        if load.refresh_tokens:
            if len(load.refresh_tokens) < connections:
                raise ValueError("a refresh chain per connection: give as many refresh tokens as connections")
            # Thread i (1-based) of wrk takes its connections' share of the chains from tokens-i.txt.
            per_thread = connections // threads
            for i in range(threads):
                chunk = load.refresh_tokens[i * per_thread : (i + 1) * per_thread]
                (Path(scratch) / f"tokens-{i + 1}.txt").write_text("\n".join(chunk) + "\n")
            env.update(BENCH_TOKENS=scratch, BENCH_REFRESH_MODE=load.refresh_mode)
            command += ["-s", str(LUA / "refresh.lua")]
        elif load.body is not None or load.method != "GET":
            env.update(BENCH_METHOD=load.method, BENCH_BODY=load.body or "")
            command += ["-s", str(LUA / "request.lua")]
        output = subprocess.run(
            [*command, load.url], capture_output=True, text=True, check=True, env=env, timeout=seconds + 120
        ).stdout
    requests, elapsed, rps, p50, p99, errors = parse_wrk(output)
    return Result(
        requests=requests,
        seconds=round(elapsed, 2),
        rps=rps,
        p50_ms=round(p50, 2),
        p99_ms=round(p99, 2),
        errors=errors,
        driver="wrk",
    )


def drive(load: Load, *, driver: str, seconds: float, connections: int = 32) -> Result:
    if driver == "wrk":
        return run_wrk(load, seconds=seconds, connections=connections)
    return run_python(load, seconds=seconds, connections=connections)
