"""How one ``UserSession`` row is built from a beacon, or a beacon folded into it.

No queries here: ``sessions_app.services`` fetches, locks and writes; this
module applies the per-session privacy rules (Do-Not-Track, IP masking, geo
rounding, user-tag storage mode) and keeps the counters. ``clean`` arrives
masked (``sessions_app.ingest.masking``: client strings, allowed properties).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from privacy.do_not_track import apply_do_not_track
from privacy.geo import mask_geo
from privacy.ip import IpMasking, mask_ip
from privacy.user_tags import UserTagStorage
from sessions_app import summaries, user_tags
from sessions_app.ingest.masking import MaskedAction
from sessions_app.ingest.validation import CleanSession
from sessions_app.models import Application, ProductEvent, UserSession

_CENT = Decimal("0.01")
_MILLISECOND = timedelta(milliseconds=1)
# UserSession.revenue is DECIMAL(14, 2); PostgreSQL would refuse more with a 500.
MAX_REVENUE = Decimal("999999999999.99")

# Columns a re-sent beacon may change on a stored session: all but its identity.
UPDATED_FIELDS = [
    f.attname
    for f in UserSession._meta.concrete_fields
    if f.attname not in ("id", "application_id", "session_id", "created_at")
]


class RevenueOverflow(Exception):
    def __init__(self, session_id: str) -> None:
        super().__init__("session revenue out of range")
        self.session_id = session_id


# --- user tags ---------------------------------------------------------------------


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
        # One blind index for every application: the audited search may cross them.
        "user_tag_blind_index": user_tags.blind_index_for(normalised_tag),
        # Scoped to the application: a reader who sees tags in one application
        # cannot join them onto another one's user_ids.
        "user_id": user_tags.pseudonym_for(normalised_tag, application_id=application.pk),
    }


# --- counters ----------------------------------------------------------------------


def _purchase_value(action: MaskedAction) -> Decimal | None:
    if action.product_event != ProductEvent.PURCHASE:
        return None
    price = action.product_price or Decimal(0)
    return (price * (action.product_quantity or 1)).quantize(_CENT)


def _apply_counters(session: UserSession, actions: Sequence[MaskedAction]) -> None:
    """Move the session's counters forward by ``actions`` (all of them new to it)."""
    session.action_count += len(actions)
    session.error_count += sum(1 for action in actions if action.is_failure)
    purchases = [value for action in actions if (value := _purchase_value(action)) is not None]
    session.converted = session.converted or bool(purchases)
    session.revenue = Decimal(session.revenue) + sum(purchases, Decimal(0))
    if session.revenue > MAX_REVENUE:
        raise RevenueOverflow(session.session_id)
    session.summary = summaries.summarise(
        map(summaries.summary_tuple, actions), into=session.summary
    )
    if session.ended_at is not None:
        session.duration_ms = _milliseconds(session.ended_at - session.started_at)
    elif actions:
        # No end reported: the session lasted at least until its last action finished.
        last_end = max(
            _milliseconds(action.timestamp - session.started_at) + (action.duration_ms or 0)
            for action in actions
        )
        session.duration_ms = max(session.duration_ms or 0, last_end, 0)


def _milliseconds(delta: timedelta) -> int:
    # timedelta / timedelta divides whole microseconds exactly; total_seconds() * 1000
    # goes through a binary float and stored 1.001 s as 1000 ms.
    return int(delta / _MILLISECOND)


def updatable_values(session: UserSession) -> dict[str, Any]:
    return {field_name: getattr(session, field_name) for field_name in UPDATED_FIELDS}


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
    # Coordinates are derived from the IP: a visitor who asked not to be
    # tracked gets them rounded even where the application keeps IPs.
    latitude, longitude = mask_geo(
        clean.latitude,
        clean.longitude,
        ip_masking=IpMasking.ALL if anonymise_ip else application.ip_masking,
    )
    return {
        "client_ip": ip,
        "drop_ip": anonymise_ip,
        "geo_latitude": latitude,
        "geo_longitude": longitude,
        "tag": None if drop_tag else clean.user_tag,
        "drop_tag": drop_tag,
    }


def new_session(
    clean: CleanSession, actions: Sequence[MaskedAction], *, application: Application
) -> UserSession:
    """A row for a session not stored yet; ``actions`` are its (masked) actions."""
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
        properties=clean.properties,
        do_not_track=clean.do_not_track,
        masked_personal=application.mask_personal_data_in_uris,
        revenue=Decimal(0),
        **_tag_columns(private["tag"], application=application),
    )
    _apply_counters(session, actions)
    return session


def merge_into(
    session: UserSession,
    clean: CleanSession,
    actions: Sequence[MaskedAction],
    *,
    application: Application,
    append_only: bool = False,
) -> None:
    """Fold a re-sent beacon into a stored session: newer details win, nothing is lost.

    Do-Not-Track is sticky: once a session asked for it, later beacons of the
    same session are treated the same way (and what they would reveal is dropped).

    ``append_only`` (browser beacons, whose key is public): the beacon only adds
    actions, a later end, and details the session does not have yet. A user tag,
    an IP or a client detail once stored is never replaced, so whoever learns a
    browser session's id cannot relabel it as another customer's; Do-Not-Track
    still drops what it drops.
    """
    requested = session.do_not_track or clean.do_not_track
    private = _privacy_of_session(clean, application=application, requested=requested)
    keep_tag = append_only and session.user_tag_blind_index is not None
    if private["drop_tag"]:
        _set_fields(session, _tag_columns(None, application=application))
    elif private["tag"] is not None and not keep_tag:
        same_tag = session.user_tag_blind_index == user_tags.blind_index_for(private["tag"])
        columns = _tag_columns(
            private["tag"],
            application=application,
            keep_ciphertext=session.user_tag_encrypted if same_tag else None,
        )
        _set_fields(session, columns)
    if private["drop_ip"]:
        session.client_ip = None
    elif private["client_ip"] is not None and not (append_only and session.client_ip):
        session.client_ip = private["client_ip"]
    if clean.latitude is not None and clean.longitude is not None and not append_only:
        session.geo_latitude = private["geo_latitude"]
        session.geo_longitude = private["geo_longitude"]
    for field_name in ("country", "city", "browser", "os", "device"):
        value = getattr(clean, field_name)
        if value and not (append_only and getattr(session, field_name)):
            setattr(session, field_name, value)
    session.properties = (
        {**clean.properties, **session.properties}
        if append_only
        else {**session.properties, **clean.properties}
    )
    _merge_times(session, clean, append_only=append_only)
    session.do_not_track = requested
    if session.masked_personal != application.mask_personal_data_in_uris:
        session.masked_personal = None  # strings masked under two settings
    _apply_counters(session, actions)


def _merge_times(session: UserSession, clean: CleanSession, *, append_only: bool) -> None:
    """The session spans every beacon: earliest start, latest end.

    Clients restart and clocks jump, so a re-sent beacon may start earlier; taking
    the earliest start keeps ``ended_at >= started_at`` and durations non-negative.
    An append-only beacon can only move the end forward.
    """
    if clean.started_at < session.started_at and not append_only:
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
