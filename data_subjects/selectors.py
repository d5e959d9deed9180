"""Reads of data-subject requests: lists and one request as the API and the console show it."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import Http404

from data_subjects.models import DataSubjectRequest, RequestKind, RequestStatus
from data_subjects.services import is_stalled
from data_subjects.subject_data import Subject, sessions_of
from permissions import subjects
from permissions.models import AuditRecord
from permissions.selectors import json_list_contains_any
from sessions_app.api.serializers import iso_datetime

# Columns a list needs; never the ciphertexts.
_LIST_COLUMNS = (
    "id", "kind", "status", "reason", "ticket", "created_by_username", "created_at",
    "approved_by_username", "approved_at", "run_by_username", "started_at", "heartbeat_at",
    "finished_at", "dry_run", "found", "done", "progress_done", "progress_total", "last_error",
    "export_expires_at", "created_by_id",
)  # fmt: skip


def _requests() -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.only(*_LIST_COLUMNS).annotate(
        has_receipt=ExpressionWrapper(Q(receipt__isnull=False), output_field=BooleanField())
    )


def request_list(*, statuses: tuple[str, ...] = ()) -> QuerySet[DataSubjectRequest]:
    requests = _requests()
    if statuses:
        requests = requests.filter(status__in=statuses)
    return requests.order_by("-created_at", "-id")


def request_get(pk: int) -> DataSubjectRequest:
    request = _requests().filter(pk=pk).first()
    if request is None:
        raise Http404
    return request


def receipt_of(pk: int) -> dict[str, Any] | None:
    receipt = DataSubjectRequest.objects.filter(pk=pk).values_list("receipt", flat=True).first()
    return receipt if isinstance(receipt, dict) else None


def export_available(request: DataSubjectRequest) -> bool:
    return (
        request.kind == RequestKind.EXPORT
        and request.status == RequestStatus.DONE
        and request.export_expires_at is not None
    )


def present(request: DataSubjectRequest) -> dict[str, Any]:
    """One request as JSON: status, counts, progress; never the customer's tag."""
    return {
        "id": request.pk,
        "kind": request.kind,
        "status": request.status,
        "reason": request.reason,
        "ticket": request.ticket,
        "created_by": request.created_by_username,
        "created_at": iso_datetime(request.created_at),
        "approved_by": request.approved_by_username or None,
        "approved_at": iso_datetime(request.approved_at),
        "run_by": request.run_by_username or None,
        "started_at": iso_datetime(request.started_at),
        "finished_at": iso_datetime(request.finished_at),
        "dry_run": request.dry_run,
        "found": request.found,
        "done": request.done,
        "progress": {"done": request.progress_done, "total": request.progress_total},
        "stalled": is_stalled(request),
        "error": request.last_error or None,
        "receipt_available": bool(getattr(request, "has_receipt", False)),
        "export_available": export_available(request),
    }


def audit_records_about(normalised_tag: str) -> tuple[QuerySet[AuditRecord], list[int]]:
    """ "Who looked at this customer?": every audit record that names them or their sessions.

    Records naming the customer (searches, data-subject requests, exports) carry
    their per-subject value, or in records older than per-subject keys, their
    audit hash; records of reveals name the sessions. Returns the records,
    newest first, and the customer's current session ids. After an erasure
    neither leads anywhere: that is the point (``permissions.subjects``).
    """
    session_ids = list(sessions_of(Subject.of(normalised_tag)).values_list("pk", flat=True))
    named = AuditRecord.objects.filter(search_tag_hash__in=subjects.recorded_values(normalised_tag))
    touching = json_list_contains_any(AuditRecord.objects.all(), "session_ids", session_ids)
    records = (named | touching).distinct().order_by("-seq")
    return records, session_ids
