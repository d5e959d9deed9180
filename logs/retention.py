"""Retention of log records: deleted once older than their application's ``retention_days``.

The rule of sessions (``sessions_app.retention``), by the record's ``time``;
``purge_expired_sessions`` runs both. Batches keep each transaction short.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from logs.models import LogRecord
from sessions_app.models import Application

BATCH_SIZE = 5000


def logs_purge_expired(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) expired log records; counts per application."""
    now = now or timezone.now()
    purged: dict[str, int] = {}
    for application in Application.objects.only("id", "slug", "retention_days_override"):
        cutoff = now - timedelta(days=application.retention_days)
        expired = LogRecord.objects.filter(application=application, time__lt=cutoff)
        if dry_run:
            purged[application.slug] = expired.count()
            continue
        total = 0
        while batch := list(expired.values_list("pk", flat=True)[:BATCH_SIZE]):
            with transaction.atomic():
                total += LogRecord.objects.filter(pk__in=batch).delete()[0]
        purged[application.slug] = total
    return purged
