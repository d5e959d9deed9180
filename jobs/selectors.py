"""Reads of job status (admin, API, commands)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jobs.models import Job


def job_list(*, kind: str | None = None) -> QuerySet[Job]:
    jobs = Job.objects.all()
    return jobs if kind is None else jobs.filter(kind=kind)


def job_status(job: Job) -> dict[str, Any]:
    """A job as JSON: state, progress, rate, result summary; never personal data."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "params": job.params,
        "state": job.state,
        "started_by": job.started_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "rate": job.rate,
        "counts": job.counts,
        "runs": job.runs,
        "error": job.error,
    }
