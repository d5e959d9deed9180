"""Database reads of log records, always within the principal's record access.

Rows are ``.values()`` dicts of exactly the registry's columns (``LOG.columns``)
for ``FieldsetPolicy.mask_logs`` / ``mask_children``; masking and auditing is
``sessions_app.reads``' job.

The link to a session is resolved here, on read, from what the record
carries: its ``session_ref`` (the ``session_id`` attribute, stored in the
form ``UserSession.session_id`` has), or else a trace id that an action of a
session of the same application carries. Backend logs usually arrive before
the browser's beacon; resolving on read finds a session stored later just
the same, and nothing has to be rewritten when it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import BigIntegerField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from fieldsets.registry import LOG
from logs.filters import LOG_FILTER_FIELDS, LogFilterSet
from logs.models import LogRecord
from logs.queries import LogQuery
from permissions.policy import FieldsetPolicy
from sessions_app.models import UserAction, UserSession, applications_of

LogRows = QuerySet[LogRecord, dict[str, Any]]


def with_session(records: QuerySet[LogRecord]) -> QuerySet[LogRecord]:
    """``records`` annotated with ``session_pk``: the id of the session each belongs to."""
    by_ref = UserSession.objects.filter(
        application_id=OuterRef("application_id"), session_id=OuterRef("session_ref")
    ).values("id")[:1]
    by_trace = (
        UserAction.objects.filter(
            application_id=OuterRef("application_id"), trace_id=OuterRef("trace_id")
        )
        .order_by("session_id")
        .values("session_id")[:1]
    )
    return records.annotate(
        session_pk=Coalesce(Subquery(by_ref), Subquery(by_trace), output_field=BigIntegerField())
    )


# The key of a session row (``session_get``'s ``annotations``) that says whether
# any log record may belong to the session: ``log_candidates_exist``.
HAS_LOG_CANDIDATES = "has_log_candidates"


def log_candidates_exist() -> Exists:
    """For a session query: whether a log record of its application names the session
    (``session_ref``) or carries one of its actions' trace ids.

    ``session_logs`` reads nothing for a session without any: most sessions have
    no backend log records, and the session page then makes no query for
    them, a round trip PostgreSQL answered in 0.4 ms of the page's 4. Where
    some exist it costs two index probes more in the session's query.
    """
    traces = UserAction.objects.filter(
        application_id=OuterRef(OuterRef("application_id")),
        session_id=OuterRef(OuterRef("id")),
        trace_id__isnull=False,
    ).values("trace_id")
    return Exists(
        LogRecord.objects.filter(
            Q(application_id=OuterRef("application_id"))
            & (Q(session_ref=OuterRef("session_id")) | Q(trace_id__in=traces))
        )
    )


def logs_of_sessions(sessions: Iterable[tuple[int, int]]) -> QuerySet[LogRecord]:
    """The log records of these sessions, given as (id, application id) (any
    applications), annotated with ``session_pk``.

    The candidates are found by index (the sessions' ids as ``session_ref``,
    their actions' trace ids), then kept where ``with_session`` resolves them
    to one of these sessions, exactly as every read path links them. Every
    statement names the sessions' applications (``docs/scaling.md``).
    """
    pairs = list(sessions)
    ids = [pk for pk, _ in pairs]
    applications = applications_of(pairs)
    refs = UserSession.objects.keyed(pairs).values("session_id")
    traces = UserAction.objects.filter(
        application_id__in=applications, session_id__in=ids, trace_id__isnull=False
    ).values("trace_id")
    candidates = LogRecord.objects.filter(
        Q(application_id__in=applications) & (Q(session_ref__in=refs) | Q(trace_id__in=traces))
    )
    # A Q: the annotation is unknown to the type checker's model of LogRecord.
    return with_session(candidates).filter(Q(session_pk__in=ids))


def _linked_to(session: Mapping[str, Any], traces: QuerySet[Any] | list[str]) -> Q:
    """Candidates for the log records of ``session`` (a row read through ``session_get``):
    its ``session_ref``, or one of ``traces``, its actions' trace ids. Kept only where
    ``with_session`` resolves them to ``session``: a record naming another session in
    its ``session_id`` attribute is that session's, as on every read path."""
    return Q(application_id=session["application_id"]) & (
        Q(session_ref=session["session_id"]) | Q(trace_id__in=traces)
    )


def log_list(*, policy: FieldsetPolicy, query: LogQuery) -> LogRows:
    """Readable log records matching ``query``, newest first (keyset order: time, id)."""
    scope = list(query.application_ids)
    for name in query.filters:
        reads = LOG_FILTER_FIELDS[name]
        if reads is not None:
            policy.check_lookup(reads, scope)
    records = LogRecord.objects.filter(application_id__in=scope)
    filters = dict(query.filters)
    session_pk = filters.pop("session", None)
    if session_pk is not None:
        session = (
            UserSession.objects.filter(pk=session_pk, application_id__in=scope)
            .values("id", "application_id", "session_id")
            .first()
        )
        # A session that does not exist and one of an unreadable application: no rows alike.
        if session is None:
            records = records.none()
        else:
            traces = UserAction.objects.filter(
                application_id=session["application_id"],
                session_id=session["id"],
                trace_id__isnull=False,
            ).values("trace_id")
            records = records.filter(_linked_to(session, traces))
    if filters:
        records = LogFilterSet(policy=policy).apply(records, filters)
    records = with_session(records)
    if session_pk is not None:
        records = records.filter(Q(session_pk=session_pk))
    rows: LogRows = records.order_by("-time", "-id").values(*LOG.columns)
    return rows


def session_logs(
    *, session: Mapping[str, Any], actions: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The log records of a session already read through ``session_get``, oldest first.

    ``actions``: its action rows, already read (``action_list``); their trace ids
    are the links, so finding them costs no query. Without trace ids only
    ``session_ref`` links, and such a record resolves to this very session
    (``(application, session_id)`` is unique): its ``session_pk`` is known and the
    resolving subqueries are left out: the read of a session without trace ids went
    from 3.2 to 0.5 ms on SQLite and from 2.1 to 0.7 ms on PostgreSQL (medians of
    300, ``bench/read.py``'s detail session, another test suite running beside).
    """
    if session.get(HAS_LOG_CANDIDATES) is False:  # read with log_candidates_exist
        return []
    traces = sorted({action["trace_id"] for action in actions if action["trace_id"]})
    records = LogRecord.objects.filter(_linked_to(session, traces))
    if traces:
        records = with_session(records).filter(Q(session_pk=session["id"]))
    else:
        records = records.annotate(session_pk=Value(session["id"], output_field=BigIntegerField()))
    return list(records.order_by("time", "id").values(*LOG.columns))
