"""Retention: delete sessions older than their application's ``retention_days``.

Run ``python manage.py purge_expired_sessions`` daily (cron, a systemd timer).
A session expires by ``started_at``; its actions go with it (cascade). Each
application is purged in batches so one run never holds a long lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Application, UserSession

BATCH_SIZE = 1000


def sessions_purge_expired(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) expired sessions; returns counts per application."""
    now = now or timezone.now()
    purged: dict[str, int] = {}
    for application in Application.objects.only("id", "slug", "retention_days_override"):
        cutoff = now - timedelta(days=application.retention_days)
        expired = UserSession.objects.filter(application=application, started_at__lt=cutoff)
        if dry_run:
            purged[application.slug] = expired.count()
            continue
        total = 0
        while True:
            batch = list(expired.values_list("pk", flat=True)[:BATCH_SIZE])
            if not batch:
                break
            with transaction.atomic():
                total += (
                    UserSession.objects.filter(pk__in=batch)
                    .delete()[1]
                    .get(UserSession._meta.label, 0)
                )
        purged[application.slug] = total
    return purged
