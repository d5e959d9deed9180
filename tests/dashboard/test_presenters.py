"""Presenters are pure: masked is not the same as empty, and charts scale to their data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard import presenters
from sessions_app.reads import Masked

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [
        (None, ""),
        (532, "532 ms"),
        (2400, "2.4 s"),
        (125_000, "2 min 5 s"),
        (3_900_000, "1 h 5 min"),
    ],
)
def test_format_duration(milliseconds: int | None, text: str) -> None:
    assert presenters.format_duration(milliseconds) == text


@pytest.mark.parametrize(
    ("milliseconds", "text"), [(0, "+0:00.0"), (61_500, "+1:01.5"), (-2000, "-0:02.0")]
)
def test_format_offset(milliseconds: int, text: str) -> None:
    assert presenters.format_offset(milliseconds) == text


def test_masked_cell_differs_from_a_cell_without_data() -> None:
    masked = presenters.cell({"user_tag": None}, ["user_tag"], "user_tag")
    empty = presenters.cell({"user_tag": None}, [], "user_tag")

    assert masked.masked
    assert not masked.empty
    assert empty.empty
    assert not empty.masked


def test_summary_shows_masked_property_keys_as_masked() -> None:
    values = {"properties": {"tier": None, "plan": "pro"}}

    items = {item.label: item.cell for item in presenters.summary(values, ["properties.tier"])}

    assert items["tier"].masked
    assert items["plan"].text == "pro"


def _action(seq: int, masked: tuple[str, ...] = (), **fields: object) -> Masked:
    """An action as the reader hands it over: values by registry name, masked names."""
    values: dict[str, object] = {
        "seq": seq,
        "type": "xhr",
        "name": f"Request {seq}",
        "url": "",
        "timestamp": START + timedelta(seconds=seq),
        "duration_ms": 100,
        "http_status": 200,
        "error_message": "",
        "error_stack": "",
        "headers": {},
        "request_attributes": {},
        "product.sku": "",
        "product.name": "",
        "product.price": None,
        "product.currency": "",
        "product.quantity": None,
        "product.event": "",
    }
    for name, value in fields.items():
        values[name.replace("product_", "product.")] = value
    return Masked(values, list(masked))


def test_timeline_marks_failures_and_scales_bars_to_the_longest_action() -> None:
    entries = presenters.timeline(
        [
            _action(0, duration_ms=None, type="error", http_status=None, error_message="x"),
            _action(1, http_status=404, duration_ms=50),
            _action(
                2,
                duration_ms=200,
                product_event="purchase",
                product_name="Dress",
                product_price=Decimal("79.90"),
                product_currency="EUR",
                product_quantity=2,
            ),
        ],
        started_at=START,
    )

    assert [e.stands_out for e in entries] == [True, True, False]
    assert entries[0].is_error
    assert not entries[0].failed_request
    assert entries[1].failed_request
    assert [e.bar_percent for e in entries] == [0.0, 25.0, 100.0]
    assert entries[2].product_label == "Bought"
    assert entries[2].product == "Dress x 2 79.90 EUR"


def test_rate_chart_breaks_the_line_where_there_is_no_data() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(5)]

    chart = presenters.rate_chart(days, [0.1, 0.2, None, 0.05, None], name="errors")

    assert len(chart.lines) == 2
    assert len(chart.points) == 3
    assert not chart.empty


def test_bar_chart_of_nothing_is_empty_but_well_formed() -> None:
    days = [date(2026, 11, 1)]

    chart = presenters.bar_chart(days, [0], unit="sessions")

    assert chart.empty
    assert chart.bars[0].height == 0
