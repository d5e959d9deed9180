"""Header cleaning: credentials dropped, other names and values masked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.credentials import CREDENTIAL_NAME_PARTS, is_credential_name
from privacy.detectors import mask_text
from privacy.headers import clean_headers

EXAMPLES = 100
plain_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
    lambda name: not is_credential_name(name)
)
sensitive_names = st.builds(
    lambda prefix, part, suffix: prefix + part + suffix,
    st.sampled_from(["", "X-", "x-csrf", "Refresh-", "Proxy-"]),
    st.sampled_from(
        [*CREDENTIAL_NAME_PARTS, "authorization", "set-cookie", "api-key", "Api_Key", "auth"]
    ),
    st.sampled_from(["", "-Id", "2", "_key", "\u200b"]),
)


def _random_case(name: str, flips: list[bool]) -> str:
    return (
        "".join(char.swapcase() if flip else char for char, flip in zip(name, flips, strict=False))
        + name[len(flips) :]
    )


def test_examples() -> None:
    headers = {
        "Cookie": "sid=abc",
        "Cookie2": "sid=abc",
        "Accept": "text/html",
        "Authorization": "Bearer x",
        "Authorization\u200b": "Bearer x",
        "X-Authorization": "Bearer x",
        "X-Api-Key": "k-123",
        "X-Session-Id": "s-1",
        "X-Forwarded-For": "203.0.113.42, 10.0.0.1",
        "Referer": "mailto:jane.doe@example.com",
        "X-jane@example.com": "1",
    }
    assert clean_headers(headers) == {
        "Accept": "text/html",
        "X-Forwarded-For": "<masked>, <masked>",
        "Referer": "mailto:<masked>",
        "<masked>": "1",
    }
    assert clean_headers(headers, mask=lambda value: value) == {
        "Accept": "text/html",
        "X-Forwarded-For": "203.0.113.42, 10.0.0.1",
        "Referer": "mailto:jane.doe@example.com",
        "X-jane@example.com": "1",
    }


@settings(max_examples=EXAMPLES)
@given(sensitive_names, st.lists(st.booleans(), max_size=30))
def test_sensitive_names_are_dropped_in_any_case(name: str, flips: list[bool]) -> None:
    assert clean_headers({_random_case(name, flips): "secret value"}) == {}


@settings(max_examples=EXAMPLES)
@given(st.dictionaries(st.one_of(plain_names, sensitive_names), st.text(max_size=40), max_size=8))
def test_clean_headers_drops_and_masks(headers: dict[str, str]) -> None:
    cleaned = clean_headers(headers)
    kept = [name for name in headers if not is_credential_name(name)]
    assert len(cleaned) == len(kept)
    for name in kept:
        assert cleaned[mask_text(name)] == mask_text(headers[name])
    assert clean_headers(cleaned) == cleaned
