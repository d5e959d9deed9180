"""A retention run deletes what is past its retention, keeps the chain verifiable, logs itself."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from data_subjects.models import DataSubjectRequest
from maintenance.models import RetentionRun
from maintenance.retention import retention_run
from permissions.chain import chain_verify
from permissions.models import AuditRecord, AuditSubject
from sessions_app.models import UserSession
from tests.data_subjects.planted import client_for, create, officer, plant
from tests.factories import make_application, stored_session

pytestmark = pytest.mark.django_db


def test_a_run_deletes_old_sessions_audit_records_and_exports_and_records_itself(
    settings: object,
) -> None:
    settings.RUMVAULT_AUDIT_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    plant()
    export_id = create(client_for(officer("privacy")), "export").json()["id"]
    shop = make_application("old-shop", retention_days=10)
    old = stored_session(shop, user_tag="old@example.com",
                         started_at=timezone.now() - timedelta(days=11))  # fmt: skip
    fresh = stored_session(shop, started_at=timezone.now() - timedelta(days=1))
    AuditRecord.objects.create(created_at=timezone.now() - timedelta(days=40), username="x",
                               kind="reveal", method="GET", path="/")  # fmt: skip
    later = timezone.now() + timedelta(days=45)  # the planted data and its audit are old by then

    dry = retention_run(started_by="cron", dry_run=True, now=timezone.now())
    assert dry.deleted["sessions"]["old-shop"] == 1
    assert UserSession.objects.filter(pk=old.pk).exists()

    run = retention_run(started_by="cron", now=later)

    assert run.status == "done"
    assert run.deleted["sessions"]["old-shop"] == 2
    assert run.deleted["sessions"]["shop"] == 3  # two of Jane, one of Bob
    assert not UserSession.objects.filter(pk__in=[old.pk, fresh.pk]).exists()
    assert run.deleted["exports"] == 1
    assert DataSubjectRequest.objects.get(pk=export_id).export_ciphertext is None
    assert run.deleted["audit_records"] > 0
    assert run.deleted["audit_subjects"] >= 1
    assert not AuditSubject.objects.exists()
    assert chain_verify().holds
    record = AuditRecord.objects.get(kind="retention")
    assert record.changes["run"] == run.pk
    assert RetentionRun.objects.count() == 2


def test_the_command_prints_what_it_deleted() -> None:
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "audit_records: would delete 0" in out.getvalue()
