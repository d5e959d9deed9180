"""The API's orjson renderer writes what DRF's JSONRenderer writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import renderers

from config.renderers import JSONRenderer

STOCK = renderers.JSONRenderer()
OURS = JSONRenderer()

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
floats = st.floats(allow_nan=False, allow_infinity=False)


def json_values(leaves: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )


@given(json_values(scalars))
def test_plain_json_is_byte_identical(value: object) -> None:
    assert OURS.render(value) == STOCK.render(value)


@given(json_values(scalars | floats))
def test_numbers_are_the_same_numbers(value: object) -> None:
    # Only the spelling of a float's exponent differs ("1e-07" and "1e-7").
    assert json.loads(OURS.render([value])) == json.loads(STOCK.render([value]))


@pytest.mark.parametrize(
    "value",
    [
        {"started_at": datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)},
        {"day": date(2026, 12, 1), "revenue": Decimal("89.90"), "id": uuid.UUID(int=7)},
        {"label": gettext_lazy("Sessions"), 3: "an integer key"},
        {"message": "line\u2028separator\u2029paragraph"},
        {"huge": 2**70},  # beyond orjson's 64 bits: DRF's renderer writes it
    ],
    ids=["datetime", "date-decimal-uuid", "lazy-string-int-key", "js-separators", "huge-int"],
)
def test_values_orjson_does_not_write_itself_come_out_as_drf_writes_them(value: object) -> None:
    assert OURS.render(value) == STOCK.render(value)


def test_indented_rendering_is_drf_s() -> None:
    data = {"a": [1, {"b": None}]}
    media_type = "application/json; indent=4"
    assert OURS.render(data, media_type) == STOCK.render(data, media_type)
    assert b"\n    " in OURS.render(data, media_type)
