"""Allow-listed session properties and the user input that is never stored."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.credentials import is_credential_name
from privacy.properties import drop_input_value, filter_properties

EXAMPLES = 200
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["password", "Password", "new_PASSWORD_2", "input_value", "loyalty_tier", "apiKey"]
    ),
)
values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
payloads = st.dictionaries(keys, values, max_size=8)


def test_examples() -> None:
    properties = {
        "loyalty_tier": "gold",
        "plan": "pro",
        "userPassword": "x",
        "Password": "y",
        "api_token": "z",
    }
    allowed = ["loyalty_tier", "userPassword", "Password", "api_token"]
    assert filter_properties(properties, allowed=allowed) == {"loyalty_tier": "gold"}
    assert filter_properties(properties, allowed=[]) == {}
    action = {"seq": 0, "input_value": "hunter2", "password_hint": "pet", "name": "Click"}
    assert drop_input_value(action) == {"seq": 0, "name": "Click"}
    assert action["input_value"] == "hunter2"  # the caller's payload is left alone


@settings(max_examples=EXAMPLES)
@given(payloads, st.lists(keys, max_size=6))
def test_filtered_properties_are_allowed_and_never_credentials(
    properties: dict[str, object], allowed: list[str]
) -> None:
    kept = filter_properties(properties, allowed=iter(allowed))
    assert set(kept) <= set(allowed)
    assert not any("password" in key.lower() for key in kept)
    assert all(kept[key] is properties[key] for key in kept)
    expected = {key for key in properties if key in allowed and not is_credential_name(key)}
    assert set(kept) == expected


@settings(max_examples=EXAMPLES)
@given(payloads)
def test_dropping_input_keeps_everything_else(action: dict[str, object]) -> None:
    cleaned = drop_input_value(action)
    assert "input_value" not in cleaned
    assert not any("password" in key.lower() for key in cleaned)
    expected = {key for key in action if key != "input_value" and not is_credential_name(key)}
    assert set(cleaned) == expected
    assert drop_input_value(cleaned) == cleaned
