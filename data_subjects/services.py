"""Data-subject requests: create (with a dry run), approve (two people), run (resumable), receipt.

The flow::

    request_create  ->  pending_approval (anonymise, erase)  --request_approve-->  approved
                    ->  approved (export: no approval)
    approved / failed / stalled running  --request_run-->  running  -->  done

``request_run`` is the background work: the seam a job runner calls
(``data_subjects.dispatch``). It works in batches of sessions; each batch's
changes, the counts and the checkpoint are committed together, so a run that
is killed halfway continues where it stopped and counts nothing twice.
Finding the person's sessions again on every batch makes it idempotent: an
anonymised session no longer carries the blind index, an erased one is gone.

When an anonymisation or erasure is done, the person's audit subject key is
destroyed (``permissions.subjects``), so audit records about them cannot be
linked to them any more, and nothing else rumvault keeps names them: the
request's encrypted tag is wiped, and so are exports and encrypted tags of
their earlier requests.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from data_subjects import export, sealed, subject_data
from data_subjects.models import (
    APPROVE_REQUEST,
    CREATE_REQUEST,
    RUN_REQUEST,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
)
from data_subjects.receipts import build_receipt
from data_subjects.subject_data import Counts, Subject
from fieldsets.models import Fieldset
from maintenance.progress import Progress, no_progress
from permissions import subjects
from permissions.audit import Actor, audit_event
from permissions.models import AuditKind
from privacy.detectors import mask_text
from sessions_app import user_tags
from sessions_app.models import Application

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
REASON_MAX = 2000
TICKET_MAX = 100
User = AuthUser | AnonymousUser


class RequestRefused(Exception):
    """A request cannot be created, approved or run; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class NotPermitted(RequestRefused):
    status = 403


class WrongStatus(RequestRefused):
    status = 409


def _perm(codename: str) -> str:
    return f"data_subjects.{codename}"


def _require(user: User, codename: str, what: str) -> None:
    if not (user.is_authenticated and user.has_perm(_perm(codename))):
        raise NotPermitted(f"{what} needs the '{_perm(codename)}' permission.")


# --- create ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    normalised_tag: str
    kind: RequestKind
    reason: str
    ticket: str


def _free_text(value: object, *, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RequestRefused(f"Give the {name} as a non-empty string.", path=f"/{name}")
    text = value.strip()
    if len(text) > limit:
        raise RequestRefused(f"The {name} is longer than {limit} characters.", path=f"/{name}")
    if any(unicodedata.category(char) == "Cc" for char in text):
        # NUL, escape codes, line breaks: no place in a one-line text (PostgreSQL
        # refuses NUL outright; a receipt should not carry the others).
        raise RequestRefused(f"The {name} contains control characters.", path=f"/{name}")
    if mask_text(text) != text:
        # It outlives the erasure (receipt, audit trail): it must not name the person.
        raise RequestRefused(
            f"The {name} contains personal data (an email, IP, card number, ...). Describe the "
            "request without it: the ticket reference is how the customer is identified.",
            path=f"/{name}",
        )
    return text


BODY_KEYS = ("user_tag", "kind", "reason", "ticket")


def parse_new_request(body: object) -> NewRequest:
    """The request body, validated; ``RequestRefused`` (with a JSON pointer) echoes nothing."""
    if not isinstance(body, Mapping):
        raise RequestRefused("Send a JSON object with " + ", ".join(BODY_KEYS) + ".")
    unknown = [key for key in body if key not in BODY_KEYS]
    if unknown:
        # Not echoed: a key could be the email itself.
        raise RequestRefused("Unknown field(s). Allowed: " + ", ".join(BODY_KEYS) + ".")
    for key in BODY_KEYS:
        if key not in body:
            raise RequestRefused("This field is required.", path=f"/{key}")
    kind = body["kind"]
    if kind not in RequestKind.values:
        raise RequestRefused("Choose one of: " + ", ".join(RequestKind.values) + ".", path="/kind")
    try:
        normalised = user_tags.normalised_search_tag(body["user_tag"])
    except Exception as invalid:  # ValidationError; its message never echoes the tag
        messages = getattr(invalid, "message_dict", {}).get("user_tag", ["Invalid user tag."])
        raise RequestRefused(messages[0], path="/user_tag") from None
    return NewRequest(
        normalised_tag=normalised,
        kind=RequestKind(kind),
        reason=_free_text(body["reason"], name="reason", limit=REASON_MAX),
        ticket=_free_text(body["ticket"], name="ticket", limit=TICKET_MAX),
    )


def request_create(*, user: User, actor: Actor, new: NewRequest) -> DataSubjectRequest:
    """Create a request after a dry run; an export starts right away (no approval needed)."""
    _require(user, CREATE_REQUEST, "Creating a data-subject request")
    subject = Subject.of(new.normalised_tag)
    with transaction.atomic():
        dry_run = subject_data.count_by_application(subject)
        value = subjects.search_value(subjects.lookups_for(new.normalised_tag)[0])
        request = DataSubjectRequest.objects.create(
            kind=new.kind,
            status=(
                RequestStatus.APPROVED
                if new.kind == RequestKind.EXPORT
                else RequestStatus.PENDING_APPROVAL
            ),
            reason=new.reason,
            ticket=new.ticket,
            created_by=user if isinstance(user, AuthUser) else None,
            created_by_username=actor.username,
            subject=value,
            dry_run=dry_run,
        )
        request.subject_ciphertext = sealed.seal_text(
            new.normalised_tag, request_id=request.pk, purpose=sealed.TAG
        )
        request.save(update_fields=["subject_ciphertext"])
        audit_event(
            actor=actor,
            kind=AuditKind.REQUEST_CREATE,
            changes=_summary(request, counts=dry_run),
            applications=dry_run,
            subject=value,
        )
    if request.kind == RequestKind.EXPORT:
        _run_later(request.pk, run_by=actor.username)
        request.refresh_from_db()
    return request


def _summary(request: DataSubjectRequest, **extra: Any) -> dict[str, Any]:
    return {"request": request.pk, "kind": request.kind, "ticket": request.ticket, **extra}


def _run_later(request_id: int, *, run_by: str) -> None:
    from data_subjects.dispatch import request_run_later

    request_run_later(request_id=request_id, run_by=run_by)


# --- approve, resume -----------------------------------------------------------------------


def request_approve(*, user: User, actor: Actor, request_id: int) -> DataSubjectRequest:
    """A second privacy officer approves; nobody approves their own request. Then it runs."""
    _require(user, APPROVE_REQUEST, "Approving a data-subject request")
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        if request.created_by_id == user.pk or request.created_by_username == actor.username:
            raise NotPermitted("You created this request: another privacy officer must approve it.")
        if request.status != RequestStatus.PENDING_APPROVAL:
            raise WrongStatus(
                f"Only a request waiting for approval can be approved; this one "
                f"is {request.status}."
            )
        request.status = RequestStatus.APPROVED
        request.approved_by = user if isinstance(user, AuthUser) else None
        request.approved_by_username = actor.username
        request.approved_at = timezone.now()
        request.save(update_fields=["status", "approved_by", "approved_by_username", "approved_at"])
        audit_event(
            actor=actor,
            kind=AuditKind.REQUEST_APPROVE,
            changes=_summary(request, counts=request.dry_run),
            applications=request.dry_run,
            subject=request.subject,
        )
    _run_later(request.pk, run_by=actor.username)
    request.refresh_from_db()
    return request


def is_stalled(request: DataSubjectRequest) -> bool:
    """A running request whose runner stopped reporting (killed, restarted)."""
    limit = timedelta(seconds=settings.RUMVAULT_DSR_STALLED_AFTER_SECONDS)
    return (
        request.status == RequestStatus.RUNNING
        and request.heartbeat_at is not None
        and timezone.now() - request.heartbeat_at > limit
    )


def request_resume(*, user: User, actor: Actor, request_id: int) -> DataSubjectRequest:
    """Start again an approved request, or one that failed or stalled (it continues)."""
    _require(user, RUN_REQUEST, "Running a data-subject request")
    request = DataSubjectRequest.objects.get(pk=request_id)
    resumable = request.status in (RequestStatus.APPROVED, RequestStatus.FAILED)
    if not (resumable or is_stalled(request)):
        raise WrongStatus(
            f"This request is {request.status}; only an approved, failed or "
            "stalled request can be run."
        )
    _run_later(request.pk, run_by=actor.username)
    request.refresh_from_db()
    return request


# --- run ------------------------------------------------------------------------------


class NotRunnable(Exception):
    """The request is not in a state to run (still pending, done, or running elsewhere)."""


def _claim(request_id: int, run_by: str) -> DataSubjectRequest:
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        runnable = request.status in (RequestStatus.APPROVED, RequestStatus.FAILED)
        if not (runnable or is_stalled(request)):
            raise NotRunnable(f"request {request_id} is {request.status}")
        if request.subject_ciphertext is None:
            raise NotRunnable(f"request {request_id} no longer holds its subject")
        now = timezone.now()
        request.status = RequestStatus.RUNNING
        request.started_at = request.started_at or now
        request.heartbeat_at = now
        request.run_by_username = request.run_by_username or run_by
        request.last_error = ""
        if not request.checkpoint:
            tag = sealed.open_text(
                request.subject_ciphertext, request_id=request.pk, purpose=sealed.TAG
            )
            request.found = subject_data.count_by_application(Subject.of(tag))
            request.progress_total = subject_data.total(request.found)
            request.checkpoint = {"batches": 0, "after": 0}
        request.save()
        return request


def request_run(
    *, request_id: int, progress: Progress = no_progress, run_by: str = "worker"
) -> DataSubjectRequest:
    """Run (or continue) an approved request to the end; the job runner's entry point.

    Idempotent and resumable: call it again after a crash and it continues
    from the last committed batch. Raises ``NotRunnable`` for a request that
    is pending, done or being run by someone else; any other error marks the
    request ``failed`` (resumable) and propagates.
    """
    request = _claim(request_id, run_by)
    try:
        tag = sealed.open_text(
            request.subject_ciphertext or "", request_id=request.pk, purpose=sealed.TAG
        )
        subject = Subject.of(tag)
        if request.kind == RequestKind.EXPORT:
            document = _export(request, subject, progress)
        else:
            _change(request, subject, progress)
            document = None
        _finish(request, tag, document)
    except Exception as error:
        DataSubjectRequest.objects.filter(pk=request.pk, status=RequestStatus.RUNNING).update(
            status=RequestStatus.FAILED, last_error=type(error).__name__[:200]
        )
        raise
    if request.kind != RequestKind.EXPORT:
        _compact_sqlite()
    request.refresh_from_db()
    return request


def _change(request: DataSubjectRequest, subject: Subject, progress: Progress) -> None:
    """Anonymise or erase, one committed batch at a time."""
    treat = (
        subject_data.erase_batch
        if request.kind == RequestKind.ERASE
        else subject_data.anonymise_batch
    )
    while True:
        with transaction.atomic():
            locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
            batch = subject_data.next_batch(subject, size=BATCH_SIZE)
            if not batch:
                return
            counts = treat(batch)
            _advance(locked, counts, after=batch[-1][0])
        progress(done=locked.progress_done, total=locked.progress_total, step="records")


def _advance(request: DataSubjectRequest, counts: Counts, *, after: int) -> None:
    request.done = subject_data.add_counts(request.done, counts)
    request.progress_done = subject_data.total(request.done)
    request.progress_total = max(request.progress_total, request.progress_done)
    request.checkpoint = {
        "batches": int(request.checkpoint.get("batches", 0)) + 1,
        "after": after,
    }
    request.heartbeat_at = timezone.now()
    request.save(
        update_fields=["done", "progress_done", "progress_total", "checkpoint", "heartbeat_at"]
    )


def _export(request: DataSubjectRequest, subject: Subject, progress: Progress) -> str:
    """Read everything in batches into the document (read-only: a rerun simply starts over)."""
    slugs = dict(Application.objects.values_list("id", "slug"))
    children_types = subject_data.child_types()
    rendered: list[dict[str, Any]] = []
    counts: Counts = {}
    after = 0
    while True:
        batch = subject_data.next_batch(subject, after=after, size=BATCH_SIZE, lock=False)
        if not batch:
            break
        sessions, children, batch_counts = subject_data.read_batch(batch)
        for row in sessions:
            rendered.append(
                export.render_session(
                    row,
                    slug=slugs[row["application_id"]],
                    children={
                        record: children[record.name].get(row["id"], [])
                        for record in children_types
                    },
                )
            )
        counts = subject_data.add_counts(counts, batch_counts)
        after = batch[-1][0]
        DataSubjectRequest.objects.filter(pk=request.pk).update(
            heartbeat_at=timezone.now(), progress_done=subject_data.total(counts)
        )
        progress(done=subject_data.total(counts), total=request.progress_total, step="records")
    request.done = counts
    doc = export.document(
        request_id=request.pk,
        ticket=request.ticket,
        generated_at=timezone.now(),
        counts=counts,
        sessions=rendered,
    )
    return json.dumps(doc, ensure_ascii=False)


def _finish(request: DataSubjectRequest, tag: str, document: str | None) -> None:
    with transaction.atomic():
        locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        now = timezone.now()
        if document is not None:
            locked.done = request.done
            locked.progress_done = subject_data.total(request.done)
            locked.export_ciphertext = sealed.seal_text(
                document, request_id=locked.pk, purpose=sealed.EXPORT
            )
            locked.export_expires_at = now + timedelta(hours=settings.RUMVAULT_DSR_EXPORT_TTL_HOURS)
        else:
            _forget_person(locked, tag)
        record = audit_event(
            actor=Actor(
                username=locked.run_by_username,
                method="JOB",
                path=f"data-subject-request {locked.pk}",
            ),
            kind=AuditKind.REQUEST_RUN,
            changes=_summary(locked, found=locked.found, done=locked.done),
            applications=locked.done or locked.found,
            subject=locked.subject,
        )
        locked.status = RequestStatus.DONE
        locked.finished_at = now
        locked.heartbeat_at = now
        locked.subject_ciphertext = None
        locked.receipt = build_receipt(
            request_id=locked.pk,
            kind=locked.kind,
            ticket=locked.ticket,
            reason=locked.reason,
            created_by=locked.created_by_username,
            created_at=locked.created_at,
            approved_by=locked.approved_by_username,
            approved_at=locked.approved_at,
            run_by=locked.run_by_username,
            started_at=locked.started_at,
            finished_at=now,
            found=locked.found,
            done=locked.done,
            audit_seq=record.seq,
            audit_hash=record.hash,
        )
        locked.save()


def _forget_person(request: DataSubjectRequest, tag: str) -> None:
    """Destroy the audit subject key, and what earlier requests still hold about the person."""
    subjects.subject_forget(tag)
    earlier = DataSubjectRequest.objects.filter(subject=request.subject).exclude(pk=request.pk)
    earlier.filter(status=RequestStatus.DONE).update(
        export_ciphertext=None, export_expires_at=None, subject_ciphertext=None
    )
    # Requests still waiting can no longer run (their tag is wiped): closed, with the reason.
    earlier.exclude(status=RequestStatus.DONE).update(
        status=RequestStatus.DONE,
        subject_ciphertext=None,
        finished_at=timezone.now(),
        last_error=f"Superseded by request {request.pk} ({request.kind}).",
    )


def _compact_sqlite() -> None:
    """SQLite: move the WAL into the database file and empty it, so no old page lingers there.

    Deleted and overwritten content is zeroed in the file itself by
    ``PRAGMA secure_delete`` (``config.settings``). Best effort: with readers
    active the checkpoint may not finish; the next one completes it.
    """
    if connection.vendor != "sqlite":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cursor.fetchone()
    except OperationalError:  # a table locked by another statement: the same as busy
        busy = (1,)
    if busy and busy[0]:
        logger.warning("WAL checkpoint after a data-subject request was incomplete (busy)")


# --- reading the results ---------------------------------------------------------------


class ExportUnavailable(Exception):
    pass


def export_document(*, user: User, actor: Actor, request_id: int) -> dict[str, Any]:
    """The export document, decrypted; audited as an export of the person's data."""
    _require(user, CREATE_REQUEST, "Downloading an export")
    request = DataSubjectRequest.objects.get(pk=request_id)
    if request.kind != RequestKind.EXPORT:
        raise ExportUnavailable("This request is not an export.")
    if request.status != RequestStatus.DONE:
        raise ExportUnavailable(f"The export is not ready (the request is {request.status}).")
    if request.export_ciphertext is None:
        raise ExportUnavailable("The export has expired or was removed; create a new request.")
    doc: dict[str, Any] = json.loads(
        sealed.open_text(request.export_ciphertext, request_id=request.pk, purpose=sealed.EXPORT)
    )
    audit_event(
        actor=actor,
        kind=AuditKind.EXPORT,
        changes={"request": request.pk, "ticket": request.ticket},
        applications=doc["counts"],
        session_ids=[session["id"] for session in doc["sessions"]],
        fieldsets=Fieldset.objects.values_list("name", flat=True),
        subject=request.subject,
    )
    return doc
