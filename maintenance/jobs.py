"""Maintenance as background jobs (``jobs``): the daily retention run.

A django-q2 schedule (made by migration ``maintenance.0002``, editable in the
admin under "Scheduled tasks") calls ``retention_daily`` once a day on the
worker that ``make demo`` and ``make serve`` start; it queues a ``retention``
job, which runs ``retention.retention_run`` and records it (a ``RetentionRun``
row and an audit record). One job per day: starting it again the same day
returns the job already there, unless its worker died (then it resumes; a
retention run is idempotent).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from jobs.kinds import JobKind, register
from jobs.models import Job, JobState
from jobs.services import Progress, job_start
from maintenance.retention import retention_run

RETENTION = "retention"
SCHEDULER = "scheduler"  # the "who" of scheduled runs, in jobs and audit records


def retention_daily() -> Job:
    """Queue today's retention job (the schedule's entry point); today's, if it ran."""
    params = {"day": timezone.localdate().isoformat()}
    # Compared in Python: JSON equality in SQL depends on key order on SQLite.
    recent = Job.objects.filter(kind=RETENTION, state=JobState.DONE).order_by("-created_at")[:7]
    done = next((job for job in recent if job.params == params), None)
    return done or job_start(kind=RETENTION, params=params, user=SCHEDULER)


def _run_retention(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    def report(*, done: int, total: int, step: str) -> None:
        progress.report(done=done, total=total, cursor={"step": step})

    run = retention_run(started_by=SCHEDULER, progress=report)
    return {"run": run.pk, "deleted": run.deleted}


register(
    JobKind(
        name=RETENTION,
        run=_run_retention,
        permission="maintenance.add_retentionrun",
        label="Delete data past its retention",
    )
)
