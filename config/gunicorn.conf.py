"""gunicorn settings for `make serve`; every value can be overridden from the environment."""

import os

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

# Access log as JSON, one object per line. No client address (%(h)s) and no
# query string (%(q)s): both can carry personal data, e.g. a user tag someone
# tried to put in a URL.
accesslog = "-"
access_log_format = (
    '{"logger": "gunicorn.access", "request_id": "%({x-request-id}o)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": %(B)s, '
    '"duration_ms": %(M)s}'
)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
