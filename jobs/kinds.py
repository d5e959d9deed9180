"""The kinds of background job: a name, the function that runs it, and who may start it.

An app registers its kinds when it is ready (``AppConfig.ready``)::

    register(JobKind(name="remask", run=remask_job, permission="jobs.start_remask"))

``run(params, progress)`` does the work and returns the result summary (a
JSON-able dict of counts, no personal data). It must be resumable: it reads
``progress.cursor`` (empty on the first run) and passes a new cursor with
every report, so that a job started again after its worker died goes on from
there. Work done between two reports may be done twice, so a runner's steps
must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.services import Progress

Runner = Callable[[dict[str, Any], "Progress"], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Runner
    permission: str  # "<app>.<codename>" a user needs to start it
    label: str = ""


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    _KINDS[kind.name] = kind


def get(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r}") from None


def all_kinds() -> list[JobKind]:
    return list(_KINDS.values())
