"""Key rotations and retention runs: their progress, checkpoints and outcome.

Both are long-running and resumable (``maintenance.rotation``,
``maintenance.retention``): the checkpoint is written with each batch, so a
run that was stopped continues where it was, and the row is what the console's
"running jobs" shows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Keyring(models.TextChoices):
    PSEUDONYM = "pseudonym", "RUMVAULT_PSEUDONYM_KEYS"
    BLIND_INDEX = "blind-index", "RUMVAULT_BLIND_INDEX_KEYS"
    ENCRYPTION = "encryption", "RUMVAULT_ENCRYPTION_KEYS"
    AUDIT = "audit", "RUMVAULT_AUDIT_KEYS"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FAILED = "failed", "Stopped by an error; can be resumed"
    DONE = "done", "Done"


class KeyRotation(models.Model):
    """Re-keying one keyring's stored values to its newest key."""

    keyring = models.CharField(max_length=16, choices=Keyring)
    target_key_id = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=RunStatus, default=RunStatus.RUNNING)
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # {"<store>": last primary key handled} (stores: maintenance.rotation.STORES)
    checkpoint = models.JSONField(default=dict)
    # {"<store>": values re-keyed}
    rekeyed = models.JSONField(default=dict)
    # What still uses an older key and whether it can be retired (rotation_report).
    report = models.JSONField(default=dict)
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Rotation of {self.keyring} to key {self.target_key_id} ({self.status})"


class RetentionRun(models.Model):
    """One retention run: what it deleted, per application and per kind of data."""

    status = models.CharField(max_length=16, choices=RunStatus, default=RunStatus.RUNNING)
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    # {"sessions": {"<slug>": n}, "audit_records": n, "audit_subjects": n, "exports": n}
    deleted = models.JSONField(default=dict)
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Retention run {self.pk} ({self.status})"
