"""Writes on log records: ``log_ingest``, the one pipeline of both ingest channels.

OTLP (``POST /v1/logs``) and rumvault's JSON batch (``POST
/api/v1/ingest/logs/``) decode and validate a request into ``IncomingLog``s
(``logs.ingest``); this masks every record (``logs.ingest.masking``) and
stores the batch in one transaction, so a batch is stored whole or not at
all. ``seed_demo`` and the benchmark come here too.

A record older than its application's ``retention_days`` would be purged by
the next retention run: it is not stored, and counted as rejected (OTLP's
``partial_success``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from config.bulk import bulk_insert
from logs.ingest.masking import LogMasker, RuleHook
from logs.ingest.records import IncomingLog
from logs.models import LogRecord
from sessions_app.models import Application

EXPIRED_MESSAGE = "log records older than the application's retention period are not stored"


@dataclass(frozen=True, slots=True)
class LogIngestResult:
    accepted: int
    rejected: int

    @property
    def message(self) -> str:
        return f"{self.rejected} {EXPIRED_MESSAGE}" if self.rejected else ""


def log_ingest(
    *,
    application: Application,
    records: Sequence[IncomingLog],
    now: datetime | None = None,
    rules: RuleHook | None = None,
) -> LogIngestResult:
    """Mask and store ``records`` (already validated); one insert (``COPY``) for the batch."""
    cutoff = (now or timezone.now()) - timedelta(days=application.retention_days)
    kept = [record for record in records if record.time >= cutoff]
    masker = LogMasker(application, rules=rules)
    refs = masker.session_refs(r.session_id for r in kept if r.session_id)
    rows = [
        masker.record(r, session_ref=refs[r.session_id] if r.session_id else None) for r in kept
    ]
    with transaction.atomic():
        bulk_insert(LogRecord, rows)
    return LogIngestResult(accepted=len(rows), rejected=len(records) - len(rows))
