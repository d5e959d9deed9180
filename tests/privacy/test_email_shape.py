"""``looks_like_email``: the gate that keeps emails out of URLs, however they are written."""

from __future__ import annotations

import string
import sys
import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.detectors import _ASCII_EMAIL
from privacy.email_shape import looks_like_email
from tests.privacy.strategies import emails, fillers

FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in string.ascii_letters + string.digits + "@.%"}
# Every character that is, or NFKC-folds into, an at sign or a percent sign.
HIDING_CHARACTERS = "".join(
    chr(code)
    for code in range(sys.maxunicode + 1)
    if not 0xD800 <= code < 0xE000
    and any(sign in unicodedata.normalize("NFKC", chr(code)) for sign in "@%")
)


@pytest.mark.parametrize(
    "text",
    [
        "jane.doe@example.com",
        "JANE.DOE@EXAMPLE.COM",
        "jane%40example.com",
        "jane%2540example.com",  # encoded twice
        "jane.doe@example.com".translate(FULLWIDTH),
        "jane\ufe6bexample.com",  # small commercial at
        "jane%40example.com".translate(FULLWIDTH),  # fullwidth percent escape
        "jane\ufe6a40example.com",  # small percent sign
        "kunde@müller.de",  # IDN domain
        "jöhn.doe@example.com",
        "user_id=jane@example.com",
        " jane@example.com ",
    ],
)
def test_emails_in_any_spelling_are_recognised(text: str) -> None:
    assert looks_like_email(text)


@pytest.mark.parametrize(
    "text",
    ["", "u1_3f9a0c1d", "Chrome 131", "AT", "mobile", "a@b", "@example.com", "x@y.", "100%"],
)
def test_identifiers_and_plain_words_are_not_emails(text: str) -> None:
    assert not looks_like_email(text)


@given(before=fillers, email=emails, after=fillers)
def test_an_email_anywhere_in_a_text_is_recognised(before: str, email: str, after: str) -> None:
    assert looks_like_email(f"{before} {email} {after}")


@given(email=emails)
def test_encoded_and_fullwidth_emails_are_recognised(email: str) -> None:
    assert looks_like_email(quote(email, safe=""))
    assert looks_like_email(email.translate(FULLWIDTH))


@given(text=st.from_regex(_ASCII_EMAIL))
def test_whatever_the_masking_detector_takes_for_an_email_is_one_here(text: str) -> None:
    assert looks_like_email(text)


@given(text=st.text(alphabet=st.characters(exclude_characters=HIDING_CHARACTERS)))
def test_text_without_an_at_or_percent_sign_in_any_form_is_never_an_email(text: str) -> None:
    assert not looks_like_email(text)


@pytest.mark.parametrize("sign", HIDING_CHARACTERS)
def test_every_form_of_the_at_and_percent_signs_is_seen(sign: str) -> None:
    at = sign if "@" in unicodedata.normalize("NFKC", sign) else f"{sign}40"
    assert looks_like_email(f"jane.doe{at}example.com")
