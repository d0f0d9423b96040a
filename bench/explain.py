"""`python -m bench.explain --email E --password P --label L`: the plans of the SQL behind the hot requests.

Runs the task list, a task's detail, a sync with nothing new and a 304 list in this process, through
django.test.Client with a real access token from the login endpoint, captures each request's SQL with
CaptureQueriesContext, and runs EXPLAIN (ANALYZE, BUFFERS) on every captured SELECT (EXPLAIN QUERY PLAN on
SQLite). Prints one JSON object, case -> text; `make bench --scale` writes them to
bench/results/explain-<case>.txt. Each request runs once before it is captured, so the plans are those of
warm caches, as under load. Needs the environment of the database it explains (DATABASE_URL, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    signed = client.post(
        "/api/v1/auth/login", {"email": args.email, "password": args.password}, content_type="application/json"
    )
    if signed.status_code != 200:
        raise SystemExit(f"login answered {signed.status_code}")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {signed.json()['access']}"}

    def get(path: str, query: dict[str, Any] | None = None, **headers: str) -> Any:
        extra: Any = {**auth, **headers}
        return client.get(path, query, **extra)

    listed = get("/api/v1/tasks/")
    task_id = listed.json()["results"][0]["id"]
    body = get("/api/v1/sync", {"limit": 1000}).json()
    while body["has_more"]:
        body = get("/api/v1/sync", {"limit": 1000, "cursor": body["cursor"]}).json()
    cursor = get("/api/v1/sync", {"cursor": body["cursor"]}).json()["cursor"]

    requests: dict[str, tuple[str, dict[str, Any], dict[str, str], int]] = {
        "list": ("/api/v1/tasks/", {}, {}, 200),
        "detail": (f"/api/v1/tasks/{task_id}", {}, {}, 200),
        "sync": ("/api/v1/sync", {"cursor": cursor}, {}, 200),
        "304": ("/api/v1/tasks/", {}, {"HTTP_IF_NONE_MATCH": listed["ETag"]}, 304),
    }
    out: dict[str, str] = {}
    for case, (path, query, headers, expected) in requests.items():
        get(path, query, **headers)
        with CaptureQueriesContext(connection) as captured:
            response = get(path, query, **headers)
        if response.status_code != expected:
            raise SystemExit(f"{case}: GET {path} answered {response.status_code}, not {expected}")
        lines = [
            f"== {args.label} ({connection.vendor}): GET {path}{'?cursor=...' if query else ''}"
            + (" with If-None-Match" if headers else ""),
            f"   answered {response.status_code}; {len(captured.captured_queries)} queries",
        ]
        for number, query_info in enumerate(captured.captured_queries, start=1):
            sql = query_info["sql"]
            lines += ["", f"-- query {number} ({query_info['time']} s when captured)", sql]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                lines.append("   (not a SELECT: not explained, EXPLAIN ANALYZE would run it)")
                continue
            lines += _plan(connection, sql)
        out[case] = "\n".join(lines)
    print(json.dumps(out))


def _plan(connection: Any, sql: str) -> list[str]:
    explain = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql)
        return ["   " + " ".join(str(part) for part in row) for row in cursor.fetchall()]


if __name__ == "__main__":
    main()
