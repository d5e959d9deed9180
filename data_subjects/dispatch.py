"""Where work leaves the request that asked for it: the seam to the background-job runner.

``request_run_later`` is called once a request may run (an export when it is
created, an anonymisation or erasure when it is approved, any of them when
resumed). It is the one place to hand ``services.request_run`` to a job
queue; ``request_run`` takes a progress callback and keeps its own checkpoint,
so a queue needs nothing else. Until the project has a job runner it runs
the request here, in this process, before the response is sent; a failure
is logged (by type only) and leaves the request ``failed`` and resumable, so
the HTTP request that approved it still succeeds.
"""

from __future__ import annotations

import logging

from data_subjects.services import NotRunnable, request_run

logger = logging.getLogger(__name__)


def request_run_later(*, request_id: int, run_by: str = "worker") -> None:
    try:
        request_run(request_id=request_id, run_by=run_by)
    except NotRunnable:
        logger.info("data-subject request %s is not runnable now", request_id)
    except Exception as error:  # the request is marked failed; it can be resumed
        logger.error("data-subject request %s failed: %s", request_id, type(error).__name__)
