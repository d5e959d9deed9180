"""Header cleaning: credentials dropped, other values masked on request."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.detectors import mask_text
from privacy.headers import DROPPED_HEADERS, SENSITIVE_NAME_PARTS, clean_headers, is_dropped_header

EXAMPLES = 100
plain_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
    lambda name: not is_dropped_header(name)
)
sensitive_names = st.builds(
    lambda prefix, part, suffix: prefix + part + suffix,
    st.sampled_from(["", "X-", "x-csrf", "Refresh-"]),
    st.sampled_from([*DROPPED_HEADERS, *SENSITIVE_NAME_PARTS]),
    st.sampled_from(["", "-Id", "2", "_key"]),
).filter(lambda name: any(part in name for part in SENSITIVE_NAME_PARTS) or name in DROPPED_HEADERS)


def _random_case(name: str, flips: list[bool]) -> str:
    return (
        "".join(char.swapcase() if flip else char for char, flip in zip(name, flips, strict=False))
        + name[len(flips) :]
    )


def test_examples() -> None:
    headers = {
        "Cookie": "sid=abc",
        "Accept": "text/html",
        "Authorization": "Bearer x",
        "X-Session-Id": "s-1",
        "X-Forwarded-For": "203.0.113.42, 10.0.0.1",
        "Referer": "mailto:jane.doe@example.com",
    }
    assert clean_headers(headers, mask_values=True) == {
        "Accept": "text/html",
        "X-Forwarded-For": "<masked>, <masked>",
        "Referer": "mailto:<masked>",
    }
    assert clean_headers(headers, mask_values=False) == {
        "Accept": "text/html",
        "X-Forwarded-For": "203.0.113.42, 10.0.0.1",
        "Referer": "mailto:jane.doe@example.com",
    }
    assert is_dropped_header("SET-COOKIE")
    assert is_dropped_header("X-CSRFToken")
    assert not is_dropped_header("Accept-Language")


@settings(max_examples=EXAMPLES)
@given(sensitive_names, st.lists(st.booleans(), max_size=30))
def test_sensitive_names_are_dropped_in_any_case(name: str, flips: list[bool]) -> None:
    assert is_dropped_header(_random_case(name, flips))


@settings(max_examples=EXAMPLES)
@given(
    st.dictionaries(st.one_of(plain_names, sensitive_names), st.text(max_size=40), max_size=8),
    st.booleans(),
)
def test_clean_headers_drops_and_masks(headers: dict[str, str], mask_values: bool) -> None:
    cleaned = clean_headers(headers, mask_values=mask_values)
    assert set(cleaned) == {name for name in headers if not is_dropped_header(name)}
    for name, value in cleaned.items():
        assert value == (mask_text(headers[name]) if mask_values else headers[name])
