"""gunicorn settings for `make serve`; every value can be overridden from the environment."""

import os
import sys
from pathlib import Path

# gunicorn reads this file before it imports the application; make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.logging import logging_config

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
# Clients send at most RUMVAULT_INGEST_MAX_BODY_BYTES; gunicorn limits the request line and headers.
limit_request_line = 8190
wsgi_app = "config.wsgi:application"

# Logging goes through the project's masking configuration (config/logging.py),
# like Django's: the access line is "METHOD /path STATUS" with the path masked,
# never the query string or the client address, plus status_code, duration_ms
# and the request id; gunicorn's error log is masked the same way.
logconfig_dict = logging_config(
    level=os.environ.get("LOG_LEVEL", "INFO").upper(),
    log_format=os.environ.get("LOG_FORMAT", "json"),
)
# What GunicornAccessFilter receives if another logging set-up is used.
access_log_format = "%(m)s %(U)s %(s)s"
