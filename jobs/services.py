"""Starting and running background jobs (django-q2, database broker), with progress.

The API for other apps is two functions and one object:

* ``job_start(kind=..., params=..., user=...) -> Job`` queues a job (or, with
  ``run_now=True``, runs it in the calling process: the management commands
  do, to print progress as it goes). An unfinished job of the same kind and
  params is not started twice: a queued or running one is returned as it is,
  one whose worker died (stale heartbeat) is resumed from its cursor.
* ``job_run(job_id)`` is what the worker calls (``jobs.tasks.run_job``).
* ``Progress`` is handed to the runner: ``progress.report(done=..., total=...,
  counts=..., cursor=...)`` saves at most every ``REPORT_INTERVAL`` seconds
  (``force=True`` saves now); each save is also the heartbeat.

With ``Q_CLUSTER["sync"]`` (``RUMVAULT_JOBS_SYNC``, the test suite) django-q2
runs the job inside ``job_start``'s caller, so no worker is needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from jobs import kinds
from jobs.models import UNFINISHED, Job, JobState

logger = logging.getLogger(__name__)
REPORT_INTERVAL = 1.0  # seconds between saved progress reports


class JobRefused(Exception):
    """The user may not start this kind of job, or the params are not accepted."""


class Progress:
    """What a runner reports through; also tells it where to resume (``cursor``)."""

    def __init__(self, job: Job, *, on_report: Callable[[Job], None] | None = None) -> None:
        self.job = job
        self.cursor: dict[str, Any] = dict(job.cursor)
        self.counts: dict[str, Any] = dict(job.counts)
        self._on_report = on_report
        self._run_started = time.monotonic()
        self._base_seconds = job.active_seconds
        self._last_save = 0.0

    def report(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        counts: dict[str, Any] | None = None,
        cursor: dict[str, Any] | None = None,
        force: bool = False,
    ) -> None:
        job = self.job
        if done is not None:
            job.done = done
        if total is not None:
            job.total = total
        if counts is not None:
            self.counts = counts
        if cursor is not None:
            self.cursor = cursor
        now = time.monotonic()
        job.active_seconds = self._base_seconds + (now - self._run_started)
        if force or now - self._last_save >= REPORT_INTERVAL:
            self._last_save = now
            job.counts, job.cursor = self.counts, self.cursor
            job.heartbeat_at = timezone.now()
            job.save(
                update_fields=[
                    "done", "total", "counts", "cursor", "active_seconds", "heartbeat_at"
                ]
            )  # fmt: skip
        if self._on_report is not None:
            self._on_report(job)


def job_start(
    *,
    kind: str,
    params: dict[str, Any],
    user: Any,
    run_now: bool = False,
    on_report: Callable[[Job], None] | None = None,
) -> Job:
    """Queue (or with ``run_now`` run) a job of ``kind``; see the module docstring.

    ``user`` is a Django user (its permission for the kind is checked) or, for
    a management command, a string naming the operator (commands run with the
    operator's database rights, like ``configure_application``).
    """
    job_kind = kinds.get(kind)
    if not isinstance(user, str) and not user.has_perm(job_kind.permission):
        raise JobRefused(f"starting a {kind} job needs the '{job_kind.permission}' permission")
    username = user if isinstance(user, str) else user.get_username()
    job, start = _claim(kind=kind, params=params, username=username)
    if not start:
        return job
    if run_now:
        job_run(job.pk, on_report=on_report)
        job.refresh_from_db()
    elif settings.Q_CLUSTER.get("sync"):
        async_task("jobs.tasks.run_job", job.pk)  # runs here and now
        job.refresh_from_db()
    else:
        # On commit: a worker must not look for the row before it exists.
        transaction.on_commit(lambda: async_task("jobs.tasks.run_job", job.pk))
    return job


@transaction.atomic
def _claim(*, kind: str, params: dict[str, Any], username: str) -> tuple[Job, bool]:
    """The job to run: a stale unfinished one of the same kind and params, or a new one.

    Returns (job, whether to start it); a live unfinished one is returned unstarted.
    """
    now = timezone.now()
    stale_after = settings.RUMVAULT_JOB_STALE_SECONDS
    # Compared in Python: JSON equality in SQL depends on key order on SQLite.
    unfinished = next(
        (
            job
            for job in Job.objects.select_for_update()
            .filter(kind=kind, state__in=UNFINISHED)
            .order_by("-created_at")
            if job.params == params
        ),
        None,
    )
    if unfinished is not None:
        queued_too_long = unfinished.state == JobState.QUEUED and (
            now - unfinished.created_at > timedelta(seconds=stale_after)
        )
        if not (unfinished.is_stale(now, stale_after) or queued_too_long):
            return unfinished, False
        unfinished.state = JobState.QUEUED
        unfinished.heartbeat_at = now  # claimed: another starter sees it alive
        unfinished.save(update_fields=["state", "heartbeat_at"])
        return unfinished, True
    return Job.objects.create(kind=kind, params=params, started_by=username), True


def job_run(job_id: int, *, on_report: Callable[[Job], None] | None = None) -> None:
    """Run (or resume) job ``job_id`` to its end; marks it done or failed."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state not in UNFINISHED:
            return
        now = timezone.now()
        if job.state == JobState.RUNNING and not job.is_stale(
            now, settings.RUMVAULT_JOB_STALE_SECONDS
        ):
            return  # another worker has it
        job.state = JobState.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.runs += 1
        job.save(update_fields=["state", "started_at", "heartbeat_at", "runs"])
    progress = Progress(job, on_report=on_report)
    try:
        summary = kinds.get(job.kind).run(dict(job.params), progress)
    except Exception as error:
        # The class name only: a message could quote data the job was reading.
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        progress.report(force=True)
        job.state = JobState.FAILED
        job.error = type(error).__name__
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        raise
    progress.report(counts=summary, force=True)
    job.state = JobState.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "finished_at"])
