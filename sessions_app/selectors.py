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

from collections.abc import Mapping
from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
)
from django.db.models.expressions import BaseExpression
from django.http import Http404

from fieldsets.registry import ACTION, SESSION
from permissions.policy import FieldsetPolicy
from sessions_app import summaries
from sessions_app.filters import FILTER_FIELDS, SessionFilterSet
from sessions_app.models import FAILED_ACTION, DurationSort, UserAction, UserSession
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
    # Each row carries its triage summary, kept on the session (``sessions_app.summaries``).
    columns = [*SESSION.columns, summaries.COLUMN]
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
        .values(*SESSION.columns, summaries.COLUMN, *extra)
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
