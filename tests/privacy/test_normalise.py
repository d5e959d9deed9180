"""Normalisation before detection, and the credential vocabulary built on it."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.credentials import is_credential_name
from privacy.normalise import normalise_name, normalise_text

EXAMPLES = 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\uff4a\uff41\uff4e\uff45\uff20example\uff0ecom", "jane@example.com"),  # fullwidth
        ("jane\u200b@exa\u00admple.com", "jane@example.com"),  # zero-width space, soft hyphen
        ("4111\u00a01111\u202f1111\u20071111", "4111 1111 1111 1111"),  # no-break spaces
        ("\u0664\u0661\u0661\u0661", "4111"),  # Arabic-Indic digits
        ("kunde@m\u00fcller\u3002de", "kunde@m\u00fcller.de"),  # ideographic full stop (IDNA)
        ("j\u00f6hn", "j\u00f6hn"),
        ("jo\u0308hn", "j\u00f6hn"),  # composed
        ("\u202ejane\u202c", "jane"),  # bidi override
        ("plain ascii stays", "plain ascii stays"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


@settings(max_examples=EXAMPLES)
@given(st.text())
def test_normalisation_is_idempotent_and_leaves_nothing_invisible(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert unicodedata.normalize("NFKC", once) == once
    assert not any(unicodedata.category(char) == "Cf" for char in once)
    assert all(char in "0123456789" for char in once if unicodedata.category(char) == "Nd")


@settings(max_examples=EXAMPLES)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_is_already_normal(text: str) -> None:
    assert normalise_text(text) is text


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "Password",
        "PASSWD",
        "pwd",
        "user_password_confirm",
        "secret",
        "client_secret",
        "token",
        "X-Api-Key",
        "api_key",
        "apiKey",
        "Authorization",
        "X-Authorization",
        "Authorization\u200b",
        "Proxy-Authorization",
        "Auth",
        "X-Auth",
        "oauth_verifier",
        "credentials",
        "Cookie",
        "Cookie2",
        "Set-Cookie",
        "session_id",
        "sessionId",
        "JSESSIONID",
        "PHPSESSID",
        "private_key",
        "X-CSRFToken",
        "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44",  # fullwidth "Password"
        "pass",
        "pin",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "Accept",
        "Referer",
        "User-Agent",
        "Content-Type",
        "order_id",
        "loyalty_tier",
        "author",
        "Authority",
        ":authority",
        "passenger",
        "shipping",
        "laptop",
        "footprint",
        "X-Request-ID",
    ],
)
def test_other_names(name: str) -> None:
    assert not is_credential_name(name)


separators = st.text(alphabet="-_ .\u200b\u2060", max_size=2)


@settings(max_examples=EXAMPLES)
@given(
    st.sampled_from([("pass", "word"), ("api", "key"), ("se", "cret"), ("access", "token")]),
    separators,
    st.booleans(),
)
def test_separators_case_and_invisible_characters_do_not_hide_a_name(
    parts: tuple[str, str], separator: str, upper: bool
) -> None:
    first, second = parts
    name = first + separator + (second.upper() if upper else second.capitalize())
    assert normalise_name(name) == first + second
    assert is_credential_name(name)
    assert is_credential_name("X-" + name)
