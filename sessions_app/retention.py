"""Retention: delete sessions older than their application's ``retention_days``.

Run ``python manage.py purge_expired_sessions`` daily (cron, a systemd timer).
A session expires by ``started_at``; its actions go with it (``UserSessionQuerySet.delete``). Each
application is purged in batches so one run never holds a long lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from sessions_app.models import Application, UserSession

BATCH_SIZE = 1000


def purge_expired(
    model: type[Model],
    *,
    time_field: str,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) the rows of ``model`` whose ``time_field`` is
    older than their application's ``retention_days``; counts per application slug.

    Shared by every record type with an ``application`` (sessions, log records).
    Each batch is its own transaction, so one run never holds a long lock; rows
    that go with a deleted row (a session's actions) are not counted.
    """
    now = now or timezone.now()
    manager = model._default_manager
    purged: dict[str, int] = {}
    for application in Application.objects.only("id", "slug", "retention_days_override"):
        cutoff = now - timedelta(days=application.retention_days)
        expired = manager.filter(application=application, **{f"{time_field}__lt": cutoff})
        if dry_run:
            purged[application.slug] = expired.count()
            continue
        total = 0
        while batch := list(expired.values_list("pk", flat=True)[:batch_size]):
            with transaction.atomic():
                # Within the application: each statement names it (and a session's
                # delete takes its actions within it too: UserSessionQuerySet.delete).
                deleted = manager.filter(application=application, pk__in=batch).delete()[1]
            total += deleted.get(model._meta.label, 0)
        purged[application.slug] = total
    return purged


def sessions_purge_expired(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) expired sessions; returns counts per application."""
    return purge_expired(UserSession, time_field="started_at", now=now, dry_run=dry_run)
