"""Retention of log records, and trace ids in the session beacon (the link they use)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from logs.models import LogRecord
from logs.retention import logs_purge_expired
from sessions_app.models import UserAction
from tests.factories import make_application, stored_log
from tests.sessions_app.ingest_support import action, batch, new_application, post, session

pytestmark = pytest.mark.django_db


def test_log_records_past_their_applications_retention_are_purged() -> None:
    short = make_application("short", retention_days=7)
    long = make_application("long", retention_days=90)
    now = timezone.now()
    expired = stored_log(short, time=now - timedelta(days=8))
    kept = stored_log(short, time=now - timedelta(days=6))
    old_but_kept = stored_log(long, time=now - timedelta(days=30))

    assert logs_purge_expired(now=now, dry_run=True) == {"long": 0, "short": 1}
    assert LogRecord.objects.count() == 3
    out = StringIO()
    call_command("purge_expired_sessions", stdout=out)

    assert "short: deleted 1 expired log record(s)" in out.getvalue()
    assert set(LogRecord.objects.values_list("pk", flat=True)) == {kept.pk, old_but_kept.pk}
    assert not LogRecord.objects.filter(pk=expired.pk).exists()


def test_an_actions_trace_id_is_stored_in_lower_case() -> None:
    _, token = new_application("shop")
    trace = "5B8EFFF798038103D269B633813FC60C"

    response = post(Client(), token, batch(session(actions=[action(0, trace_id=trace)])))

    assert response.status_code == 200
    assert UserAction.objects.get().trace_id == trace.lower()


@pytest.mark.parametrize("trace_id", ["xyz", "0" * 32, "5b8efff7980381", 42])
def test_an_invalid_trace_id_refuses_the_beacon(trace_id: object) -> None:
    _, token = new_application("shop")

    response = post(Client(), token, batch(session(actions=[action(0, trace_id=trace_id)])))

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "/sessions/0/actions/0/trace_id"
    assert not UserAction.objects.exists()


def test_a_trace_id_holding_a_card_number_is_dropped_not_stored() -> None:
    _, token = new_application("shop")
    holds_card = "4111111111111111" + "ab" * 8

    post(Client(), token, batch(session(actions=[action(0, trace_id=holds_card)])))

    assert UserAction.objects.get().trace_id is None
