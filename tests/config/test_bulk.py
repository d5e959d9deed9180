"""``config.bulk``: COPY stores exactly what the ORM's ``bulk_create`` stores.

The COPY path skips ``get_db_prep_save`` for values where it changes nothing
written (``config.bulk._PASS_THROUGH``); these tests store the same values both
ways and compare the rows the database gives back, including the values that
must not be passed through (a ``bool`` for an integer column, a naive
``datetime``, a ``str`` subclass).
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict

from config.bulk import _prepare, bulk_insert, bulk_insert_with_ids, copy_values
from logs.models import LogRecord
from sessions_app.models import Application, UserAction, UserSession
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db

VIENNA = timezone(timedelta(hours=1))
AWKWARD = "tab\there\nnew line \\N back\\slash \\. \r ünïcode ✓ 'quote' \"dq\" ,;|"


class Label(str):
    """A str subclass: not passed through (its ``__str__`` could be anything)."""


def _session(application: Application, session_id: str, **fields: Any) -> UserSession:
    values: dict[str, Any] = {
        "application": application,
        "session_id": session_id,
        "started_at": datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=VIENNA),
        "ended_at": None,
        "duration_ms": 9_000_000_000,
        "user_tag": AWKWARD,
        "client_ip": "2001:db8::1",
        "geo_latitude": 48.2082,
        "geo_longitude": -16.3738,
        "country": "AT",
        "city": "",
        "browser": Label("Chrome 131"),
        "properties": {"tier": "gold", "nested": {"n": [1, 2.5, None, True]}},
        "action_count": 0,
        "error_count": 2_000_000_000,
        "converted": True,
        "revenue": Decimal("12.30"),
        "do_not_track": False,
        "masked_personal": None,
    }
    values.update(fields)
    return UserSession(**values)


def _stored(model: Any, pk: int) -> dict[str, Any]:
    row = model._default_manager.filter(pk=pk).values().get()
    del row["id"]
    return row


def _action_values(session: UserSession, seq: int) -> dict[str, Any]:
    return {
        "application_id": session.application_id,
        "session_id": session.pk,
        "partition_time": session.started_at,
        "seq": seq,
        "type": "xhr",
        "name": AWKWARD,
        "url": "https://shop.example.com/a?b=c\td",
        "timestamp": datetime(2026, 11, 28, 10, 1, tzinfo=VIENNA),
        "duration_ms": 0,
        "http_status": True,  # a bool for an integer column: the field's own path (1)
        "error_message": "",
        "error_stack": Label("at x (y.js:1)"),
        "headers": {"Accept": "text/html", "X-Tab": "a\tb"},
        "request_attributes": {"big": 2**70, "float": 1e16, "neg": -0.5},
        "product_sku": "SKU-1",
        "product_name": "",
        "product_price": Decimal("49.90"),
        "product_currency": "EUR",
        "product_quantity": None,
        "product_event": "purchase",
        "trace_id": None,
    }


@pytest.mark.postgres
def test_copy_stores_what_bulk_create_stores() -> None:
    application, _ = new_application()
    orm_session, copied_session = _session(application, "orm"), _session(application, "copy")
    with transaction.atomic():
        UserSession.objects.bulk_create([orm_session])
        bulk_insert_with_ids(UserSession, [copied_session])
    orm_row, copied_row = (
        _stored(UserSession, orm_session.pk),
        _stored(UserSession, copied_session.pk),
    )
    for row in (orm_row, copied_row):
        del row["session_id"], row["created_at"], row["updated_at"]
    assert copied_row == orm_row
    assert copied_row["duration_ms"] == 9_000_000_000
    assert copied_row["user_tag"] == AWKWARD

    columns = list(_action_values(orm_session, 0))
    with transaction.atomic():
        UserAction.objects.bulk_create([UserAction(**_action_values(orm_session, 0))])
        copy_values(UserAction, columns, [tuple(_action_values(copied_session, 0).values())])
    orm_action = UserAction.objects.get(session=orm_session)
    copied_action = UserAction.objects.get(session=copied_session)
    orm_values, copied_values = (
        _stored(UserAction, orm_action.pk),
        _stored(UserAction, copied_action.pk),
    )
    del orm_values["session_id"], copied_values["session_id"]
    assert copied_values == orm_values
    assert copied_values["http_status"] == 1
    assert copied_values["request_attributes"]["big"] == 2**70


@pytest.mark.postgres
def test_a_naive_datetime_takes_the_fields_path_as_in_bulk_create() -> None:
    application, _ = new_application()
    naive = datetime(2026, 11, 28, 10, 0)
    orm_session = _session(application, "orm", started_at=naive)
    copied_session = _session(application, "copy", started_at=naive)
    with warnings.catch_warnings(record=True) as caught, transaction.atomic():
        warnings.simplefilter("always")
        UserSession.objects.bulk_create([orm_session])
        bulk_insert_with_ids(UserSession, [copied_session])
    assert sum("naive datetime" in str(w.message) for w in caught) == 2
    assert (
        UserSession.objects.get(pk=copied_session.pk).started_at
        == UserSession.objects.get(pk=orm_session.pk).started_at
    )


@pytest.mark.postgres  # what COPY writes: _prepare serves PostgreSQL only
def test_only_exact_types_are_passed_through() -> None:
    field = UserAction._meta.get_field("http_status")
    prepare = _prepare(field, connection)
    assert prepare(502) == 502
    assert prepare(None) is None
    assert prepare(True) == field.get_db_prep_save(True, connection) == 1
    name = UserAction._meta.get_field("name")
    label = Label("x")
    # Not passed through, but the field's own path, whatever it makes of it.
    assert _prepare(name, connection)(label) == name.get_db_prep_save(label, connection)
    naive = datetime(2026, 1, 1)
    timestamp = UserAction._meta.get_field("timestamp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _prepare(timestamp, connection)(naive) == timestamp.get_db_prep_save(
            naive, connection
        )
        assert _prepare(timestamp, connection)(naive).tzinfo is not None
    aware = datetime(2026, 1, 1, tzinfo=UTC)
    assert _prepare(UserAction._meta.get_field("timestamp"), connection)(aware) is aware


@pytest.mark.postgres
def test_ids_are_set_and_auto_now_fields_filled() -> None:
    application, _ = new_application()
    sessions = [_session(application, f"s-{n}") for n in range(3)]
    before = datetime.now(UTC)
    with transaction.atomic():
        bulk_insert_with_ids(UserSession, sessions)
    stored = {s.session_id: s for s in UserSession.objects.filter(application=application)}
    for session in sessions:
        assert stored[session.session_id].pk == session.pk
        assert session._state.adding is False
        assert session.created_at >= before
        assert stored[session.session_id].created_at == session.created_at
        assert stored[session.session_id].updated_at == session.updated_at


@pytest.mark.postgres
def test_a_unique_conflict_is_djangos_integrity_error() -> None:
    application, _ = new_application()
    with transaction.atomic():
        bulk_insert_with_ids(UserSession, [_session(application, "s-1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert_with_ids(UserSession, [_session(application, "s-1")])
    assert UserSession.objects.filter(application=application).count() == 1


def test_copy_values_needs_every_column() -> None:
    with pytest.raises(ValueError, match="trace_id"):
        copy_values(
            UserAction, [f for f in _action_values(UserSession(), 0) if f != "trace_id"], []
        )


@pytest.mark.postgres
def test_log_records_copied_as_bulk_create_stores_them() -> None:
    application, _ = new_application()

    def record(body: str) -> LogRecord:
        return LogRecord(
            application=application,
            time=datetime(2026, 11, 28, 10, 0, 0, 1, tzinfo=VIENNA),
            observed_time=None,
            severity_number=17,
            severity_text="ERROR",
            body=body,
            attributes={"http.status_code": 502, "retry": True, "tab": "a\tb"},
            resource={"service.name": "checkout"},
            service_name=Label("checkout"),
            host_name="",
            trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            span_id=None,
            session_ref=None,
        )

    with transaction.atomic():
        LogRecord.objects.bulk_create([record(AWKWARD)])
        bulk_insert(LogRecord, [record(AWKWARD)])
    first, second = LogRecord.objects.order_by("id").values()
    del first["id"], second["id"]
    assert second == first


def test_bulk_insert_still_takes_instances() -> None:
    application, _ = new_application()
    session = _session(application, "s-1", browser="Firefox")
    with transaction.atomic():
        bulk_insert_with_ids(UserSession, [session])
        bulk_insert(
            UserAction,
            [UserAction(**{**_action_values(session, seq), "http_status": 200}) for seq in (0, 1)],
        )
    assert list(UserAction.objects.filter(session=session).values_list("seq", "http_status")) == [
        (0, 200),
        (1, 200),
    ]
    assert model_to_dict(UserSession.objects.get(pk=session.pk))["browser"] == "Firefox"
