"""Retention: sessions older than the application's retention_days are purged."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from sessions_app.models import UserAction, UserSession
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db


def test_expired_sessions_and_their_actions_are_deleted_per_application() -> None:
    now = timezone.now()
    short = make_application("short", retention_days=7)
    long = make_application("long", retention_days=90)
    old_short = stored_session(short, started_at=now - timedelta(days=8), actions=3)
    fresh_short = stored_session(short, started_at=now - timedelta(days=6))
    old_for_short_but_kept_by_long = stored_session(long, started_at=now - timedelta(days=8))

    output = StringIO()
    call_command("purge_expired_sessions", stdout=output)

    remaining = set(UserSession.objects.values_list("pk", flat=True))
    assert old_short.pk not in remaining
    assert {fresh_short.pk, old_for_short_but_kept_by_long.pk} <= remaining
    assert not UserAction.objects.filter(session_id=old_short.pk).exists()
    assert "short: deleted 1 expired session(s)" in output.getvalue()


def test_dry_run_counts_without_deleting() -> None:
    application = make_application("shop", retention_days=1)
    stored_session(application, started_at=timezone.now() - timedelta(days=2))
    output = StringIO()
    call_command("purge_expired_sessions", "--dry-run", stdout=output)
    assert "shop: would delete 1" in output.getvalue()
    assert UserSession.objects.count() == 1
