"""Logging: every line, from every logger and in every format, goes through one masker.

``logging_config()`` is the one configuration, used by Django (``LOGGING``)
and by gunicorn (``logconfig_dict``), so Django's, runserver's and gunicorn's
lines all reach the same handler. That handler runs ``MaskingFilter``, and
both formats (``json``, one object per line, and ``plain``) mask again on
their own, so no handler or format prints a record unmasked:

* the message: in every path, percent-escapes are decoded (so an encoded
  email is seen as one) and the query string becomes ``?<masked>`` (its
  values are what forms and trackers fill with personal data); then the
  privacy detectors (``privacy.detectors.mask_text``) replace emails, IPs,
  card numbers, IBANs and UUIDs; last, control characters are escaped, so a
  path with an encoded line break cannot forge a line. Django escapes request
  paths in its own lines (``\xfc`` for "ü"), which would hide an
  internationalised email from the detectors: that is undone first;
* tracebacks, stack traces and the ``path`` extra, the same way;
* the request: Django attaches it to some records; it is never serialised,
  because its headers, cookies and client address are personal data.

Django's own handlers (its console handler under DEBUG, runserver's
``django.server`` handler, ``mail_admins``) and gunicorn's are removed: their
records propagate to ours.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from privacy.detectors import MASK, mask_text

# Set by RequestIdMiddleware for the duration of one request.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_request_id", default=None
)

# Attributes a caller may add with ``extra=`` that are emitted (``path`` masked).
SAFE_EXTRA_FIELDS = ("status_code", "method", "path", "duration_ms", "application", "count")

# A path (and its query string) runs from a "/" to the next space or quote.
_PATH = re.compile(r"/[^\s\"']*")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Loggers whose arguments Django escapes with "unicode_escape" (log_response).
_DJANGO_ESCAPING_LOGGERS = ("django.request", "django.security")
_MASKED = "_rumvault_masked"


def _mask_path(match: re.Match[str]) -> str:
    path, question_mark, query = match.group().partition("?")
    return unquote(path) + (f"?{MASK}" if query else question_mark)


def mask_log_text(text: str) -> str:
    """Mask personal data in log text: paths decoded, query strings dropped, detectors run."""
    return mask_text(_PATH.sub(_mask_path, text))


def _unescaped(record: logging.LogRecord) -> tuple[object, ...] | Mapping[str, object] | None:
    args = record.args
    if not isinstance(args, tuple) or not record.name.startswith(_DJANGO_ESCAPING_LOGGERS):
        return args
    return tuple(
        arg.encode("ascii").decode("unicode_escape")
        if isinstance(arg, str) and arg.isascii()
        else arg
        for arg in args
    )


def _escape_control(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def mask_record(record: logging.LogRecord) -> None:
    """Mask ``record`` in place: message, traceback, stack and ``path``; set ``request_id``."""
    if getattr(record, _MASKED, False):
        return
    record.args = _unescaped(record)
    message = mask_log_text(record.getMessage())
    record.msg, record.args = _CONTROL_CHARACTERS.sub(_escape_control, message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_log_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_log_text(record.stack_info)
    path = getattr(record, "path", None)
    if isinstance(path, str):
        record.path = _CONTROL_CHARACTERS.sub(_escape_control, mask_log_text(path))
    if getattr(record, "request_id", None) is None:
        record.request_id = _request_id(record)
    setattr(record, _MASKED, True)


def _request_id(record: logging.LogRecord) -> str | None:
    # Django logs 4xx/5xx responses (django.request) after the middleware has
    # returned and reset the context variable; the request still carries its id.
    return current_request_id.get() or getattr(getattr(record, "request", None), "request_id", None)


class MaskingFilter(logging.Filter):
    """Attached to every handler: masks the record and tags it with the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


class GunicornAccessFilter(logging.Filter):
    """Turns gunicorn's access record into ours: ``METHOD /path STATUS`` plus fields.

    gunicorn logs its access line with a dict of "atoms" as the argument. The
    path is taken from the raw request URI as the client sent it, without the
    query string; the masker then sees percent-encoded and decoded forms alike
    (gunicorn's own ``PATH_INFO`` atom is decoded as Latin-1, which garbles
    non-ASCII text past recognition).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not isinstance(atoms, dict):
            return True
        raw_uri = str(atoms.get("{raw_uri}e", ""))
        path = urlsplit(raw_uri).path if raw_uri not in ("", "-") else str(atoms.get("U", ""))
        method, status = str(atoms.get("m", "-")), atoms.get("s", "-")
        record.msg, record.args = f"{method} {path} {status}", ()
        record.method, record.path = method, path
        record.status_code = int(status) if str(status).isdigit() else status
        record.duration_ms = atoms.get("M")
        request_id = atoms.get("{x-request-id}o")
        record.request_id = request_id if request_id not in (None, "-") else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        mask_record(record)
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for field in SAFE_EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_text:
            # The exception type and where it happened, not the frames' local values.
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message``, for a terminal; masked like JSON."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        mask_record(record)
        return super().format(record)


def logging_config(*, level: str, log_format: str) -> dict[str, Any]:
    """The ``dictConfig`` of Django's ``LOGGING`` and gunicorn's ``logconfig_dict``."""
    if log_format not in ("json", "plain"):
        raise ValueError("LOG_FORMAT must be 'json' or 'plain'")

    def handed_over(**more: Any) -> dict[str, Any]:
        # No handlers of their own: their records propagate to the masking one.
        return {"handlers": [], "level": level, "propagate": True, **more}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "mask": {"()": "config.logging.MaskingFilter"},
            "gunicorn_access": {"()": "config.logging.GunicornAccessFilter"},
        },
        "formatters": {
            "json": {"()": "config.logging.JsonFormatter"},
            "plain": {"()": "config.logging.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["mask"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # SQL statements carry parameter values (tags, IPs); never log them.
            "django.db.backends": {"level": "WARNING", "propagate": True},
            "django": handed_over(),
            "django.server": handed_over(),
            "gunicorn.error": handed_over(),
            "gunicorn.access": handed_over(filters=["gunicorn_access"]),
        },
    }
