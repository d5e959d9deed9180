"""Masking of request attributes and other JSON-like values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.credentials import is_credential_name
from privacy.detectors import mask_text
from privacy.text import mask_mapping
from tests.privacy.strategies import personal_data

EXAMPLES = 100
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
# Keys no detector changes (no digit, "@", ":" or "-", ASCII): masked keys and their
# collisions are the subject of the last test.
plain_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_ .", max_size=8)
json_values = st.recursive(
    scalars | personal_data,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(plain_keys, children, max_size=4)
    ),
    max_leaves=12,
)
mappings = st.dictionaries(plain_keys, json_values, max_size=6)


def _expected(value: object) -> object:
    """The masking, written without collisions: the strategy's keys never mask."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _expected(item) for key, item in value.items() if not is_credential_name(key)}
    if isinstance(value, list):
        return [_expected(item) for item in value]
    return value


def test_examples() -> None:
    attributes = {
        "order_id": "A-998877",
        "customer": {"email": "jane.doe@example.com", "vip": True},
        "cards": ["4111 1111 1111 1111", 42],
        "password": "hunter2",
        "user": {"Password": "hunter2", "name": "Jane", "API-Key": "k"},
        "jane@example.com": 1,
        "max@example.com": 2,
        "j\u200bane@example.com": [3],
    }
    assert mask_mapping(attributes) == {
        "order_id": "A-998877",
        "customer": {"email": "<masked>", "vip": True},
        "cards": ["<masked>", 42],
        "user": {"name": "Jane"},
        "<masked>": 1,
        "<masked> (2)": 2,
        "<masked> (3)": [3],
    }
    assert attributes["customer"] == {"email": "jane.doe@example.com", "vip": True}


@settings(max_examples=EXAMPLES)
@given(mappings)
def test_strings_at_any_depth_are_masked_and_the_rest_kept(values: dict[str, object]) -> None:
    masked = mask_mapping(values)
    assert masked == _expected(values)
    assert mask_mapping(masked) == masked


# Keys that are themselves personal data or credential names, mixed with plain ones.
risky_keys = st.one_of(
    st.text(max_size=8),
    personal_data,
    st.sampled_from(["password", "Api-Key", "session_id", "Cookie2", "X-Authorization"]),
)
risky_json = st.recursive(
    scalars | personal_data,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(risky_keys, children, max_size=4)
    ),
    max_leaves=12,
)


def _strings_and_keys(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (key, *_strings_and_keys(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings_and_keys(item)]
    return []


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in (key, *_keys(item))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


@settings(max_examples=EXAMPLES)
@given(st.dictionaries(risky_keys, risky_json, max_size=6), personal_data)
def test_no_personal_data_or_credential_survives_in_keys_or_values(
    values: dict[str, object], planted: str
) -> None:
    values = {**values, planted: planted, "nested": {planted: [planted]}}
    masked = mask_mapping(values)
    for text in _strings_and_keys(masked):
        assert planted not in text
    assert not any(is_credential_name(key) for key in _keys(masked))
    assert mask_mapping(masked) == masked
