"""Writes on RUM data: ingesting a batch of sessions.

``session_ingest`` is the only way sessions get into the database (the API
view and ``seed_demo`` both call it), so every privacy rule of an application
is applied here, before anything is written:

1. validate the whole batch (``BeaconInvalid`` lists every problem, nothing is written);
2. mask every client string, keys included (``sessions_app.ingest.masking``),
   outside the transaction, so row locks are held only for the writes;
3. in one transaction: lock the batch's existing sessions, insert the new ones,
   add only actions with unseen ``seq`` and move the counters forward.

How one session row is built or merged (Do-Not-Track, IP and geo masking,
tag storage mode, counters) is ``sessions_app.ingest.session_rows``.

Browser beacons (``browser_agent``) come through here too, with
``append_only``: they may add actions and fill what a session does not have
yet, never change what it has (a user tag, once set, stays).

A ``session_id`` in which a detector finds something is stored as a keyed
digest; results still name each session by the id the client sent (only that
client sees them), in the batch's order.

The query count is constant per batch (not per session or action): one
``SELECT ... FOR UPDATE``, one session insert (on PostgreSQL the new ids from
the sequence, then a ``COPY``: ``config.bulk.bulk_insert_with_ids``), one
fetch of stored ``seq``s, one ``bulk_update`` and one action insert (on
PostgreSQL a ``COPY``: ``_insert_actions``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.bulk import bulk_insert_with_ids, copy_values
from privacy.do_not_track import apply_do_not_track
from sessions_app.ingest.masking import (
    MASKED_ACTION_COLUMNS,
    BatchMasker,
    MaskedAction,
    masked_action_values,
)
from sessions_app.ingest.session_rows import (
    MAX_REVENUE,
    RevenueOverflow,
    merge_into,
    new_session,
    updatable_values,
)
from sessions_app.ingest.validation import (
    BeaconInvalid,
    CleanSession,
    Limits,
    validate_beacon,
)
from sessions_app.models import Application, UserAction, UserSession

IngestStatus = Literal["created", "updated", "discarded"]
# A new session can lose an insert race more than once only if the other side
# keeps inserting the same ids; a few rounds settle any real-world collision.
_INSERT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IngestResult:
    session_id: str
    status: IngestStatus
    actions_added: int


@dataclass(slots=True)
class _Pending:
    """One session of the batch after masking, waiting for its database write.

    ``clean.session_id`` is the id to store; ``older_ids`` are the digests of the
    client's id under older keys, under which the session may be stored already.
    """

    clean: CleanSession
    actions: list[MaskedAction]
    older_ids: list[str]


def ingest_limits() -> Limits:
    return Limits(
        max_sessions=settings.RUMVAULT_INGEST_MAX_SESSIONS,
        max_actions=settings.RUMVAULT_INGEST_MAX_ACTIONS,
        max_string_length=settings.RUMVAULT_INGEST_MAX_STRING_LENGTH,
        max_user_tag_length=settings.RUMVAULT_USER_TAG_MAX_LENGTH,
    )


def session_ingest(
    *, application: Application, payload: dict[str, Any], append_only: bool = False
) -> list[IngestResult]:
    """Validate, mask and store one batch; results are in the batch's order.

    ``append_only`` (browser beacons): a stored session only gains actions and
    the details it lacks (see ``session_rows.merge_into``).

    Raises ``BeaconInvalid`` (nothing written) when any part of the batch is invalid.
    """
    sessions = validate_beacon(payload, limits=ingest_limits())
    results: dict[str, IngestResult] = {}
    pending: list[_Pending] = []
    stored_ids: list[str] = []
    # Masking happens before the transaction, so row locks are held only for the writes.
    masker = BatchMasker(application)
    for clean in sessions:
        stored_id, *older_ids = masker.session_ids(clean.session_id)
        stored_ids.append(stored_id)
        decision = apply_do_not_track(mode=application.do_not_track, requested=clean.do_not_track)
        if decision.discard_session:
            results[stored_id] = IngestResult(stored_id, "discarded", 0)
        else:
            actions = [masker.masked_action(action) for action in clean.actions]
            masked = masker.session(clean, session_id=stored_id)
            pending.append(_Pending(clean=masked, actions=actions, older_ids=older_ids))
    if pending:
        try:
            with transaction.atomic():
                results.update(_write(pending, application=application, append_only=append_only))
        except RevenueOverflow as overflow:
            index = stored_ids.index(overflow.session_id)
            message = f"purchases of one session must total at most {MAX_REVENUE}"
            raise BeaconInvalid(
                [{"path": f"/sessions/{index}/actions", "message": message}]
            ) from None
    return [
        replace(results[stored_id], session_id=clean.session_id)
        for clean, stored_id in zip(sessions, stored_ids, strict=True)
    ]


# --- writes ------------------------------------------------------------------------


def _write(
    pending: list[_Pending], *, application: Application, append_only: bool
) -> dict[str, IngestResult]:
    by_id = {item.clean.session_id: item for item in pending}
    existing, created = _lock_and_insert(by_id, application=application)
    results: dict[str, IngestResult] = {}
    new_actions: list[tuple[UserSession, datetime, list[MaskedAction]]] = []
    for session in created:
        actions = by_id[session.session_id].actions
        new_actions.append((session, session.started_at, actions))
        results[session.session_id] = IngestResult(session.session_id, "created", len(actions))
    merged = _merge_existing(existing, by_id, application=application, append_only=append_only)
    for session_id, session, actions, partition_time in merged:
        new_actions.append((session, partition_time, actions))
        results[session_id] = IngestResult(session_id, "updated", len(actions))
    _insert_actions(new_actions)
    return results


# The columns _insert_actions writes: the session's, then the masked action's.
_ACTION_COLUMNS = ("application_id", "session_id", "partition_time", *MASKED_ACTION_COLUMNS)


def _insert_actions(new_actions: list[tuple[UserSession, datetime, list[MaskedAction]]]) -> None:
    """The batch's new actions, with ``COPY`` on PostgreSQL (``config.bulk.copy_values``).

    Each row: the session's application (every statement on actions names it,
    ``docs/scaling.md``), the session, ``partition_time`` (one value for all of
    a session's actions: ``models.partition_times``), then the masked values.
    """
    rows = []
    for session, partition_time, actions in new_actions:
        # Both known for every session here; never guessed.
        if partition_time is None or session.pk is None:
            raise ValueError(f"session {session.session_id!r} has no id or partition_time")
        head = (session.application_id, session.pk, partition_time)
        rows += [head + masked_action_values(action) for action in actions]
    copy_values(UserAction, _ACTION_COLUMNS, rows)


def _lock_and_insert(
    by_id: dict[str, _Pending], *, application: Application
) -> tuple[dict[str, UserSession], list[UserSession]]:
    """Lock the batch's stored sessions and insert the others; returns (stored, inserted).

    ``stored`` is keyed by the id the batch stores, also for a session found under
    a digest made with an older key.
    """
    for attempt in range(_INSERT_ATTEMPTS):
        existing = _lock_existing(application, by_id)
        created = [
            new_session(by_id[session_id].clean, by_id[session_id].actions, application=application)
            for session_id in sorted(by_id.keys() - existing.keys())
        ]
        try:
            # A savepoint, so a lost race rolls back only this insert, not the locks.
            with transaction.atomic():
                # COPY on PostgreSQL, the ids taken from the sequence first: this
                # step took 7.5 ms of CPU per batch of 100 sessions instead of 12
                # with bulk_create (bench/README.md).
                bulk_insert_with_ids(UserSession, created)
        except IntegrityError:
            # Another transaction committed one of these sessions since our
            # SELECT; the next round finds (and locks) it as existing.
            if attempt == _INSERT_ATTEMPTS - 1:
                raise
        else:
            return existing, created
    raise AssertionError("unreachable")  # the loop either returns or re-raises


def _merge_existing(
    existing: dict[str, UserSession],
    by_id: dict[str, _Pending],
    *,
    application: Application,
    append_only: bool,
) -> list[tuple[str, UserSession, list[MaskedAction], datetime]]:
    """Fold the beacons into the stored (locked) sessions; returns each with its new
    actions and their ``partition_time`` (that of its stored actions, if it has any)."""
    stored_seqs, partition_times = _stored_seqs(existing.values(), application=application)
    now = timezone.now()
    merged: list[tuple[str, UserSession, list[MaskedAction], datetime]] = []
    changed: list[UserSession] = []
    changed_fields: set[str] = set()
    for session_id, session in existing.items():
        item = by_id[session_id]
        seqs = stored_seqs.get(session.pk, set())
        actions = [action for action in item.actions if action.seq not in seqs]
        before = updatable_values(session)
        merge_into(session, item.clean, actions, application=application, append_only=append_only)
        after = updatable_values(session)
        fields = {name for name, value in after.items() if before[name] != value}
        # A retried beacon that brings nothing new costs no write (and keeps updated_at).
        if fields:
            session.updated_at = now
            changed.append(session)
            changed_fields |= fields | {"updated_at"}
        # After the merge: a start moved earlier by this beacon is the lower value.
        partition_time = partition_times.get(session.pk, session.started_at)
        merged.append((session_id, session, actions, partition_time))
    if changed:
        # Only the columns that changed: bulk_update builds a CASE per column and row.
        # Within the application: bulk_update keeps the queryset's filter in its
        # UPDATE's WHERE, so the statement names the shard key (docs/scaling.md).
        UserSession.objects.filter(application=application).bulk_update(
            changed, sorted(changed_fields)
        )
    return merged


def _lock_existing(application: Application, by_id: dict[str, _Pending]) -> dict[str, UserSession]:
    """The batch's stored sessions, locked, keyed by the id the batch stores.

    A session whose client id was digested under an older key is found under
    that digest and keeps it (a key rotation does not split a session in two).
    """
    stored_id = {session_id: session_id for session_id in by_id}
    for session_id, item in by_id.items():
        stored_id.update(dict.fromkeys(item.older_ids, session_id))
    # Locking in session_id order: two batches sharing sessions then wait for
    # each other instead of deadlocking.
    rows = (
        UserSession.objects.select_for_update()
        .filter(application=application, session_id__in=sorted(stored_id))
        .order_by("session_id")
    )
    existing: dict[str, UserSession] = {}
    for row in rows:
        session_id = stored_id[row.session_id]
        # Under the current digest first, should a session exist under both.
        if session_id not in existing or row.session_id == session_id:
            existing[session_id] = row
    return existing


def _stored_seqs(
    sessions: Any, *, application: Application
) -> tuple[dict[int, set[int]], dict[int, datetime]]:
    """The stored ``seq``s of each session's actions, and their ``partition_time``."""
    pks = [session.pk for session in sessions]
    seqs: dict[int, set[int]] = {}
    partition_times: dict[int, datetime] = {}
    if pks:
        for session_pk, seq, partition_time in UserAction.objects.filter(
            application=application, session_id__in=pks
        ).values_list("session_id", "seq", "partition_time"):
            seqs.setdefault(session_pk, set()).add(seq)
            partition_times[session_pk] = partition_time
    return seqs, partition_times
