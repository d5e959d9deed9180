"""The job infrastructure issue 11 and 14 share: start, permission, progress, status."""

from __future__ import annotations

from typing import Any

import pytest

from jobs import kinds
from jobs.models import Job, JobState
from jobs.selectors import job_status
from jobs.services import JobRefused, Progress, job_start
from tests.permissions.principals import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_kind() -> Any:
    def run(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
        start = progress.cursor.get("next", 0)
        for number in range(start, params["count"]):
            if params.get("fail_at") == number:
                raise RuntimeError("jane@example.com broke it")  # never stored
            progress.report(done=number + 1, total=params["count"], cursor={"next": number + 1})
        return {"counted": params["count"]}

    kinds.register(kinds.JobKind(name="count", run=run, permission="jobs.start_remask"))
    yield
    kinds._KINDS.pop("count")


def test_a_user_needs_the_kinds_permission(counting_kind: Any) -> None:
    with pytest.raises(JobRefused):
        job_start(kind="count", params={"count": 3}, user=make_user("agent"))
    assert not Job.objects.exists()


def test_a_job_runs_to_done_with_progress_and_a_summary(counting_kind: Any) -> None:
    job = job_start(kind="count", params={"count": 5}, user=make_user("root", superuser=True))
    assert job.state == JobState.DONE  # RUMVAULT_JOBS_SYNC in the test settings
    status = job_status(job)
    assert (status["done"], status["total"], status["percent"]) == (5, 5, 100.0)
    assert status["counts"] == {"counted": 5}
    assert status["started_by"] == "root"
    assert status["rate"] is not None
    assert status["finished_at"] is not None


def test_a_failed_job_keeps_only_the_error_class(counting_kind: Any) -> None:
    with pytest.raises(RuntimeError):
        job_start(kind="count", params={"count": 5, "fail_at": 2}, user="operator", run_now=True)
    job = Job.objects.get()
    assert job.state == JobState.FAILED
    assert job.error == "RuntimeError"
    assert job.done == 2
    assert job.cursor == {"next": 2}
    assert "jane" not in str(job_status(job))
