"""gunicorn settings: `gunicorn -c config/gunicorn.conf.py config.wsgi`."""

import multiprocessing
import os

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
