"""Properties of ingest over random valid beacons: re-sending changes nothing,
sending a session in pieces ends in the same rows as sending it whole, and
whatever sequence of beacons builds a session, its counters and times stay consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app import user_tags
from sessions_app.ingest.validation import ACTION_TYPES, PRODUCT_EVENTS
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.services import session_ingest
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db

STARTED_AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)

# Storable text (no NUL, no lone surrogates), mixed with the personal data maskers look for.
plain_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
text = plain_text | st.sampled_from(
    ["jane.doe@example.com", "card 4111 1111 1111 1111", "from 81.2.69.142", "/orders/1234567"]
)
timestamps = st.datetimes(
    min_value=datetime(2026, 11, 28, 10, 0),
    max_value=datetime(2026, 11, 28, 12, 0),
    timezones=st.just(UTC),
).map(datetime.isoformat)
products = st.fixed_dictionaries(
    {"event": st.sampled_from(PRODUCT_EVENTS)},
    optional={
        "sku": st.text("ABC-123", max_size=10),
        "price": st.decimals(min_value=0, max_value=500, places=2).map(str),
        "quantity": st.integers(1, 5),
        "currency": st.just("EUR"),
    },
)
action_fields = st.fixed_dictionaries(
    {"type": st.sampled_from(ACTION_TYPES), "timestamp": timestamps},
    optional={
        "name": text,
        "url": text.map(lambda value: f"https://shop.example.com/{value}"),
        "duration_ms": st.integers(0, 100_000),
        "http_status": st.integers(100, 599),
        "error": st.fixed_dictionaries({}, optional={"message": text, "stack": text}),
        "headers": st.dictionaries(
            st.sampled_from(["Accept", "Cookie", "Referer", "X-Token"]), text
        ),
        "request_attributes": st.dictionaries(st.sampled_from(["order", "email"]), text),
        "product": products,
        "input_value": text,
    },
)
actions = st.lists(
    st.tuples(st.integers(0, 50), action_fields), max_size=6, unique_by=lambda pair: pair[0]
).map(lambda pairs: [{"seq": seq, **fields} for seq, fields in pairs])
sessions = st.fixed_dictionaries(
    {
        "session_id": st.sampled_from(["a", "b", "c"]),
        "started_at": st.just(STARTED_AT.isoformat()),
        "actions": actions,
    },
    optional={
        "ended_at": timestamps,
        "user_tag": st.sampled_from(["jane.doe@example.com", " Max@Example.org"]),
        "client_ip": st.sampled_from(["81.2.69.142", "10.0.0.7", "2a02:8071::1"]),
        "do_not_track": st.booleans(),
        "properties": st.dictionaries(st.sampled_from(["loyalty_tier", "password", "x"]), text),
        "browser": plain_text,
    },
)
batches = st.lists(sessions, min_size=1, max_size=3, unique_by=lambda s: s["session_id"])


def snapshot() -> list[Any]:
    """Every stored value that a client's data determines (not ids or write times)."""
    stored_sessions = sorted(
        UserSession.objects.values(
            *(
                f.name
                for f in UserSession._meta.concrete_fields
                if f.name not in {"id", "created_at", "updated_at"}
            )
        ),
        key=lambda row: row["session_id"],
    )
    for row in stored_sessions:
        # Each encryption draws a fresh nonce; what must match is the plaintext.
        if row["user_tag_encrypted"] is not None:
            row["user_tag_encrypted"] = user_tags.decrypt(
                row["user_tag_encrypted"], application_id=row["application"]
            )
    stored_actions = sorted(
        UserAction.objects.values(
            "session__session_id",
            *(f.name for f in UserAction._meta.concrete_fields if f.name not in {"id", "session"}),
        ),
        key=lambda row: (row["session__session_id"], row["seq"]),
    )
    return [stored_sessions, stored_actions]


def ingest(application: Application, batch: list[dict[str, Any]]) -> None:
    session_ingest(application=application, payload={"sessions": batch})


@pytest.fixture
def application() -> Application:
    return new_application(
        user_tag_storage="encrypted", do_not_track="anonymous", allowed_properties=["loyalty_tier"]
    )[0]


@settings(max_examples=30)
@given(batch=batches)
def test_sending_a_batch_twice_stores_what_sending_it_once_does(
    application: Application, batch: list[dict[str, Any]]
) -> None:
    UserSession.objects.all().delete()
    ingest(application, batch)
    once = snapshot()
    ingest(application, batch)
    assert snapshot() == once


@settings(max_examples=30)
@given(batch=batches, data=st.data())
def test_sending_sessions_in_pieces_ends_like_sending_them_whole(
    application: Application, batch: list[dict[str, Any]], data: st.DataObject
) -> None:
    UserSession.objects.all().delete()
    ingest(application, batch)
    whole = snapshot()

    UserSession.objects.all().delete()
    cut = data.draw(st.integers(0, max(len(s["actions"]) for s in batch)), label="cut")
    ingest(application, [{**s, "actions": s["actions"][:cut]} for s in batch])
    ingest(application, [{**s, "actions": s["actions"][cut:]} for s in batch])
    assert snapshot() == whole


any_start = st.datetimes(
    min_value=datetime(2026, 11, 28, 9, 0),
    max_value=datetime(2026, 11, 28, 11, 0),
    timezones=st.just(UTC),
)


@st.composite
def beacons_with_any_times(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A batch whose sessions start whenever; ends (if any) after their own start."""
    batch = draw(batches)
    for session in batch:
        started = draw(any_start)
        session["started_at"] = started.isoformat()
        if "ended_at" in session:
            session["ended_at"] = (
                started + timedelta(seconds=draw(st.integers(0, 7200)))
            ).isoformat()
    return batch


@settings(max_examples=30)
@given(sequence=st.lists(beacons_with_any_times(), min_size=1, max_size=4))
def test_any_sequence_of_beacons_leaves_consistent_sessions(
    application: Application, sequence: list[list[dict[str, Any]]]
) -> None:
    UserSession.objects.all().delete()
    for batch in sequence:
        ingest(application, batch)

    stored_actions = dict(
        UserAction.objects.values("session").annotate(n=Count("id")).values_list("session", "n")
    )
    for stored in UserSession.objects.all():
        assert stored.ended_at is None or stored.ended_at >= stored.started_at
        assert stored.duration_ms is None or stored.duration_ms >= 0
        assert stored.action_count == stored_actions.get(stored.pk, 0)
        assert 0 <= stored.error_count <= stored.action_count
        first_start = min(
            datetime.fromisoformat(s["started_at"])
            for batch in sequence
            for s in batch
            if s["session_id"] == stored.session_id
        )
        assert stored.started_at == first_start
