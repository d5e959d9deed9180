"""``RumvaultHandler``: a ``logging.Handler`` that never blocks or breaks the application.

In the application's thread ``emit`` only formats the message (so later
changes to its arguments do not matter) and appends a tuple to a bounded
buffer (a ``deque``: one atomic append, no lock, no wake-up); a full buffer
drops the record and counts it (``dropped``). One daemon thread does the
rest, waking every ``flush_interval``: it fetches the capture rules (the
agent configuration, resolved for this host and host group), masks every
record with them and rumvault's detectors, batches, and sends OTLP/HTTP
JSON with short timeouts and retries. When rumvault cannot be reached it
keeps the last configuration it had (in memory, and in ``config_cache``
across restarts) and keeps going. At exit
(``atexit`` and ``logging.shutdown``) what is queued is sent, for at most
``flush_timeout`` seconds.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import contextvars
import itertools
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from rumvault_logging import otlp
from rumvault_logging.masking import SESSION_ID, CaptureMasker, CaptureRule
from rumvault_logging.transport import Transport

VERSION = "0.1.0"
CONFIG_PATH = "/api/v1/ingest/logs/config/"
LOGS_PATH = "/v1/logs"
_RETRY_CONFIG_SECONDS = 60.0
_HEX = re.compile(r"[0-9a-f]+")

# The RUM session the current request belongs to (set by middleware or bind_session).
current_session_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "rumvault_session_id", default=None
)

# LogRecord's own attributes: everything else on a record came in through ``extra``.
_BARE = logging.LogRecord("", 0, "", 0, "", None, None).__dict__
_STANDARD = frozenset({*_BARE, "message", "asctime", "taskName"})
_BARE_SIZE = len(_BARE)


@contextlib.contextmanager
def bind_session(session_id: str | None) -> Iterator[None]:
    """Log records inside the block carry ``session_id`` (links them to the RUM session)."""
    token = current_session_id.set(session_id)
    try:
        yield
    finally:
        current_session_id.reset(token)


class RumvaultHandler(logging.Handler):
    def __init__(
        self,
        endpoint: str,
        token: str,
        *,
        service_name: str,
        host: str | None = None,
        host_group: str = "",
        level: int = logging.NOTSET,
        max_queue: int = 10_000,
        batch_size: int = 512,
        flush_interval: float = 1.0,
        timeout: float = 3.0,
        max_attempts: int = 5,
        flush_timeout: float = 5.0,
        config_cache: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(level)
        self.endpoint = endpoint.rstrip("/")
        self.host = host or socket.gethostname()
        self.host_group = host_group
        self.resource = {"service.name": service_name, "host.name": self.host}
        if host_group:
            self.resource["rumvault.host_group"] = host_group
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_attempts = max_attempts
        self.flush_timeout = flush_timeout
        self.config_cache = Path(config_cache) if config_cache is not None else None
        self.transport = Transport(
            token=token, timeout=timeout, user_agent=f"rumvault-logging/{VERSION}"
        )
        self.masker = CaptureMasker([])
        self.config: dict[str, Any] | None = None
        self.max_queue = max_queue
        self._buffer: collections.deque[tuple[Any, ...]] = collections.deque()
        self._dropped = itertools.count()  # next() is atomic: safe from any thread
        self.dropped = 0
        self.sent = 0
        self.failed = 0  # records given up after the retries
        self._busy = False
        self._next_config = 0.0
        self._closing = threading.Event()
        self._deadline = float("inf")
        self._closed = False
        self._load_cached_config()
        self._worker = threading.Thread(target=self._run, name="rumvault-logging", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    # --- the application's thread -------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        try:
            if len(self._buffer) >= self.max_queue:
                self.dropped = next(self._dropped) + 1
                return
            fields = record.__dict__
            extras = (
                {k: fields[k] for k in fields.keys() - _STANDARD}
                if len(fields) > _BARE_SIZE
                else {}
            )
            item = (
                record.created,
                record.levelno,
                record.levelname,
                record.getMessage(),
                extras,
                record.exc_info,
                current_session_id.get(),
            )
            self._buffer.append(item)  # atomic; the worker pops from the other end
        except Exception:  # a message that cannot be formatted
            self.dropped = next(self._dropped) + 1

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # never print to the application's stderr from a logging call

    def flush(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout``, default ``flush_timeout``) until the queue is sent."""
        deadline = time.monotonic() + (self.flush_timeout if timeout is None else timeout)
        while (self._buffer or self._busy) and time.monotonic() < deadline:
            if not self._worker.is_alive():
                return
            time.sleep(0.01)

    def close(self) -> None:
        """Send what is queued (for at most ``flush_timeout`` seconds), then stop."""
        if self._closed:
            return
        self._closed = True
        self._deadline = time.monotonic() + self.flush_timeout
        self._closing.set()
        self._worker.join(self.flush_timeout + self.transport.timeout)
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        super().close()

    # --- the worker thread ----------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                if not self._closing.is_set() and time.monotonic() >= self._next_config:
                    self._refresh_config()
                batch = self._take()
                if batch:
                    self._busy = True
                    self._ship(batch)
            except Exception:  # a bug here must not take logging down with it
                self.failed += 1
            finally:
                self._busy = False
            if self._closing.is_set() and (not self._buffer or time.monotonic() > self._deadline):
                return

    def _take(self) -> list[tuple[Any, ...]]:
        if len(self._buffer) < self.batch_size:
            self._closing.wait(self.flush_interval)  # closing wakes it at once
        batch: list[tuple[Any, ...]] = []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._buffer.popleft())
            except IndexError:
                break
        return batch

    def _ship(self, batch: list[tuple[Any, ...]]) -> None:
        records = [self._prepare(item) for item in batch]
        resource = self.masker.attributes("logs.resource", self.resource)
        payload = otlp.export_request(
            records, resource=resource, scope=("rumvault_logging", VERSION)
        )
        delivered = self.transport.send(
            self.endpoint + LOGS_PATH,
            payload,
            max_attempts=self.max_attempts,
            give_up=lambda: self._closing.is_set() and time.monotonic() > self._deadline,
            sleep=self._closing.wait,  # a backoff ends early when the handler closes
        )
        if delivered:
            self.sent += len(records)
        else:
            self.failed += len(records)

    def _prepare(self, item: tuple[Any, ...]) -> dict[str, Any]:
        created, levelno, level, message, extras, exc_info, session_id = item
        attributes = dict(extras)
        ids = {
            name: attributes.pop(key, None)
            for key, name in (("trace_id", "traceId"), ("span_id", "spanId"))
        }
        if session_id is not None and SESSION_ID not in attributes:
            attributes[SESSION_ID] = session_id
        if exc_info and exc_info[0] is not None:
            attributes["exception.type"] = exc_info[0].__name__
            attributes["exception.stacktrace"] = "".join(traceback.format_exception(*exc_info))
        record = {
            "time_ns": int(created * 1e9),
            "levelno": levelno,
            "level": level,
            "body": self.masker.value("logs.body", message) or "",
            "attributes": self.masker.attributes("logs.attributes", attributes),
        }
        for name, value in ids.items():
            if isinstance(value, str) and _HEX.fullmatch(value.lower()):
                record[name] = value.lower()
        return record

    # --- configuration ----------------------------------------------------------------
    def _refresh_config(self) -> None:
        query = urlencode({"host": self.host, "host_group": self.host_group})
        config = self.transport.get_json(f"{self.endpoint}{CONFIG_PATH}?{query}")
        if not isinstance(config, dict) or not isinstance(config.get("rules"), list):
            self._next_config = time.monotonic() + _RETRY_CONFIG_SECONDS
            return  # unreachable or refused: keep the configuration we have
        self._apply_config(config)
        self._save_cached_config(config)
        refresh = config.get("refresh_seconds")
        refresh = float(refresh) if isinstance(refresh, int | float) else 300.0
        self._next_config = time.monotonic() + min(3600.0, max(30.0, refresh))

    def _apply_config(self, config: dict[str, Any]) -> None:
        rules = [CaptureRule.from_config(raw) for raw in config.get("rules", [])]
        self.masker = CaptureMasker(
            [rule for rule in rules if rule is not None],
            personal=config.get("personal_data") is not False,
        )
        self.config = config

    def _load_cached_config(self) -> None:
        if self.config_cache is None:
            return
        try:
            config = json.loads(self.config_cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(config, dict) and isinstance(config.get("rules"), list):
            self._apply_config(config)

    def _save_cached_config(self, config: dict[str, Any]) -> None:
        if self.config_cache is None:
            return
        try:
            directory = self.config_cache.parent
            with tempfile.NamedTemporaryFile(
                "w", dir=directory, delete=False, encoding="utf-8", suffix=".tmp"
            ) as file:
                json.dump(config, file)
            os.replace(file.name, self.config_cache)
        except OSError:
            pass  # a read-only disk costs the cache, nothing else
