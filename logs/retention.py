"""Retention of log records: deleted once older than their application's ``retention_days``.

The rule of sessions (``sessions_app.retention``), by the record's ``time``;
``purge_expired_sessions`` runs both. Batches keep each transaction short.
"""

from __future__ import annotations

from datetime import datetime

from logs.models import LogRecord
from sessions_app.retention import purge_expired

BATCH_SIZE = 5000


def logs_purge_expired(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) expired log records; counts per application."""
    return purge_expired(
        LogRecord, time_field="time", now=now, dry_run=dry_run, batch_size=BATCH_SIZE
    )
