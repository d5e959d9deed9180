"""Maintenance as background jobs (``jobs``): the daily retention run and key rotation.

``rotate_keys`` runs its rotation as a ``key_rotation`` job in its own process
(the job's record shows the progress in the admin, and a job started again
after its process died resumes the rotation).

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
from maintenance.rotation import rotation_run

RETENTION = "retention"
KEY_ROTATION = "key_rotation"
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


def _run_rotation(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    def report(*, done: int, total: int, step: str) -> None:
        progress.report(done=done, total=total, cursor={"step": step})

    rotation = rotation_run(rotation_id=int(params["rotation"]), progress=report)
    return {"rotation": rotation.pk, "rekeyed": rotation.rekeyed}


register(
    JobKind(
        name=KEY_ROTATION,
        run=_run_rotation,
        permission="maintenance.add_keyrotation",
        label="Re-key stored values to a keyring's newest key",
    )
)
