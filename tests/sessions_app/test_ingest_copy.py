"""On PostgreSQL a batch's actions (and log records) are written with COPY, every value as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from logs.ingest.records import IncomingLog
from logs.models import LogRecord
from logs.services import log_ingest
from sessions_app.models import UserAction
from sessions_app.services import session_ingest
from tests.sessions_app.ingest_support import action, batch, new_application, session

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PURCHASE = {
    "event": "purchase",
    "sku": "DRS-42",
    "name": "Summer dress",
    "price": "49.90",
    "currency": "EUR",
    "quantity": 2,
}


def test_actions_are_copied_in_with_every_value_as_an_insert_would_store_it() -> None:
    application, _ = new_application()
    sent = session(
        actions=[
            action(0),
            action(
                1,
                type="xhr",
                name="POST /api/pay",
                http_status=502,
                error={"message": "Payment failed", "stack": "at pay (checkout.js:12)"},
                headers={"Content-Type": "application/json", "X-Retry": "2"},
                request_attributes={"attempt": 1, "gateway": "psp-1"},
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
            ),
            action(2, type="custom", product=PURCHASE, duration_ms=None),
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        session_ingest(application=application, payload=batch(sent))
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert not any(UserAction._meta.db_table in sql for sql in inserts)

    stored = {a.seq: a for a in UserAction.objects.all()}
    assert sorted(stored) == [0, 1, 2]
    failed, bought = stored[1], stored[2]
    assert failed.http_status == 502
    assert failed.error_message == "Payment failed"
    assert failed.error_stack == "at pay (checkout.js:12)"
    assert failed.headers == {"Content-Type": "application/json", "X-Retry": "2"}
    assert failed.request_attributes == {"attempt": 1, "gateway": "psp-1"}
    assert failed.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert failed.timestamp == datetime(2026, 11, 28, 10, 1, tzinfo=UTC)
    assert bought.product_price == Decimal("49.90")
    assert bought.product_quantity == 2
    assert bought.duration_ms is None
    assert stored[0].id < failed.id < bought.id  # ids from the table's sequence, in order
    assert {a.partition_time for a in stored.values()} == {stored[0].session.started_at}


def test_log_records_are_copied_in_with_every_value_as_an_insert_would_store_it() -> None:
    application, _ = new_application()
    moment = datetime.now(UTC).replace(microsecond=123456)
    sent = IncomingLog(
        time=moment,
        observed_time=moment,
        severity_number=17,
        severity_text="ERROR",
        body="payment gateway answered 502",
        attributes={"http.status_code": 502, "retry": True},
        resource={"service.name": "checkout"},
        service="checkout",
        host="web-1",
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
    )
    with CaptureQueriesContext(connection) as queries:
        result = log_ingest(application=application, records=[sent, sent])
    assert result.accepted == 2
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert not any(LogRecord._meta.db_table in sql for sql in inserts)

    first, second = LogRecord.objects.order_by("id")
    assert first.id < second.id
    assert first.time == moment
    assert first.severity_number == 17
    assert first.body == "payment gateway answered 502"
    assert first.attributes == {"http.status_code": 502, "retry": True}
    assert first.resource == {"service.name": "checkout"}
    assert (first.service_name, first.host_name) == ("checkout", "web-1")
    assert first.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert first.session_ref is None
