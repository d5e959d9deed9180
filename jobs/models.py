"""Background jobs with progress: one row per job, the only state a job keeps.

A job is a *kind* (a registered function, ``jobs.kinds``) run with *params*
on a django-q2 worker. While it runs it reports progress (``done`` of
``total``), counts (its result summary so far) and a *cursor* (where to go on
from) through ``jobs.services.Progress``; every report is also a heartbeat. A
job whose worker died (no heartbeat for ``RUMVAULT_JOB_STALE_SECONDS``) is
resumed from its cursor when started again.

Nothing personal is stored here: params, counts and cursors are slugs, flags,
numbers and primary keys; ``error`` is the exception's class name only.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
START_REMASK = "start_remask"


class Job(models.Model):
    kind = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=JobState, default=JobState.QUEUED)
    # The username, not a foreign key (like audit records): it outlives the account.
    started_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(null=True, blank=True)
    # Seconds spent running, over every run (a resumed job adds to it): the rate's base.
    active_seconds = models.FloatField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    runs = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [(START_REMASK, "Can start re-masking of stored data")]
        indexes = [models.Index(fields=["kind", "state"], name="job_kind_state")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def rate(self) -> float | None:
        """Units per second while running (None before the first report)."""
        if not self.active_seconds:
            return None
        return self.done / self.active_seconds

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return min(100.0, 100.0 * self.done / self.total)

    def is_stale(self, now: datetime, stale_seconds: int) -> bool:
        """A running job whose worker stopped reporting (killed, crashed)."""
        if self.state != JobState.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at or self.created_at
        return (now - last).total_seconds() > stale_seconds
