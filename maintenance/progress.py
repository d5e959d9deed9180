"""How long-running work reports progress, so any runner can show it.

Long-running work (data-subject requests, key rotation, retention) is written
as resumable service functions that take a ``progress`` callback; they store
their own checkpoints in their own models, in the same transaction as each
batch. A command prints the progress, a test collects it, a job runner
forwards it to its job record; the work does not care which.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, *, done: int, total: int, step: str) -> None:
        """``done`` of ``total`` units of ``step`` (e.g. "sessions") are finished."""


def no_progress(*, done: int, total: int, step: str) -> None:
    """For callers that do not watch."""
