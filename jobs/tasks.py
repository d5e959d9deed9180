"""django-q2's entry point: the worker calls this with the job's primary key only."""

from __future__ import annotations

from jobs.services import job_run


def run_job(job_id: int) -> None:
    job_run(job_id)
