"""Long-running maintenance and data-subject work runs as background jobs with progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from jobs.models import Job, JobState
from logs.models import LogRecord
from maintenance.jobs import RETENTION, retention_daily
from maintenance.models import RetentionRun
from sessions_app.models import UserSession
from tests.data_subjects.planted import client_for, create, officer, plant
from tests.factories import make_application, stored_log, stored_session

pytestmark = pytest.mark.django_db


def test_retention_is_scheduled_daily_on_the_job_worker() -> None:
    schedule = Schedule.objects.get(func="maintenance.jobs.retention_daily")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)


def test_the_daily_job_deletes_old_sessions_and_log_records_once_a_day() -> None:
    shop = make_application("shop", retention_days=10)
    stored_session(shop, started_at=timezone.now() - timedelta(days=11))
    fresh = stored_session(shop, started_at=timezone.now() - timedelta(days=1))
    stored_log(shop, time=timezone.now() - timedelta(days=11))
    fresh_log = stored_log(shop, time=timezone.now() - timedelta(days=1))

    job = retention_daily()  # the suite runs jobs in place (RUMVAULT_JOBS_SYNC)
    # (the 11-day-old session and log record are past the 10 days)

    job.refresh_from_db()
    assert (job.kind, job.state) == (RETENTION, JobState.DONE)
    # Steps: whole months (partitions), sessions, log records, audit, audit subjects, exports.
    assert (job.done, job.total) == (6, 6)
    run = RetentionRun.objects.get(pk=job.counts["run"])
    assert run.deleted["sessions"] == {"shop": 1}
    assert run.deleted["log_records"] == {"shop": 1}
    assert list(UserSession.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(LogRecord.objects.values_list("pk", flat=True)) == [fresh_log.pk]
    # Again the same day: the day's job is there already, nothing runs twice.
    assert retention_daily().pk == job.pk
    assert RetentionRun.objects.count() == 1


def test_a_data_subject_request_runs_as_a_job_with_progress() -> None:
    plant()
    created = create(client_for(officer("privacy")), "erase").json()
    assert not Job.objects.exists()  # waiting for the second officer

    client_for(officer("privacy2")).post(f"/api/v1/data-subject-requests/{created['id']}/approve/")

    job = Job.objects.get(kind="data_subject_request")
    assert job.state == JobState.DONE
    assert job.params == {"request_id": created["id"], "run_by": "privacy2"}
    assert job.total > 0
    assert job.done == job.total
    assert job.counts == {"request": created["id"], "ran": True, "status": "done"}
