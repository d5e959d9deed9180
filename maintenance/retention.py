"""One retention run: every kind of data past its retention, deleted and recorded.

* on PostgreSQL, whole months of actions and log records that every
  application's retention has passed: detached and dropped
  (``maintenance.partitions``), the rest below deleted in batches;
* sessions (and their actions) older than their application's
  ``retention_days`` (``sessions_app.retention``), and log records by the same
  rule (``logs.retention``);
* audit records older than ``RUMVAULT_AUDIT_RETENTION_DAYS``, from the start of
  the chain, behind a sealed checkpoint (``permissions.chain.chain_purge``);
* audit subjects (per-subject keys) nobody looked up for as long;
* data-subject export documents past ``RUMVAULT_DSR_EXPORT_TTL_HOURS``.

Each run is a ``RetentionRun`` row (what was deleted, per application) and an
audit record. ``retention_run`` runs daily as a ``retention`` job
(``maintenance.jobs``: a django-q2 schedule made by migration
``maintenance.0002`` queues it), or by hand with ``manage.py apply_retention``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from data_subjects.models import DataSubjectRequest
from logs.retention import logs_purge_expired
from maintenance.models import RetentionRun, RunStatus
from maintenance.partitions import LOG_RECORDS, drop_expired_partitions, rows_per_application
from maintenance.progress import Progress, no_progress
from permissions import subjects
from permissions.audit import Actor, audit_event
from permissions.chain import chain_purge
from permissions.models import AuditKind
from sessions_app.retention import sessions_purge_expired

STEPS = 6


def retention_run(
    *,
    started_by: str,
    progress: Progress = no_progress,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionRun:
    now = now or timezone.now()
    run = RetentionRun.objects.create(started_by=started_by, dry_run=dry_run)
    deleted: dict[str, object] = {}
    sessions: dict[str, int] = {}
    try:
        # Whole months first: a dropped month of actions belongs to sessions deleted next.
        dropped = drop_expired_partitions(now=now, dry_run=dry_run)
        deleted["partitions"] = [p.name for months in dropped.values() for p in months]
        progress(done=1, total=STEPS, step="steps")
        sessions = sessions_purge_expired(now=now, dry_run=dry_run)
        deleted["sessions"] = sessions
        progress(done=2, total=STEPS, step="steps")
        log_records = logs_purge_expired(now=now, dry_run=dry_run)
        for slug, count in rows_per_application(dropped[LOG_RECORDS.label]).items():
            log_records[slug] = log_records.get(slug, 0) + count
        deleted["log_records"] = log_records
        progress(done=3, total=STEPS, step="steps")
        cutoff = now - timedelta(days=settings.RUMVAULT_AUDIT_RETENTION_DAYS)
        purge = chain_purge(cutoff=cutoff, dry_run=dry_run)
        deleted["audit_records"] = purge.deleted
        deleted["audit_through_seq"] = purge.through_seq
        progress(done=4, total=STEPS, step="steps")
        stale_subjects = subjects.stale(unused_before=cutoff.date())
        deleted["audit_subjects"] = stale_subjects.count()
        if not dry_run:
            stale_subjects.delete()
        progress(done=5, total=STEPS, step="steps")
        expired = DataSubjectRequest.objects.filter(
            export_expires_at__lt=now, export_ciphertext__isnull=False
        )
        deleted["exports"] = expired.count()
        if not dry_run:
            expired.update(export_ciphertext=None, export_expires_at=None)
        progress(done=6, total=STEPS, step="steps")
    except Exception as error:
        run.status, run.last_error = RunStatus.FAILED, type(error).__name__[:200]
        run.deleted, run.finished_at = deleted, timezone.now()
        run.save()
        raise
    run.status, run.deleted, run.finished_at = RunStatus.DONE, deleted, timezone.now()
    run.save()
    if not dry_run:
        audit_event(
            actor=Actor(username=started_by, method="JOB", path="apply_retention"),
            kind=AuditKind.RETENTION,
            changes={"run": run.pk, "deleted": deleted},
            applications=[slug for slug, count in sessions.items() if count],
        )
    return run
