"""Rounding of coordinates to one decimal (about 11 km)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.geo import mask_geo, round_coordinate

EXAMPLES = 200
coordinates = st.floats(min_value=-180, max_value=180, allow_nan=False)
optional_coordinates = st.none() | coordinates


def test_examples() -> None:
    assert mask_geo(48.2082, 16.3738, ip_masking="all") == (48.2, 16.4)
    assert mask_geo(48.2082, 16.3738, ip_masking="public") == (48.2, 16.4)
    assert mask_geo(48.2082, 16.3738, ip_masking="off") == (48.2082, 16.3738)
    assert mask_geo(None, None, ip_masking="all") == (None, None)
    assert round_coordinate(-0.04) == 0.0
    assert round_coordinate(48.2082, decimals=2) == 48.21


def test_unknown_ip_masking_raises_value_error() -> None:
    with pytest.raises(ValueError, match="IpMasking"):
        mask_geo(1.0, 2.0, ip_masking="partial")


@settings(max_examples=EXAMPLES)
@given(coordinates)
def test_rounding_moves_at_most_half_a_decimal_and_is_idempotent(value: float) -> None:
    rounded = round_coordinate(value)
    assert rounded is not None
    assert abs(rounded - value) <= 0.05 + 1e-9
    assert round_coordinate(rounded) == rounded
    assert abs(rounded * 10 - round(rounded * 10)) < 1e-6  # one decimal at most


@settings(max_examples=EXAMPLES)
@given(optional_coordinates, optional_coordinates, st.sampled_from(["all", "public"]))
def test_masked_geo_is_rounded_unless_off(
    latitude: float | None, longitude: float | None, ip_masking: str
) -> None:
    assert mask_geo(latitude, longitude, ip_masking=ip_masking) == (
        round_coordinate(latitude),
        round_coordinate(longitude),
    )
    assert mask_geo(latitude, longitude, ip_masking="off") == (latitude, longitude)
