"""Each session's triage summary (``fieldsets.registry.SUMMARY``), kept on its row.

A summary is made from the session's failed and product actions by one rule
(``summarise``) and stored in ``UserSession.summary``, like ``error_count``
and ``converted``, so a list page reads it with its rows. Every writer of
actions keeps it right:

- ingest folds each beacon's new actions into it (``summarise(..., into=)``;
  ``sessions_app.ingest.session_rows``): no query;
- re-masking and anonymisation, which rewrite action fields, make it again
  from the stored actions (``summaries_refresh``, two statements a batch);
- erasure and retention delete it with the session.

Why stored and not read with the page: as a correlated subquery of the page
query it cost 0.6 ms of ``EXPLAIN ANALYZE`` and 0.8-1.4 ms per request of a
list page of 100 on PostgreSQL (``bench/read.py``), the largest cost the
masked list had over a plain ``ModelSerializer`` list. Stored, the masked list
went from 0.69 to 0.53-0.57 of the plain one there (``bench/README.md``).

The stored form is the raw summary the policy masks (``FieldsetPolicy.
mask_summary``) plus ``product_seqs``, the ``seq`` each product entry first
occurred at, so a beacon whose actions come before stored ones folds in
exactly as if all had come at once (a hypothesis property holds the two
equal). NULL: nothing failed and no product event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from django.db.models import Q

from config.bulk import update_rows
from fieldsets.registry import ACTION, FIRST_FAILURE, PRODUCTS
from sessions_app.models import FAILED_ACTION, UserAction, UserSession, is_failure

# The column of UserSession that keeps the summary.
COLUMN = "summary"
# The stored form's key of the products' first seqs (not part of what is shown).
PRODUCT_SEQS = "product_seqs"


def _storage(action_field: str) -> str:
    column = ACTION.field(action_field).storage
    if column is None:  # every action field is a column; a computed one has no place here
        raise LookupError(f"action field {action_field!r} has no column")
    return column


# What a summary reads of an action, in this order: the failure rule's columns and
# the digests' parts. Summaries are made from tuples of these, positions resolved
# once, not per row.
COLUMNS = tuple(
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
_AT = {column: position for position, column in enumerate(COLUMNS)}
_SEQ, _TYPE, _MESSAGE, _STATUS = (_AT[c] for c in ("seq", "type", "error_message", "http_status"))
_EVENT = _AT[_storage("product.event")]
# (key in the digest, position of its action field's column)
_FAILURE_PARTS = tuple((key, _AT[_storage(name)]) for key, name in FIRST_FAILURE.parts)
_PRODUCT_PARTS = tuple((key, _AT[_storage(name)]) for key, name in PRODUCTS.parts)
_PRODUCT_KEYS = tuple(key for key, _ in PRODUCTS.parts)
# A summary tuple of an action not stored yet (``sessions_app.ingest.masking.MaskedAction``,
# whose attributes are its columns).
summary_tuple = attrgetter(*COLUMNS)


def summarise(
    actions: Iterable[Sequence[Any]], *, into: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The stored summary of a session's actions, each a tuple of ``COLUMNS``; None if empty.

    ``into``: a stored summary of the session's other actions, which these join
    (``seq``s not in it). The first failure is the failed action of the lowest
    ``seq``; products are counted per (event, sku, name) in order of first
    occurrence, keyed by the digests' own keys (``FIRST_FAILURE.parts``): an
    entry is what the summary shows when none of its parts is hidden, so
    masking need not rebuild it.
    """
    first_failure: dict[str, Any] | None = None
    # product -> [first seq, entry]
    products: dict[tuple[Any, ...], list[Any]] = {}
    if into is not None:
        first_failure = into[FIRST_FAILURE.name]
        for seq, entry in zip(into[PRODUCT_SEQS], into[PRODUCTS.name], strict=True):
            products[tuple(entry[key] for key in _PRODUCT_KEYS)] = [seq, dict(entry)]
    for row in actions:
        seq = row[_SEQ]
        if (first_failure is None or seq < first_failure["seq"]) and is_failure(
            type=row[_TYPE], error_message=row[_MESSAGE], http_status=row[_STATUS]
        ):
            first_failure = {key: row[position] for key, position in _FAILURE_PARTS}
        if row[_EVENT]:
            product = tuple(row[position] for _, position in _PRODUCT_PARTS)
            found = products.get(product)
            if found is None:
                entry = dict(zip(_PRODUCT_KEYS, product, strict=True))
                entry["count"] = 0
                found = products[product] = [seq, entry]
            found[0] = min(found[0], seq)
            found[1]["count"] += 1
    if first_failure is None and not products:
        return None
    ordered = sorted(products.values(), key=itemgetter(0))
    return {
        FIRST_FAILURE.name: first_failure,
        PRODUCTS.name: [entry for _, entry in ordered],
        PRODUCT_SEQS: [seq for seq, _ in ordered],
    }


def shown(stored: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The raw summary of a stored one, for ``FieldsetPolicy.mask_summary`` (which reads
    the digests' keys only, so the stored form is passed as it is). A fresh dict for a
    session with nothing to show: callers may keep it."""
    return {FIRST_FAILURE.name: None, PRODUCTS.name: []} if stored is None else stored


def listed_summary(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The raw summary of a session row read with its stored one (``session_list`` and
    its siblings, ``session_get``); a row without it is a caller's mistake: KeyError.
    The one-session read uses it too, though it has the actions at hand: one rule."""
    return shown(row[COLUMN])


def computed(*, sessions: Iterable[tuple[int, int]]) -> dict[int, dict[str, Any] | None]:
    """The stored summary each of these sessions (``(id, application id)``) should have,
    made from its stored actions in one query: their failed and product
    actions, a range of the ``(session, seq)`` index per session."""
    sessions = list(sessions)
    summaries: dict[int, dict[str, Any] | None] = dict.fromkeys(pk for pk, _ in sessions)
    if not sessions:
        return summaries
    rows = (
        UserAction.objects.filter(
            application_id__in=sorted({application_id for _, application_id in sessions}),
            session_id__in=list(summaries),
        )
        .filter(FAILED_ACTION | ~Q(product_event=""))
        .order_by("session_id", "seq")
        .values_list("session_id", *COLUMNS)
    )
    by_session: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for session_id, *action in rows:
        by_session[session_id].append(action)
    for pk, actions in by_session.items():
        summaries[pk] = summarise(actions)
    return summaries


def summaries_refresh(*, sessions: Iterable[tuple[int, int]]) -> None:
    """Make the stored summaries of these sessions (``(id, application id)``) again from
    their stored actions, after their actions' fields were rewritten. Two statements
    (one more per further application or ``config.bulk.UPDATE_CHUNK`` sessions):
    the actions read, the sessions updated. Run it in the transaction that
    rewrote the actions, which holds their sessions' locks."""
    sessions = list(sessions)
    fresh = computed(sessions=sessions)
    by_application: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for pk, application_id in sessions:
        by_application[application_id].append((pk, {COLUMN: fresh[pk]}))
    for application_id, rows in sorted(by_application.items()):
        update_rows(UserSession, rows, [COLUMN], application_id=application_id)
