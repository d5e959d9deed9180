"""Data-subject requests: a customer asks for their data (export), or to be anonymised or erased.

One row per request. The customer's tag is kept only while the request needs
it, encrypted (``subject_ciphertext``, AES-GCM under ``RUMVAULT_ENCRYPTION_KEYS``
bound to the request), and wiped when the request is done. What stays is what
a receipt needs: counts per application, the officers, the times, and the
customer's per-subject audit value (``subject``), which an anonymisation or
erasure makes unlinkable like every other audit reference to the person.

Execution is resumable: ``progress``/``checkpoint`` are written in the same
transaction as each batch of work (``data_subjects.services.request_run``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RequestKind(models.TextChoices):
    EXPORT = "export", "Export everything held"
    ANONYMISE = "anonymise", "Anonymise (keep analytics)"
    ERASE = "erase", "Erase"


class RequestStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", "Waiting for a second officer's approval"
    APPROVED = "approved", "Approved, waiting to run"
    RUNNING = "running", "Running"
    FAILED = "failed", "Stopped by an error; can be resumed"
    DONE = "done", "Done"


# Kinds that change data: they need a second officer's approval.
NEEDS_APPROVAL = frozenset({RequestKind.ANONYMISE, RequestKind.ERASE})
# Permissions (codenames in this app).
CREATE_REQUEST = "create_request"
APPROVE_REQUEST = "approve_request"
RUN_REQUEST = "run_request"
VIEW_REQUEST = "view_datasubjectrequest"


class DataSubjectRequest(models.Model):
    kind = models.CharField(max_length=16, choices=RequestKind)
    status = models.CharField(max_length=20, choices=RequestStatus)
    reason = models.TextField()
    ticket = models.CharField(max_length=100)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_by_username = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approved_by_username = models.CharField(max_length=150, blank=True, default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    run_by_username = models.CharField(max_length=150, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # The normalised tag, encrypted and bound to this request; null once done.
    subject_ciphertext = models.TextField(null=True, blank=True)
    # The customer's per-subject audit value (permissions.subjects), as audit records carry it.
    subject = models.CharField(max_length=80, db_index=True)

    # Counts per application and record type: {"<slug>": {"session": n, "action": n}}.
    dry_run = models.JSONField(default=dict)  # at creation, shown to the approver
    found = models.JSONField(default=dict)  # when the run started
    done = models.JSONField(default=dict)  # processed so far (moves with each batch)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    checkpoint = models.JSONField(default=dict)
    last_error = models.CharField(max_length=200, blank=True, default="")

    # kind=export: the document, encrypted like the tag; wiped when it expires.
    export_ciphertext = models.TextField(null=True, blank=True)
    export_expires_at = models.DateTimeField(null=True, blank=True)
    # The signed receipt, once done (no tag, no other customer's data).
    receipt = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            (CREATE_REQUEST, "Can create data-subject requests"),
            (APPROVE_REQUEST, "Can approve data-subject requests"),
            (RUN_REQUEST, "Can run (and resume) data-subject requests"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=RequestKind.values), name="dsr_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RequestStatus.values), name="dsr_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk} ({self.kind}, {self.status})"

    @property
    def needs_approval(self) -> bool:
        return self.kind in NEEDS_APPROVAL
