"""The privacy officer's console: the audit trail, "who looked at this customer?", data-subject
requests, the history of changes and running jobs.

Thin views: the reads are ``permissions.selectors`` and ``data_subjects.selectors``,
the writes ``data_subjects.services`` (which enforce the permissions and the
two-person rule themselves; the views check them too, to show the right
buttons and a clear 403). An email only ever arrives in a POST body and is
never shown again; every lookup by email is audited like a search.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.console_forms import AuditFilterForm, NewRequestForm, WhoLookedForm
from dashboard.views import UNKNOWN_MESSAGE, dashboard_view
from data_subjects import selectors as requests_selectors
from data_subjects import services as requests_services
from data_subjects import subject_data
from data_subjects.export import csv_bundle
from data_subjects.models import (
    APPROVE_REQUEST,
    CREATE_REQUEST,
    RUN_REQUEST,
    VIEW_REQUEST,
    DataSubjectRequest,
    RequestStatus,
)
from maintenance.models import KeyRotation, RetentionRun, RunStatus
from permissions import subjects
from permissions.audit import Actor, audit_event
from permissions.drf import VIEW_AUDIT_PERMISSION
from permissions.models import (
    AUDIT_CHAIN_FIELDS,
    AUDIT_RECORD_FIELDS,
    CHANGE_KINDS,
    AuditKind,
    AuditRecord,
)
from permissions.selectors import (
    InvalidAuditFilter,
    audit_record_list,
    audit_records_filtered,
)
from sessions_app.csv_cells import csv_cell
from sessions_app.models import Application
from sessions_app.query_values import RecordIdField
from sessions_app.user_tags import normalise

PAGE_SIZE = 100
VIEW_REQUESTS = f"data_subjects.{VIEW_REQUEST}"
CONSOLE_PERMISSIONS = (VIEW_AUDIT_PERMISSION, VIEW_REQUESTS)


def may_use_console(user: Any) -> bool:
    return any(user.has_perm(permission) for permission in CONSOLE_PERMISSIONS)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"This page needs the '{permission}' permission.")


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "dashboard/refused.html", {"error": message}, status=status)


def _no_parameters(request: HttpRequest, allowed: frozenset[str] = frozenset()) -> bool:
    return set(request.GET) <= allowed


def _actor(request: HttpRequest) -> Actor:
    return Actor.of(request)


def _perms(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "audit": user.has_perm(VIEW_AUDIT_PERMISSION),
        "requests": user.has_perm(VIEW_REQUESTS),
        "create": user.has_perm(f"data_subjects.{CREATE_REQUEST}"),
        "approve": user.has_perm(f"data_subjects.{APPROVE_REQUEST}"),
        "run": user.has_perm(f"data_subjects.{RUN_REQUEST}"),
    }


# --- home and jobs -----------------------------------------------------------------------------


def _jobs() -> dict[str, Any]:
    active = (RequestStatus.APPROVED, RequestStatus.RUNNING, RequestStatus.FAILED)
    return {
        "requests": list(requests_selectors.request_list(statuses=active)[:50]),
        "rotations": list(KeyRotation.objects.all()[:20]),
        "rotations_active": KeyRotation.objects.exclude(status=RunStatus.DONE).count(),
        "retention_runs": list(RetentionRun.objects.all()[:20]),
    }


@dashboard_view
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not may_use_console(request.user):
        raise PermissionDenied("The privacy console needs the audit or request permissions.")
    pending = requests_selectors.request_list(statuses=(RequestStatus.PENDING_APPROVAL,))
    context = {
        "perms_console": _perms(request),
        "pending": list(pending[:20]) if _perms(request)["requests"] else [],
        **_jobs(),
    }
    return render(request, "dashboard/privacy/home.html", context)


@dashboard_view
@require_GET
def jobs(request: HttpRequest) -> HttpResponse:
    if not may_use_console(request.user):
        raise PermissionDenied("The privacy console needs the audit or request permissions.")
    if not _no_parameters(request):
        return _refused(request, UNKNOWN_MESSAGE, 400)
    return render(request, "dashboard/privacy/jobs.html", {"perms_console": _perms(request),
                                                            **_jobs()})  # fmt: skip


# --- the audit trail ------------------------------------------------------------------------


_AUDIT_PARAMETERS = frozenset([*AuditFilterForm.base_fields, "before", "format"])


# A page's position (``before``): the ``seq`` of the last record shown, a 64-bit number
# like a record id ("²" passes isdigit() but is no number; 20 digits overflow SQLite).
_PAGE_POSITION = RecordIdField(required=False)


def _records_page(
    records: QuerySet[Any], before: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    rows = audit_record_list(records).order_by("-seq")
    if before is not None:
        rows = rows.filter(seq__lt=before)
    page = list(rows[: PAGE_SIZE + 1])
    more = page[PAGE_SIZE]["seq"] if len(page) > PAGE_SIZE else None
    return page[:PAGE_SIZE], (page[PAGE_SIZE - 1]["seq"] if more else None)


@dashboard_view
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require(request, VIEW_AUDIT_PERMISSION)
    if not set(request.GET) <= _AUDIT_PARAMETERS:
        return _refused(request, UNKNOWN_MESSAGE, 400)
    slugs = list(Application.objects.values_list("slug", flat=True))
    data = {k: v for k, v in request.GET.items() if k in AuditFilterForm.base_fields}
    form = AuditFilterForm(data or None, applications=slugs)
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/privacy/audit.html", {"form": form}, status=400)
    try:
        before = _PAGE_POSITION.clean(request.GET.get("before", ""))
    except ValidationError:
        return _refused(request, "The page position is not valid.", 400)
    try:
        records = audit_records_filtered(form.filters() if form.is_bound else {})
    except InvalidAuditFilter:
        return _refused(request, "A filter is not valid.", 400)
    if request.GET.get("format") == "csv":
        return _audit_csv(records)
    if request.GET.get("format") not in (None, "", "html"):
        return _refused(request, "Unknown format: use csv.", 400)
    form.accepted = True
    page, next_before = _records_page(records, before)
    query = {k: v for k, v in data.items() if v}
    context = {
        "form": form,
        "records": [_record_view(row) for row in page],
        "next_before": next_before,
        "query": query,
        "csv_query": "&".join(f"{k}={v}" for k, v in {**query, "format": "csv"}.items()),
    }
    return render(request, "dashboard/privacy/audit.html", context)


CSV_COLUMNS = ("id", *AUDIT_RECORD_FIELDS, *AUDIT_CHAIN_FIELDS)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _audit_csv(records: QuerySet[Any]) -> StreamingHttpResponse:
    """Every matching record, streamed (no page limit), with its chain columns."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for record in records.order_by("seq").values_list(*CSV_COLUMNS).iterator(chunk_size=2000):
            yield writer.writerow([csv_cell(value) for value in record])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


def _record_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "changes_text": json.dumps(row["changes"], sort_keys=True) if row["changes"] else "",
    }


# --- who looked at this customer -------------------------------------------------------------


@dashboard_view
@require_http_methods(["GET", "POST"])
def who_looked(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_AUDIT_PERMISSION)
    if not _no_parameters(request):
        return _refused(request, UNKNOWN_MESSAGE, 400)
    form = WhoLookedForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "searched": False}
    if not form.is_bound:
        return render(request, "dashboard/privacy/who.html", context)
    if not form.is_valid():
        return render(request, "dashboard/privacy/who.html", context, status=400)
    tag = normalise(form.cleaned_data["email"])
    records, session_ids = requests_selectors.audit_records_about(tag)
    rows = list(audit_record_list(records).order_by("-seq")[:500])
    applications = subject_data.count_by_application(subject_data.Subject.of(tag))
    # This lookup is itself a search for the customer: audited like one.
    audit_event(
        actor=_actor(request),
        kind=AuditKind.SEARCH,
        changes={"lookup": "who looked"},
        applications=applications,
        session_ids=session_ids,
        subject=subjects.search_value(subjects.lookups_for(tag)[0]),
    )
    form.accepted = True
    context.update(searched=True, records=[_record_view(r) for r in rows],
                   session_count=len(session_ids))  # fmt: skip
    return render(request, "dashboard/privacy/who.html", context)


# --- history -------------------------------------------------------------------------------------


@dashboard_view
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_AUDIT_PERMISSION)
    if not set(request.GET) <= {"before"}:
        return _refused(request, UNKNOWN_MESSAGE, 400)
    try:
        before = _PAGE_POSITION.clean(request.GET.get("before", ""))
    except ValidationError:
        return _refused(request, "The page position is not valid.", 400)
    page, next_before = _records_page(AuditRecord.objects.filter(kind__in=CHANGE_KINDS), before)
    context = {"records": [_record_view(row) for row in page], "next_before": next_before}
    return render(request, "dashboard/privacy/history.html", context)


# --- data-subject requests --------------------------------------------------------------------


@dashboard_view
@require_http_methods(["GET", "POST"])
def requests(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_REQUESTS)
    if not _no_parameters(request):
        return _refused(request, UNKNOWN_MESSAGE, 400)
    perms = _perms(request)
    form = NewRequestForm(request.POST if request.method == "POST" else None)
    status = 200
    error = ""
    if form.is_bound:
        if not form.is_valid():
            status = 400
        else:
            try:
                new = requests_services.parse_new_request(
                    {name: form.cleaned_data[name] for name in requests_services.BODY_KEYS}
                )
                created = requests_services.request_create(
                    user=request.user,
                    actor=_actor(request),
                    new=new,
                )
            except requests_services.RequestRefused as refused:
                error, status = refused.message, refused.status
            else:
                return HttpResponseRedirect(reverse("dashboard:privacy-request", args=[created.pk]))
    context = {
        "form": form,
        "error": error,
        "perms_console": perms,
        "requests": list(requests_selectors.request_list()[:200]),
    }
    return render(request, "dashboard/privacy/requests.html", context, status=status)


def _request_context(request: HttpRequest, item: DataSubjectRequest) -> dict[str, Any]:
    perms = _perms(request)
    view = requests_selectors.present(item)
    own = item.created_by_id == request.user.pk
    return {
        "item": item,
        "view": view,
        "perms_console": perms,
        "own": own,
        "can_approve": perms["approve"]
        and not own
        and item.status == RequestStatus.PENDING_APPROVAL,
        "can_run": perms["run"]
        and (item.status in (RequestStatus.APPROVED, RequestStatus.FAILED) or view["stalled"]),
        "dry_run_rows": _count_rows(item.dry_run),
        "done_rows": _count_rows(item.done),
        "percent": int(100 * item.progress_done / item.progress_total)
        if item.progress_total
        else (100 if item.status == RequestStatus.DONE else 0),
    }


def _count_rows(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [
        {"application": slug, "sessions": by_type.get("session", 0),
         "others": {name: n for name, n in by_type.items() if name != "session"}}
        for slug, by_type in sorted(counts.items())
    ]  # fmt: skip


@dashboard_view
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW_REQUESTS)
    if not _no_parameters(request):
        return _refused(request, UNKNOWN_MESSAGE, 400)
    item = requests_selectors.request_get(pk)
    return render(request, "dashboard/privacy/request.html", _request_context(request, item))


def _act(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    _require(request, VIEW_REQUESTS)
    requests_selectors.request_get(pk)
    try:
        action(user=request.user, actor=_actor(request), request_id=pk)
    except requests_services.RequestRefused as refused:
        item = requests_selectors.request_get(pk)
        context = {**_request_context(request, item), "error": refused.message}
        return render(request, "dashboard/privacy/request.html", context, status=refused.status)
    return HttpResponseRedirect(reverse("dashboard:privacy-request", args=[pk]))


@dashboard_view
@require_POST
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, requests_services.request_approve)


@dashboard_view
@require_POST
def request_run(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, requests_services.request_resume)


@dashboard_view
@require_GET
def request_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW_REQUESTS)
    requests_selectors.request_get(pk)
    receipt = requests_selectors.receipt_of(pk)
    if receipt is None:
        return _refused(request, "The receipt exists once the request is done.", 409)
    response = HttpResponse(json.dumps(receipt, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="receipt-{pk}.json"'
    return response


@dashboard_view
@require_GET
def request_export(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, VIEW_REQUESTS)
    if not set(request.GET) <= {"format"} or request.GET.get("format", "json") not in (
        "json",
        "csv",
    ):
        return _refused(request, UNKNOWN_MESSAGE, 400)
    requests_selectors.request_get(pk)
    try:
        doc = requests_services.export_document(
            user=request.user,
            actor=_actor(request),
            request_id=pk,
        )
    except requests_services.RequestRefused as refused:
        return _refused(request, refused.message, refused.status)
    except requests_services.ExportUnavailable as unavailable:
        return _refused(request, str(unavailable), 409)
    if request.GET.get("format") == "csv":
        response = HttpResponse(csv_bundle(doc, subject_data.child_types()),
                                content_type="application/zip")  # fmt: skip
        response["Content-Disposition"] = f'attachment; filename="export-{pk}.zip"'
        return response
    response = HttpResponse(json.dumps(doc, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="export-{pk}.json"'
    return response
