"""URL masking: paths, query values, credentials, IP hosts."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import MASK
from privacy.detectors import mask_text
from privacy.uri import UriMasker, mask_uri
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


# --- secrets in URLs ----------------------------------------------------------------

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://shop.example.com/magic-login/{JWT}",
            "https://shop.example.com/magic-login/<masked>",
        ),
        (f"/auth/{JWT}/confirm", "/auth/<masked>/confirm"),
        (
            "/cb#access_token=ya29a0AfH6SMB&token_type=Bearer",
            "/cb#access_token=<masked>&token_type=<masked>",
        ),
        ("/#/reset?token=abc&email=jane@example.com", "/#/reset?token=<masked>&email=<masked>"),
        ("/#/orders/1234567", "/#/orders/<masked>"),
        ("/checkout;jsessionid=0A1B2C3D", "/checkout;jsessionid=<masked>"),
        ("/a;v=1;b/c", "/a;v=<masked>;b/c"),
        (
            "/reset/MQ/c4z6ab-3f9a7c2e1b0d4f6a8e5c7d9e1f3a5b7c/",
            "/reset/MQ/<masked>/",
        ),
        ("/magic/Zx8kQ2mP9vL3nR7tY1wBqA", "/magic/<masked>"),
        ("/magic/kQmPvLnRtYwBzXcVbNmAqW", "/magic/<masked>"),
        ("/women/summer-dresses-2026", "/women/summer-dresses-2026"),
        ("/women/summer-dresses-collection-2026-xl2", "/women/summer-dresses-collection-2026-xl2"),
        ("/p/iphone-15-pro-max-256gb-space-black", "/p/iphone-15-pro-max-256gb-space-black"),
        ("/SummerDressesCollectionSale", "/SummerDressesCollectionSale"),
        ("/checkout#section-2", "/checkout#section-2"),
    ],
)
def test_secrets_in_urls_are_masked(url: str, expected: str) -> None:
    assert mask_uri(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/p?email=jane@example.com&ref=mail", "/p?email=jane@example.com&ref=mail"),
        ("http://203.0.113.7/orders/1234567", "http://203.0.113.7/orders/1234567"),
        ("/p?card=4111111111111111", "/p?card=<masked>"),
        ("/p?token=abc&sort=asc", "/p?token=<masked>&sort=asc"),
        ("/p#access_token=abc&state=x", "/p#access_token=<masked>&state=x"),
        ("/checkout;jsessionid=0A1B2C3D;v=1", "/checkout;jsessionid=<masked>;v=1"),
        (f"/magic-login/{JWT}", "/magic-login/<masked>"),
        ("/reset/c4z6ab-3f9a7c2e1b0d4f6a8e5c7d9e1f3a5b7c", "/reset/<masked>"),
        ("https://jane:s3cret@shop.example.com/", "https://shop.example.com/"),
    ],
)
def test_without_personal_masking_secrets_are_still_masked(url: str, expected: str) -> None:
    assert mask_uri(url, personal=False) == expected


random_tokens = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=20, max_size=64),
    st.text(alphabet=SAFE[:62], min_size=20, max_size=64),
    st.text(alphabet=SAFE[:62] + "-_", min_size=22, max_size=64),
).filter(
    lambda token: any(char.isdigit() for char in token) and any(char.isalpha() for char in token)
)
# Words, each maybe followed by a number ("summer-dresses-2026", "iphone-15-pro-max");
# four numbers in a row would read as a dashed IPv4, which is masked on purpose.
slugs = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{2,12}", fullmatch=True),
        st.one_of(st.just(""), st.from_regex(r"-[0-9]{1,4}", fullmatch=True)),
    ).map("".join),
    min_size=1,
    max_size=6,
).map("-".join)


@settings(max_examples=EXAMPLES)
@given(random_tokens, st.sampled_from(["/reset/{}", "/magic/{}/", "/a;sid={}", "/#/login/{}"]))
def test_random_tokens_in_paths_are_masked(token: str, template: str) -> None:
    # A run of random characters that mixes letters and digits within a piece of 8+.
    pieces = [piece for piece in token.replace("_", "-").split("-") if len(piece) >= 8]
    mixed = any(any(c.isdigit() for c in p) and any(c.isalpha() for c in p) for p in pieces)
    masked = mask_uri(template.format(token))
    if mixed:
        assert token not in masked
    assert mask_uri(masked) == masked


@settings(max_examples=EXAMPLES)
@given(slugs)
def test_slugs_are_kept(slug: str) -> None:
    # Words and numbers of at most four digits: what a shop puts in a path.
    assert mask_uri(f"/c/{slug}/") == f"/c/{slug}/"


@settings(max_examples=EXAMPLES)
@given(
    domains, paths, queries, st.sampled_from(["access_token", "id_token", "code", "state"]), values
)
def test_fragment_parameters_are_masked_like_query_values(
    domain: str, path: str, query: list[tuple[str, str]], name: str, value: str
) -> None:
    url = _url(domain, path, query) + f"#{name}={value}&other={value}"
    masked = mask_uri(url)
    assert masked.endswith(f"#{name}={MASK}&other={MASK}")
    assert mask_uri(masked) == masked


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=60))
def test_secrets_only_url_masking_is_idempotent(text: str) -> None:
    once = mask_uri(text, personal=False)
    assert mask_uri(once, personal=False) == once


# --- UriMasker: the pieces memoised, the same output ----------------------------------

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors/masking.json").read_text(encoding="utf-8")
)
# A small pool, so that hosts, segments and parameters repeat between the URLs of an
# example, as in a batch; with the soup of URL punctuation and escapes around them.
pieces = st.sampled_from(
    [
        "shop.example.com",
        "jane:pw@shop.example.com",
        "[2001:db8::1]:8080",
        "203.0.113.42",
        "women",
        "SKU-01234",
        "1234567",
        "jane.doe%40example.com",
        "4111%201111%201111%201111",
        "c4z6ab-3f9a7c2e1b0d4f6a8e5c7d9e1f3a5b7c",
        "ref=newsletter",
        "u=12345",
        "token=abc",
        "email=jane@example.com",
        "12345",
        "a+b%20c",
        "4111+1111+1111+1111",  # a card to unquote_plus (query), not to unquote (matrix)
        "",
    ]
)
glue = st.sampled_from(["/", "//", "?", "&", "#", ";", "=", "https://", "#/", ":", "%2F", "+"])
pool_urls = st.lists(st.one_of(pieces, glue), max_size=12).map("".join)


@pytest.mark.parametrize("personal", [True, False])
def test_a_uri_masker_answers_every_vector_as_mask_uri(personal: bool) -> None:
    inputs = [str(case["input"]) for case in VECTORS["uri"]]
    masker = UriMasker(personal=personal)
    for url in [*inputs, *reversed(inputs)]:  # the second time from its memo
        assert masker(url) == mask_uri(url, personal=personal)


def test_a_uri_masker_keeps_query_and_matrix_parameters_apart() -> None:
    card = "4111+1111+1111+1111=1"
    url = f"/a;{card}?{card}"
    expected = mask_uri(url)
    assert expected == "/a;4111+1111+1111+1111=<masked>?<masked>=<masked>"
    masker = UriMasker(personal=True)
    assert [masker(url), masker(url)] == [expected, expected]


@settings(max_examples=EXAMPLES)
@given(
    st.lists(st.one_of(pool_urls, st.text(max_size=40)), min_size=1, max_size=30),
    st.booleans(),
)
def test_a_uri_masker_over_a_batch_answers_each_url_as_mask_uri(
    urls: list[str], personal: bool
) -> None:
    detect = partial(mask_text, personal=personal)
    masker = UriMasker(personal=personal, detect=detect)
    assert [masker(url) for url in urls] == [mask_uri(url, personal=personal) for url in urls]
