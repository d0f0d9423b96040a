"""gunicorn settings: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Metrics: every worker writes its Prometheus samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape of any
worker reads them all. When the variable is unset this file makes a private temporary directory (removed on
exit); either way the directory is emptied when gunicorn starts, so counts begin at zero with each start but
survive a worker being killed or replaced. Each worker's files stay, so a long-lived server that recycles
workers often accumulates files: a restart of gunicorn clears them.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
# Our middleware logs one line per request; gunicorn's access log would repeat it.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1")

# Set before any worker imports prometheus_client, which picks its storage from it at import. The marker
# outlives a reload (HUP executes this file again) and a re-exec (USR2), so the last master removes the
# directory it made, and only that one.
_TEMPORARY = "TASKDESK_METRICS_DIR_TEMPORARY"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="taskdesk-metrics-")
    os.environ[_TEMPORARY] = "1"


def on_starting(server: Any) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    # Files of a previous run would be read as live workers' counts.
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    # Drops the dead worker's live gauges; its counters and histograms stay in the totals.
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    # After a USR2 upgrade the new master still writes there: it removes the directory when it exits.
    if os.environ.get(_TEMPORARY) and not getattr(server, "reexec_pid", 0):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
