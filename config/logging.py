"""Structured logging: one JSON object per line, tagged with the request id.

Log records carry only what we put in them: the message, level, logger, time
and request id. Django attaches the ``request`` object to some records; it is
deliberately not serialised, because its headers, cookies, query string and
client address are exactly the personal data the logs must never hold.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

from privacy.detectors import mask_text

# Set by RequestIdMiddleware for the duration of one request.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_request_id", default=None
)

# Attributes a caller may add with ``extra=`` that are safe to emit as-is.
SAFE_EXTRA_FIELDS = ("status_code", "method", "path", "duration_ms", "application", "count")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # Defence in depth: even a careless message or a database error
            # quoting a row has emails, IPs and card numbers masked.
            "message": mask_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for field in SAFE_EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            # The exception type and where it happened, not the frames' local values.
            entry["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)
