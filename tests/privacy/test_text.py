"""Masking of request attributes and other JSON-like values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.detectors import mask_text
from privacy.text import mask_mapping_values
from tests.privacy.strategies import personal_data

EXAMPLES = 100
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    scalars | personal_data,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
mappings = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


def _expected(value: object) -> object:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _expected(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_expected(item) for item in value]
    return value


def test_examples() -> None:
    attributes = {
        "order_id": "A-998877",
        "customer": {"email": "jane.doe@example.com", "vip": True},
        "cards": ["4111 1111 1111 1111", 42],
    }
    assert mask_mapping_values(attributes) == {
        "order_id": "A-998877",
        "customer": {"email": "<masked>", "vip": True},
        "cards": ["<masked>", 42],
    }
    assert attributes["customer"] == {"email": "jane.doe@example.com", "vip": True}


@settings(max_examples=EXAMPLES)
@given(mappings)
def test_strings_at_any_depth_are_masked_and_the_rest_kept(values: dict[str, object]) -> None:
    masked = mask_mapping_values(values)
    assert masked == _expected(values)
    assert mask_mapping_values(masked) == masked
