"""Where work leaves the request that asked for it: the background-job runner (``jobs``).

``request_run_later`` is called once a request may run (an export when it is
created, an anonymisation or erasure when it is approved, any of them when
resumed). It queues a ``data_subject_request`` job (django-q2 on the
project's own database; ``make demo`` and ``make serve`` start a worker),
which calls ``services.request_run``. The request keeps its own checkpoint,
committed with each batch, so a job started again after its worker died goes
on from there; the job's record shows the progress in the admin. With
``RUMVAULT_JOBS_SYNC`` (the test suite) the job runs here, before the
response. A failure is logged (by type only) and leaves the request
``failed`` and resumable, so the HTTP request that approved it still succeeds.
"""

from __future__ import annotations

import logging
from typing import Any

from data_subjects.models import RUN_REQUEST
from data_subjects.services import NotRunnable, request_run
from jobs.kinds import JobKind, register
from jobs.services import Progress, job_start

logger = logging.getLogger(__name__)

JOB_KIND = "data_subject_request"


def request_run_later(*, request_id: int, run_by: str = "worker") -> None:
    try:
        # The caller has checked who may run it (the approval, the resume); a job
        # started under a name is not checked again.
        job_start(kind=JOB_KIND, params={"request_id": request_id, "run_by": run_by}, user=run_by)
    except Exception as error:  # the request is marked failed; it can be resumed
        logger.error("data-subject request %s failed: %s", request_id, type(error).__name__)


def _run_job(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    def report(*, done: int, total: int, step: str) -> None:
        progress.report(done=done, total=total, cursor={"step": step})

    request_id = int(params["request_id"])
    try:
        request = request_run(request_id=request_id, run_by=str(params["run_by"]), progress=report)
    except NotRunnable:
        logger.info("data-subject request %s is not runnable now", request_id)
        return {"request": request_id, "ran": False}
    return {"request": request.pk, "ran": True, "status": request.status}


register(
    JobKind(
        name=JOB_KIND,
        run=_run_job,
        permission=f"data_subjects.{RUN_REQUEST}",
        label="Run a data-subject request (export, anonymise, erase)",
    )
)
