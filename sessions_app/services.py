"""Writes on RUM data: ingesting a batch of sessions.

``session_ingest`` is the only way sessions get into the database (the API
view and ``seed_demo`` both call it), so every privacy rule of an application
is applied here, before anything is written:

1. validate the whole batch (``BeaconInvalid`` lists every problem, nothing is written);
2. mask the actions (URIs, headers, error texts, request attributes) outside
   the transaction, so row locks are held only for the writes;
3. in one transaction: lock the batch's existing sessions, insert the new ones,
   add only actions with unseen ``seq`` and move the counters forward.

The query count is constant per batch (not per session or action): one
``SELECT ... FOR UPDATE``, one session insert, one fetch of stored ``seq``s,
one ``bulk_update`` and one action insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from privacy.do_not_track import apply_do_not_track
from privacy.geo import mask_geo
from privacy.ip import mask_ip
from privacy.properties import filter_properties
from sessions_app import user_tags
from sessions_app.ingest.masking import BatchMasker
from sessions_app.ingest.validation import (
    BeaconInvalid,
    CleanSession,
    Limits,
    validate_beacon,
)
from sessions_app.models import (
    ActionType,
    Application,
    ProductEvent,
    UserAction,
    UserSession,
    UserTagStorage,
)

IngestStatus = Literal["created", "updated", "discarded"]
# A new session can lose an insert race more than once only if the other side
# keeps inserting the same ids; a few rounds settle any real-world collision.
_INSERT_ATTEMPTS = 3
_CENT = Decimal("0.01")
# UserSession.revenue is DECIMAL(14, 2); PostgreSQL would refuse more with a 500.
MAX_REVENUE = Decimal("999999999999.99")

# Columns a re-sent beacon may change on a stored session.
_UPDATED_FIELDS = [
    "started_at",
    "ended_at",
    "duration_ms",
    "user_tag",
    "user_tag_encrypted",
    "user_tag_blind_index",
    "user_id",
    "client_ip",
    "geo_latitude",
    "geo_longitude",
    "country",
    "city",
    "browser",
    "os",
    "device",
    "properties",
    "action_count",
    "error_count",
    "converted",
    "revenue",
    "do_not_track",
    "updated_at",
]


@dataclass(frozen=True, slots=True)
class IngestResult:
    session_id: str
    status: IngestStatus
    actions_added: int


@dataclass(slots=True)
class _Pending:
    """One session of the batch after masking, waiting for its database write."""

    clean: CleanSession
    actions: list[UserAction]


def ingest_limits() -> Limits:
    return Limits(
        max_sessions=settings.RUMVAULT_INGEST_MAX_SESSIONS,
        max_actions=settings.RUMVAULT_INGEST_MAX_ACTIONS,
        max_string_length=settings.RUMVAULT_INGEST_MAX_STRING_LENGTH,
        max_user_tag_length=settings.RUMVAULT_USER_TAG_MAX_LENGTH,
    )


def session_ingest(*, application: Application, payload: dict[str, Any]) -> list[IngestResult]:
    """Validate, mask and store one batch; results are in the batch's order.

    Raises ``BeaconInvalid`` (nothing written) when any part of the batch is invalid.
    """
    sessions = validate_beacon(payload, limits=ingest_limits())
    results: dict[str, IngestResult] = {}
    pending: list[_Pending] = []
    # Masking happens before the transaction, so row locks are held only for the writes.
    masker = BatchMasker(application)
    for clean in sessions:
        decision = apply_do_not_track(mode=application.do_not_track, requested=clean.do_not_track)
        if decision.discard_session:
            results[clean.session_id] = IngestResult(clean.session_id, "discarded", 0)
        else:
            actions = [masker.action(action) for action in clean.actions]
            pending.append(_Pending(clean=clean, actions=actions))
    if pending:
        try:
            with transaction.atomic():
                results.update(_write(pending, application=application))
        except _RevenueOverflow as overflow:
            index = [clean.session_id for clean in sessions].index(overflow.session_id)
            message = f"purchases of one session must total at most {MAX_REVENUE}"
            raise BeaconInvalid(
                [{"path": f"/sessions/{index}/actions", "message": message}]
            ) from None
    return [results[clean.session_id] for clean in sessions]


class _RevenueOverflow(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__("session revenue out of range")
        self.session_id = session_id


# --- user tags -------------------------------------------------------------------


def _tag_columns(
    normalised_tag: str | None, *, application: Application, keep_ciphertext: str | None = None
) -> dict[str, str | None]:
    """The four user-tag columns for the application's storage mode."""
    if normalised_tag is None:
        return dict.fromkeys(("user_tag", "user_tag_encrypted", "user_tag_blind_index", "user_id"))
    storage = application.user_tag_storage
    encrypted = None
    if storage == UserTagStorage.ENCRYPTED:
        # Re-sending the same tag keeps the stored ciphertext (a fresh nonce
        # would make an idempotent resend rewrite the row for nothing).
        encrypted = keep_ciphertext or user_tags.encrypt(
            normalised_tag, application_id=application.pk
        )
    return {
        "user_tag": normalised_tag if storage == UserTagStorage.RAW else None,
        "user_tag_encrypted": encrypted,
        "user_tag_blind_index": user_tags.blind_index_for(normalised_tag),
        "user_id": user_tags.pseudonym_for(normalised_tag),
    }


# --- counters ----------------------------------------------------------------------


def _is_failure(action: UserAction) -> bool:
    return (
        action.type == ActionType.ERROR
        or bool(action.error_message)
        or (action.http_status is not None and action.http_status >= 400)
    )


def _purchase_value(action: UserAction) -> Decimal | None:
    if action.product_event != ProductEvent.PURCHASE:
        return None
    price = action.product_price or Decimal(0)
    return (price * (action.product_quantity or 1)).quantize(_CENT)


def _apply_counters(session: UserSession, actions: list[UserAction]) -> None:
    """Move the session's counters forward by ``actions`` (all of them new to it)."""
    session.action_count += len(actions)
    session.error_count += sum(1 for action in actions if _is_failure(action))
    purchases = [value for action in actions if (value := _purchase_value(action)) is not None]
    session.converted = session.converted or bool(purchases)
    session.revenue = Decimal(session.revenue) + sum(purchases, Decimal(0))
    if session.revenue > MAX_REVENUE:
        raise _RevenueOverflow(session.session_id)
    if session.ended_at is not None:
        session.duration_ms = _milliseconds(session.ended_at - session.started_at)
    elif actions:
        # No end reported: the session lasted at least until its last action finished.
        last_end = max(
            _milliseconds(action.timestamp - session.started_at) + (action.duration_ms or 0)
            for action in actions
        )
        session.duration_ms = max(session.duration_ms or 0, last_end, 0)


def _milliseconds(delta: Any) -> int:
    return int(delta.total_seconds() * 1000)


# --- writes ------------------------------------------------------------------------


def _write(pending: list[_Pending], *, application: Application) -> dict[str, IngestResult]:
    by_id = {item.clean.session_id: item for item in pending}
    existing, created = _lock_and_insert(by_id, application=application)
    results: dict[str, IngestResult] = {}
    new_actions: list[UserAction] = []
    for session in created:
        actions = by_id[session.session_id].actions
        _attach(actions, session)
        new_actions += actions
        results[session.session_id] = IngestResult(session.session_id, "created", len(actions))
    for session, actions in _merge_existing(existing, by_id, application=application):
        _attach(actions, session)
        new_actions += actions
        results[session.session_id] = IngestResult(session.session_id, "updated", len(actions))
    UserAction.objects.bulk_create(new_actions)
    return results


def _lock_and_insert(
    by_id: dict[str, _Pending], *, application: Application
) -> tuple[dict[str, UserSession], list[UserSession]]:
    """Lock the batch's stored sessions and insert the others; returns (stored, inserted)."""
    for attempt in range(_INSERT_ATTEMPTS):
        existing = _lock_existing(application, sorted(by_id))
        created = [
            _new_session(by_id[session_id], application=application)
            for session_id in sorted(by_id.keys() - existing.keys())
        ]
        try:
            # A savepoint, so a lost race rolls back only this insert, not the locks.
            with transaction.atomic():
                UserSession.objects.bulk_create(created)
        except IntegrityError:
            # Another transaction committed one of these sessions since our
            # SELECT; the next round finds (and locks) it as existing.
            if attempt == _INSERT_ATTEMPTS - 1:
                raise
        else:
            return existing, created
    raise AssertionError("unreachable")  # the loop either returns or re-raises


def _merge_existing(
    existing: dict[str, UserSession], by_id: dict[str, _Pending], *, application: Application
) -> list[tuple[UserSession, list[UserAction]]]:
    """Fold the beacons into the stored (locked) sessions; returns each with its new actions."""
    stored_seqs = _stored_seqs(existing.values())
    now = timezone.now()
    merged: list[tuple[UserSession, list[UserAction]]] = []
    changed: list[UserSession] = []
    changed_fields: set[str] = set()
    for session in existing.values():
        item = by_id[session.session_id]
        seqs = stored_seqs.get(session.pk, set())
        actions = [action for action in item.actions if action.seq not in seqs]
        before = _updatable_values(session)
        _merge(session, item.clean, actions, application=application)
        after = _updatable_values(session)
        fields = {name for name, value in after.items() if before[name] != value}
        # A retried beacon that brings nothing new costs no write (and keeps updated_at).
        if fields:
            session.updated_at = now
            changed.append(session)
            changed_fields |= fields | {"updated_at"}
        merged.append((session, actions))
    if changed:
        # Only the columns that changed: bulk_update builds a CASE per column and row.
        UserSession.objects.bulk_update(changed, sorted(changed_fields))
    return merged


def _updatable_values(session: UserSession) -> dict[str, Any]:
    return {field_name: getattr(session, field_name) for field_name in _UPDATED_FIELDS}


def _lock_existing(application: Application, session_ids: list[str]) -> dict[str, UserSession]:
    # Locking in session_id order: two batches sharing sessions then wait for
    # each other instead of deadlocking.
    rows = (
        UserSession.objects.select_for_update()
        .filter(application=application, session_id__in=session_ids)
        .order_by("session_id")
    )
    return {row.session_id: row for row in rows}


def _stored_seqs(sessions: Any) -> dict[int, set[int]]:
    pks = [session.pk for session in sessions]
    seqs: dict[int, set[int]] = {}
    if pks:
        for session_pk, seq in UserAction.objects.filter(session_id__in=pks).values_list(
            "session_id", "seq"
        ):
            seqs.setdefault(session_pk, set()).add(seq)
    return seqs


def _attach(actions: list[UserAction], session: UserSession) -> None:
    for action in actions:
        action.session = session


def _privacy_of_session(
    clean: CleanSession, *, application: Application, requested: bool
) -> dict[str, Any]:
    """IP, geo and user tag of a session after Do-Not-Track and masking."""
    decision = apply_do_not_track(mode=application.do_not_track, requested=requested)
    # "disable" for a session stored before the setting changed: anonymise it.
    anonymise_ip = decision.drop_ip or decision.discard_session
    drop_tag = decision.drop_user_tag or decision.discard_session
    ip = None
    if clean.client_ip is not None and not anonymise_ip:
        ip = mask_ip(clean.client_ip, mode=application.ip_masking)
    latitude, longitude = mask_geo(
        clean.latitude, clean.longitude, ip_masking=application.ip_masking
    )
    return {
        "client_ip": ip,
        "drop_ip": anonymise_ip,
        "geo_latitude": latitude,
        "geo_longitude": longitude,
        "tag": None if drop_tag else clean.user_tag,
        "drop_tag": drop_tag,
    }


def _new_session(item: _Pending, *, application: Application) -> UserSession:
    clean = item.clean
    private = _privacy_of_session(clean, application=application, requested=clean.do_not_track)
    session = UserSession(
        application=application,
        session_id=clean.session_id,
        started_at=clean.started_at,
        ended_at=clean.ended_at,
        client_ip=private["client_ip"],
        geo_latitude=private["geo_latitude"],
        geo_longitude=private["geo_longitude"],
        country=clean.country,
        city=clean.city,
        browser=clean.browser,
        os=clean.os,
        device=clean.device,
        properties=filter_properties(clean.properties, allowed=application.allowed_properties),
        do_not_track=clean.do_not_track,
        revenue=Decimal(0),
        **_tag_columns(private["tag"], application=application),
    )
    _apply_counters(session, item.actions)
    return session


def _merge(
    session: UserSession,
    clean: CleanSession,
    actions: list[UserAction],
    *,
    application: Application,
) -> None:
    """Fold a re-sent beacon into a stored session: newer details win, nothing is lost.

    Do-Not-Track is sticky: once a session asked for it, later beacons of the
    same session are treated the same way (and what they would reveal is dropped).
    """
    requested = session.do_not_track or clean.do_not_track
    private = _privacy_of_session(clean, application=application, requested=requested)
    if private["drop_tag"]:
        _set_fields(session, _tag_columns(None, application=application))
    elif private["tag"] is not None:
        same_tag = session.user_tag_blind_index == user_tags.blind_index_for(private["tag"])
        columns = _tag_columns(
            private["tag"],
            application=application,
            keep_ciphertext=session.user_tag_encrypted if same_tag else None,
        )
        _set_fields(session, columns)
    if private["drop_ip"]:
        session.client_ip = None
    elif private["client_ip"] is not None:
        session.client_ip = private["client_ip"]
    if clean.latitude is not None and clean.longitude is not None:
        session.geo_latitude = private["geo_latitude"]
        session.geo_longitude = private["geo_longitude"]
    for field_name in ("country", "city", "browser", "os", "device"):
        if value := getattr(clean, field_name):
            setattr(session, field_name, value)
    session.properties = {
        **session.properties,
        **filter_properties(clean.properties, allowed=application.allowed_properties),
    }
    _merge_times(session, clean)
    session.do_not_track = requested
    _apply_counters(session, actions)


def _merge_times(session: UserSession, clean: CleanSession) -> None:
    """The session spans every beacon: earliest start, latest end.

    Clients restart and clocks jump, so a re-sent beacon may start earlier; taking
    the earliest start keeps ``ended_at >= started_at`` and durations non-negative.
    """
    if clean.started_at < session.started_at:
        if session.ended_at is None and session.duration_ms is not None:
            # A duration measured from the old start, moved to the new one.
            session.duration_ms += _milliseconds(session.started_at - clean.started_at)
        session.started_at = clean.started_at
    if clean.ended_at is not None and (
        session.ended_at is None or clean.ended_at > session.ended_at
    ):
        session.ended_at = clean.ended_at


def _set_fields(session: UserSession, values: dict[str, Any]) -> None:
    for field_name, value in values.items():
        setattr(session, field_name, value)
