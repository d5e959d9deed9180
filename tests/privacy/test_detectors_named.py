"""Named detectors (capture rules) and the hex fast path (trace and span ids)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import MASK
from privacy.detectors import NAMED_DETECTORS, mask_hex, mask_text, mask_with
from tests.privacy.strategies import card_numbers

_HEX = "0123456789abcdef"


@given(
    st.one_of(
        st.text(alphabet=_HEX, min_size=0, max_size=40),
        # Ids that hold a card, or start like an IBAN: the cases the fast path must not skip.
        card_numbers().map(lambda card: card + "ab" * 8),
        st.text(alphabet=_HEX, min_size=28, max_size=28).map(lambda rest: "de89" + rest),
        st.text(min_size=0, max_size=40),
    )
)
def test_mask_hex_is_mask_text_without_personal_data(text: str) -> None:
    assert mask_hex(text) == mask_text(text, personal=False)


@given(st.sampled_from(sorted(NAMED_DETECTORS)), st.text(max_size=80))
def test_a_named_detector_is_idempotent(name: str, text: str) -> None:
    once = mask_with(name, text)
    assert mask_with(name, once) == once


@given(st.sampled_from(sorted(NAMED_DETECTORS)), st.text(max_size=80))
def test_what_a_named_detector_masks_all_detectors_mask_too(name: str, text: str) -> None:
    # Nothing a named detector finds is left by mask_text: it changes a text whenever
    # the named one does.
    if mask_with(name, text) != text:
        assert MASK in mask_text(text)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "email",
            "to jane@example.com, card 4111111111111111",
            "to <masked>, card 4111111111111111",
        ),
        (
            "card",
            "to jane@example.com, card 4111111111111111",
            "to jane@example.com, card <masked>",
        ),
        ("uuid", "id 123e4567-e89b-12d3-a456-426614174000", "id <masked>"),
        ("ip", "from 203.0.113.7", "from <masked>"),
    ],
)
def test_a_named_detector_finds_only_its_kind(name: str, text: str, expected: str) -> None:
    assert mask_with(name, text) == expected
