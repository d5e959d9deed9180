"""URL masking: paths, query values, credentials, IP hosts."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import MASK
from privacy.uri import mask_uri
from tests.privacy.strategies import card_numbers, domains, emails, ip_addresses, uuids

EXAMPLES = 200
SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
segments = st.text(alphabet=SAFE + "%!$'()*+,;:@", max_size=12)
paths = st.lists(segments, max_size=5).map(lambda parts: "/" + "/".join(parts))
keys = st.text(alphabet=SAFE, min_size=1, max_size=8)
values = st.text(alphabet=SAFE + "%/:@?+", min_size=1, max_size=16)
queries = st.lists(st.tuples(keys, values), max_size=5)
# What a tracker or a form would put into a URL; formatted cards need spaces, so compact.
url_personal_data = st.one_of(emails, card_numbers(), ip_addresses, uuids)


def _url(domain: str, path: str, query: list[tuple[str, str]]) -> str:
    search = "&".join(f"{key}={value}" for key, value in query)
    return f"https://{domain}{path}" + (f"?{search}" if query else "")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://shop.example.com/checkout?card=4111111111111111",
            "https://shop.example.com/checkout?card=<masked>",
        ),
        ("/users/jane.doe%40example.com/orders", "/users/<masked>/orders"),
        ("/orders/1234567", "/orders/<masked>"),
        ("/p/DRESS-42?size=", "/p/DRESS-42?size="),
        ("/a/b-12345-c?x=1&x=2&flag", "/a/b-<masked>-c?x=<masked>&x=<masked>&flag"),
        ("https://jane:s3cret@shop.example.com:8443/", "https://shop.example.com:8443/"),
        ("http://203.0.113.42/status", "http://<masked>/status"),
        ("http://[2001:db8::1]:8080/", "http://<masked>:8080/"),
        ("/u/550e8400-e29b-41d4-a716-446655440000/x", "/u/<masked>/x"),
        ("/cards/4111%201111%201111%201111", "/cards/<masked>"),
        ("/iban/DE89370400440532013000", "/iban/<masked>"),
        ("/search?12345", "/search?<masked>"),
        ("/checkout#jane@example.com", "/checkout#<masked>"),
        ("mailto:jane@example.com", "mailto:<masked>"),
        ("https://Shop.Example.COM/Path", "https://Shop.Example.COM/Path"),
    ],
)
def test_examples(url: str, expected: str) -> None:
    assert mask_uri(url) == expected


def test_unparseable_urls_are_masked_as_text() -> None:
    # urlsplit rejects the unbalanced bracket; the detectors still run over everything.
    assert mask_uri("http://[::1/x?mail=jane@example.com") == "http://[<masked>/x?mail=<masked>"


@settings(max_examples=EXAMPLES)
@given(domains, paths, queries)
def test_no_query_value_survives_and_the_host_is_kept(
    domain: str, path: str, query: list[tuple[str, str]]
) -> None:
    masked = urlsplit(mask_uri(_url(domain, path, query)))
    assert masked.netloc == domain
    fields = [field.partition("=") for field in masked.query.split("&")] if query else []
    assert [value for _, _, value in fields] == [MASK] * len(query)


@settings(max_examples=EXAMPLES)
@given(
    domains,
    paths,
    queries,
    st.integers(0, 10),
    url_personal_data,
    st.sampled_from(["path", "key", "value"]),
    st.sampled_from(["", "id-", "x_", "~"]),
)
def test_personal_data_anywhere_in_path_or_query_is_gone(
    domain: str,
    path: str,
    query: list[tuple[str, str]],
    position: int,
    value: str,
    place: str,
    affix: str,
) -> None:
    if place == "path":
        parts = path.split("/")
        parts.insert(1 + position % len(parts), affix + value + affix[::-1])
        path = "/".join(parts)
    else:
        field = (affix + value, "1") if place == "key" else (f"k{position}", affix + value)
        query = [*query[: position % 6], field, *query[position % 6 :]]
    assert value not in mask_uri(_url(domain, path, query))


@settings(max_examples=EXAMPLES)
@given(domains, paths, queries, url_personal_data, st.sampled_from(["", "jane:pw@", "u@"]))
def test_masking_is_idempotent_on_urls(
    domain: str, path: str, query: list[tuple[str, str]], value: str, userinfo: str
) -> None:
    url = _url(userinfo + domain, path + "/" + value, query) + "#" + value
    once = mask_uri(url)
    assert mask_uri(once) == once
    assert MASK in once  # readable, never percent-encoded
    assert "jane:pw" not in once


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=60))
def test_any_text_is_handled_idempotently(text: str) -> None:
    once = mask_uri(text)
    assert mask_uri(once) == once


@settings(max_examples=EXAMPLES)
@given(st.text(alphabet="/?#&=:@[]%.0123456789abcdef ", max_size=40))
def test_url_punctuation_soup_is_handled_idempotently(text: str) -> None:
    once = mask_uri(text)
    assert mask_uri(once) == once
