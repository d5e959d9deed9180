"""Database reads of sessions and actions, always within the principal's record access.

Every function takes the request's ``FieldsetPolicy`` and returns only rows of
applications it may read; anything else is indistinguishable from a missing
row. A ``SessionQuery``'s filters and ordering are checked against the policy
here again (403 naming the field), even though the edge
(``sessions_app.queries``) already did: a query built in code is held to the
same rules. Rows are ``.values()`` dicts of exactly the registry's columns,
for ``FieldsetPolicy.mask_session`` / ``mask_actions``.

Masking and auditing what these rows reveal is ``sessions_app.reads``' job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection
from django.db.models import (
    Aggregate,
    Exists,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import BaseExpression, RawSQL
from django.db.models.functions import JSONArray
from django.http import Http404

from fieldsets.registry import ACTION, FIRST_FAILURE, PRODUCTS, SESSION
from permissions.policy import FieldsetPolicy
from sessions_app.filters import FILTER_FIELDS, SessionFilterSet
from sessions_app.models import FAILED_ACTION, DurationSort, UserAction, UserSession, is_failure
from sessions_app.queries import SessionQuery, application_scope
from sessions_app.user_tags import CustomerSearch

# Sessions as ``.values()`` dicts (what the policy masks), not model instances.
SessionRows = QuerySet[UserSession, dict[str, Any]]


def readable_sessions(policy: FieldsetPolicy) -> QuerySet[UserSession]:
    """Sessions of the readable applications, named also for a reader of every one:
    each statement then names the application it reads (``docs/scaling.md``,
    "Routable by application"). ``policy.applications`` lists every application
    for such a reader, read with the grants: no query of its own."""
    return UserSession.objects.filter(application_id__in=list(policy.applications))


def _apply(
    policy: FieldsetPolicy, sessions: QuerySet[UserSession], query: SessionQuery
) -> SessionRows:
    scope = application_scope(policy, query.application)
    for name in query.filters:
        path = FILTER_FIELDS[name]
        if path is not None:
            policy.check_lookup(path, scope)
    if query.ordering.reveals is not None:
        policy.check_lookup(query.ordering.reveals, scope)
    if query.filters:
        sessions = SessionFilterSet(policy=policy).apply(sessions, query.filters)
    sessions = sessions.annotate(**{SUMMARY_SOURCE: _summary_source_sql()})
    columns = [*SESSION.columns, SUMMARY_SOURCE]
    sort = query.ordering.sort
    if sort == "duration_sort":
        sessions = sessions.annotate(duration_sort=DurationSort())
        columns.append(sort)
    sign = "-" if query.ordering.descending else ""
    # Annotated: django-stubs types ``.values()`` only for literal field names.
    rows: SessionRows = sessions.order_by(f"{sign}{sort}", f"{sign}id").values(*columns)
    return rows


def session_list(*, policy: FieldsetPolicy, query: SessionQuery) -> SessionRows:
    """Readable sessions matching ``query``, in its keyset order."""
    return _apply(policy, readable_sessions(policy), query)


def customer_sessions(
    *, policy: FieldsetPolicy, search: CustomerSearch, query: SessionQuery | None = None
) -> SessionRows:
    """The readable sessions of one customer: the user-tag search of every read path.

    The API's search, the dashboard and the admin all come here, so they match
    the same rows, under every blind-index key (a rotation loses no session).
    This is the one lookup that crosses applications; ``sessions_app.reads``
    audits it.
    """
    sessions = readable_sessions(policy).filter(user_tag_blind_index__in=search.blind_indexes)
    return _apply(policy, sessions, query or SessionQuery())


# What selects sessions by one of their failed actions: the action's message and
# name, and failure-ness itself (what error_count is computed from).
FAILED_ACTION_LOOKUPS = ("error_count", "actions.error_message", "actions.name")


def sessions_with_failed_action(
    *, policy: FieldsetPolicy, query: SessionQuery, error_message: str, name: str
) -> SessionRows:
    """Readable sessions matching ``query`` with a failed action of this message and name.

    The overview's "most frequent errors" lists the sessions behind a row with
    this. A lookup on action fields: refused (403) where any of them is not
    fully visible in the query's applications, like any other lookup.
    """
    scope = application_scope(policy, query.application)
    for path in FAILED_ACTION_LOOKUPS:
        policy.check_lookup(path, scope)
    failed = UserAction.objects.filter(
        FAILED_ACTION,
        application_id=OuterRef("application_id"),
        session_id=OuterRef("id"),
        error_message=error_message,
        name=name,
    )
    return _apply(policy, readable_sessions(policy).filter(Exists(failed)), query)


def session_get(
    *, policy: FieldsetPolicy, pk: int, annotations: Mapping[str, BaseExpression] | None = None
) -> dict[str, Any]:
    """One readable session as a ``.values()`` row, with ``annotations`` if given.

    A missing id and a session of an unreadable application raise the same ``Http404``.
    """
    extra = dict(annotations or {})
    row: dict[str, Any] | None = (
        readable_sessions(policy)
        .filter(pk=pk)
        .annotate(**extra)
        .values(*SESSION.columns, *extra)
        .first()
    )
    if row is None:
        raise Http404
    return row


def action_list(*, session: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions of a session already read through ``session_get``, in ``seq`` order."""
    return list(
        UserAction.objects.filter(
            application_id=session["application_id"], session_id=session["id"]
        )
        .order_by("seq")
        .values(*ACTION.columns)
    )


def _storage(action_field: str) -> str:
    column = ACTION.field(action_field).storage
    if column is None:  # every action field is a column; a computed one has no place here
        raise LookupError(f"action field {action_field!r} has no column")
    return column


# What a summary reads of an action, in this order: the failure rule's columns and
# the digests' parts. Summaries are made from tuples of these (a list page's rows
# carry them as JSON arrays), positions resolved once, not per row.
_SUMMARY_COLUMNS = tuple(
    dict.fromkeys(
        [
            "seq",
            "type",
            "error_message",
            "http_status",
            *(_storage(name) for _, name in FIRST_FAILURE.parts),
            *(_storage(name) for _, name in PRODUCTS.parts),
        ]
    )
)
_AT = {column: position for position, column in enumerate(_SUMMARY_COLUMNS)}
_SEQ, _TYPE, _MESSAGE, _STATUS = (_AT[c] for c in ("seq", "type", "error_message", "http_status"))
_EVENT = _AT[_storage("product.event")]
# (key in the digest, position of its action field's column)
_FAILURE_PARTS = tuple((key, _AT[_storage(name)]) for key, name in FIRST_FAILURE.parts)
_PRODUCT_PARTS = tuple((key, _AT[_storage(name)]) for key, name in PRODUCTS.parts)
_PRODUCT_KEYS = tuple(key for key, _ in PRODUCTS.parts)


def _summarise(actions: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """A raw summary from a session's summary actions, each a tuple of ``_SUMMARY_COLUMNS``.

    Keyed by the digests' own keys (``FIRST_FAILURE.parts``): an entry is what
    the summary shows when none of its parts is hidden, so masking need not
    rebuild it (``FieldsetPolicy.mask_summary``).
    """
    first_failure = None
    products: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in sorted(actions, key=itemgetter(_SEQ)):
        if first_failure is None and is_failure(
            type=row[_TYPE], error_message=row[_MESSAGE], http_status=row[_STATUS]
        ):
            first_failure = {key: row[position] for key, position in _FAILURE_PARTS}
        if row[_EVENT]:
            product = tuple(row[position] for _, position in _PRODUCT_PARTS)
            entry = products.get(product)
            if entry is None:
                entry = products[product] = dict(zip(_PRODUCT_KEYS, product, strict=True))
                entry["count"] = 0
            entry["count"] += 1
    return {FIRST_FAILURE.name: first_failure, PRODUCTS.name: list(products.values())}


def summary_of(actions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One session's raw summary from its action rows already read (``action_list``):
    what ``action_summaries`` answers for it, without a query. The one-session read
    has every action at hand; a test holds the two equal.
    """
    return _summarise([tuple(row[column] for column in _SUMMARY_COLUMNS) for row in actions])


def action_summaries(*, sessions: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each session's raw summary (``fieldsets.registry.SUMMARY``) in one query, any page size.

    ``{session id: {"first_failure": {"seq": ..., "message": ...} | None,
    "products": [{"event": ..., "sku": ..., "name": ..., "count": n}]}}``, keyed
    by the digests' keys, for ``FieldsetPolicy.mask_summary``. Read at
    request time rather than kept at ingest: the query reads only the page's
    failed and product actions, a range of the ``(session, seq)`` index per
    session, and ``_summarise`` makes the summaries (one rule for all paths).
    A window function for the first failure cost more in query building than
    it saved (``bench/read.py``). Callers pass sessions they have already read
    through the policy (rows with ``id`` and ``application_id``, which the query
    names too). A list page needs no query of its own: its rows carry the same
    actions (``listed_summaries``).
    """
    sessions = list(sessions)
    ids = [session["id"] for session in sessions]
    summaries: dict[int, dict[str, Any]] = {pk: _summarise(()) for pk in ids}
    if not ids:
        return summaries
    applications = sorted({session["application_id"] for session in sessions})
    rows = (
        UserAction.objects.filter(application_id__in=applications, session_id__in=ids)
        .filter(FAILED_ACTION | ~Q(product_event=""))
        .order_by("session_id", "seq")
        .values_list("session_id", *_SUMMARY_COLUMNS)
    )
    by_session: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for session_id, *action in rows:
        by_session[session_id].append(action)
    for pk, actions in by_session.items():
        summaries[pk] = _summarise(actions)
    return summaries


# --- the summaries of a list, read with its page ------------------------------------

# The key of a list row that carries its session's summary actions (``_apply``).
SUMMARY_SOURCE = "summary_source"


class _JSONArrayAgg(Aggregate):
    """The grouped values as one JSON array: json_group_array (SQLite), jsonb_agg (PostgreSQL)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra)


def _summary_source() -> Subquery:
    """Each listed session's failed and product actions, ``_SUMMARY_COLUMNS`` per action.

    A correlated subquery of the page query: the same index ranges
    ``action_summaries`` reads, without a second query to build, send and
    convert. PostgreSQL runs it for the page's rows only, after the sort and
    limit. Page and summaries of 100 sessions, in process at 10,000 sessions:
    about 2.2 -> 1.7 ms on SQLite, 3.5 -> 2.7 ms on PostgreSQL. NULL for a
    session with none.
    """
    actions = (
        UserAction.objects.filter(
            FAILED_ACTION | ~Q(product_event=""),
            application_id=OuterRef("application_id"),
            session_id=OuterRef("id"),
        )
        .values("session_id")
        .annotate(rows=_JSONArrayAgg(JSONArray(*_SUMMARY_COLUMNS)))
        .values("rows")
    )
    return Subquery(actions, output_field=JSONField())


# Compiled once per database: building the subquery cost 0.25 ms per page and
# compiling it 0.17 ms more (0.32 ms for the whole page query, CPU, SQLite), and
# a list page took 4.66 -> 4.43 ms on SQLite with it (``bench/read.py``'s list).
# The SQL is Django's own (``_summary_source``) with its parameters.
_SUMMARY_SOURCE_SQL: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _summary_source_sql() -> RawSQL:
    """``_summary_source`` as compiled SQL, for the page query's select list only.

    Its outer reference names the sessions table itself, as the page query's
    base table is named (Django aliases a table in subqueries and second
    joins only): a list's rows are never a subquery selecting this column.
    """
    if connection.alias not in _SUMMARY_SOURCE_SQL:
        outer = UserSession.objects.all().query
        subquery = _summary_source().resolve_expression(outer)
        sql, params = subquery.as_sql(outer.get_compiler(connection=connection), connection)
        quote = connection.ops.quote_name
        reference = f"{quote(UserSession._meta.db_table)}.{quote('id')}"
        if reference not in sql:  # a Django that writes it otherwise: fail at once, not wrong
            raise LookupError(f"the summary subquery does not name {reference}: {sql}")
        _SUMMARY_SOURCE_SQL[connection.alias] = (sql, tuple(params))
    sql, params = _SUMMARY_SOURCE_SQL[connection.alias]
    return RawSQL(sql, params, output_field=_ActionTuples())  # noqa: S611 (Django's own SQL)


class _ActionTuples(JSONField):  # read only, never stored
    """The summary source's JSON read with orjson: the database wrote it (numbers and
    strings in arrays), and ``json.loads`` took 0.2 ms of a list page of 100."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else orjson.loads(value)


def listed_summaries(rows: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """The raw summaries of list rows (``session_list`` and its siblings), as
    ``action_summaries`` answers them, from the actions each row carries."""
    return {row["id"]: _summarise(row[SUMMARY_SOURCE] or ()) for row in rows}
