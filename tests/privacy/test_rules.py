"""Masking rules, the pure part: RE2 patterns, the phone detector, each method."""

from __future__ import annotations

import time

import phonenumbers
import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st

from privacy import MASK
from privacy.credentials import CREDENTIAL_NAME_CORES
from privacy.detectors import DETECTOR_SUBSTITUTIONS
from privacy.keyring import parse_keyring
from privacy.normalise import normalise_text
from privacy.patterns import PatternRefused, compile_pattern
from privacy.phones import substitute_phones
from privacy.rules import (
    Detector,
    DetectorMatcher,
    Method,
    PatternMatcher,
    Rewriter,
    keyed_hash,
    matches_everything,
    partial_form,
)
from tests.privacy.strategies import card_numbers

KEYRING = parse_keyring("1:" + "k" * 40)
ADDRESS = "Cannot deliver to Hauptstrasse 12, 1010 Wien for Anna Probe (phone +43 660 1234567)"


def rewriter(
    method: Method,
    *,
    detector: str | None = None,
    pattern: str | None = None,
    replacement: str = "",
    region: str | None = None,
) -> Rewriter:
    matcher = (
        DetectorMatcher(Detector(detector), phone_region=region)
        if detector is not None
        else PatternMatcher(compile_pattern(pattern or ""))
    )
    return Rewriter(
        matcher=matcher,
        method=method,
        replacement=replacement,
        hasher=lambda found: keyed_hash(found, application_id=1, keyring=KEYRING),
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "back-reference"),
        (r"foo(?=bar)", "look-around"),
        (r"(?<!x)y", "look-around"),
        (r"(?!a)b", "look-around"),
        (r"(unclosed", "parenthesis"),
        (r"(a{1000}){1000}", "repetition"),
        ("x" * 501, "longer than 500"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_saying_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternRefused) as refused:
        compile_pattern(pattern)
    assert reason in refused.value.reason
    assert pattern not in refused.value.reason  # the pattern is not quoted back


def test_a_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    # (a+)+$ against "aaaa...!" takes Python's re exponential time; RE2 is linear.
    pattern = PatternMatcher(compile_pattern(r"(a+)+$"))
    text = "a" * 4000 + "!"
    started = time.perf_counter()
    for _ in range(100):
        assert pattern.substitute(text, lambda found: MASK) == text
    assert time.perf_counter() - started < 1.0


def test_a_group_named_mask_is_the_part_rewritten() -> None:
    rule = rewriter(Method.MASK, pattern=r"deliver to (?P<mask>[^,]+, \d{4} \w+) for")
    assert rule.rewrite(ADDRESS) == (
        "Cannot deliver to <masked> for Anna Probe (phone +43 660 1234567)"
    )


def test_empty_matches_are_ignored() -> None:
    assert rewriter(Method.MASK, pattern=r"x*").rewrite("abc") == "abc"
    assert rewriter(Method.MASK, pattern=r".*").rewrite("abc") == MASK


def test_phone_numbers_national_with_the_region_international_always() -> None:
    text = "call 0660 1234567 or +49 30 901820, order 1234567890 on 2026-11-28"
    assert rewriter(Method.MASK, detector="phone", region="AT").rewrite(text) == (
        "call <masked> or <masked>, order 1234567890 on 2026-11-28"
    )
    assert rewriter(Method.MASK, detector="phone").rewrite(text) == (
        "call 0660 1234567 or <masked>, order 1234567890 on 2026-11-28"
    )


def test_each_method() -> None:
    text = "Payment by jane.doe@example.com failed"
    assert rewriter(Method.MASK, detector="email").rewrite(text) == "Payment by <masked> failed"
    assert rewriter(Method.REMOVE, detector="email").rewrite(text) is None
    assert rewriter(Method.REMOVE, detector="email").rewrite("nothing here") == "nothing here"
    assert (
        rewriter(Method.REPLACE, detector="email", replacement="[customer]").rewrite(text)
        == "Payment by [customer] failed"
    )
    assert (
        rewriter(Method.PARTIAL, detector="email").rewrite(text)
        == "Payment by <masked>@example.com failed"
    )
    hashed = rewriter(Method.HASH, detector="email").rewrite(text)
    assert hashed is not None
    assert "jane" not in hashed
    assert hashed == rewriter(Method.HASH, detector="email").rewrite(text)  # stable


def test_partial_keeps_the_last_four_digits_only() -> None:
    assert partial_form("4111 1111 1111 1111") == "•••• •••• •••• 1111"
    assert partial_form("+43 660 1234567") == "+•• ••• •••4567"
    assert partial_form("1234") == MASK  # nothing would be hidden
    assert partial_form("Anna Probe") == MASK


def test_keyed_hash_is_scoped_to_the_application() -> None:
    one = keyed_hash("jane@example.com", application_id=1, keyring=KEYRING)
    two = keyed_hash("jane@example.com", application_id=2, keyring=KEYRING)
    assert one.startswith("h1_")
    assert two.startswith("h1_")
    assert one != two


def test_credential_key_detector_masks_values_of_credential_names() -> None:
    text = 'retry /login?password=hunter2&user=x {"api_key": "abc123"} author=Anna'
    assert rewriter(Method.MASK, detector="credential_key").rewrite(text) == (
        'retry /login?password=<masked>&user=x {"api_key": "<masked>"} author=Anna'
    )


def test_catch_all_patterns_are_recognised() -> None:
    assert matches_everything(PatternMatcher(compile_pattern(r".+")))
    assert matches_everything(PatternMatcher(compile_pattern(r"(?s).")))
    assert not matches_everything(PatternMatcher(compile_pattern(r"^")))  # empty matches only
    assert not matches_everything(PatternMatcher(compile_pattern(r"[0-9]+")))
    assert not matches_everything(DetectorMatcher(Detector.EMAIL))


_WORDS = st.text(alphabet="abcdefghij ,.", max_size=20)


@given(card=card_numbers(), before=_WORDS, after=_WORDS)
def test_partial_of_a_card_never_keeps_more_than_four_of_its_digits(
    card: str, before: str, after: str
) -> None:
    masked = rewriter(Method.PARTIAL, detector="card").rewrite(f"{before} {card} {after}")
    assert masked is not None
    assert card not in masked
    kept = [char for char in masked if char.isdigit()]
    assert kept == list(card[-4:])


@given(text=st.text(max_size=200))
def test_rewriting_twice_changes_nothing_more(text: str) -> None:
    for method in (Method.MASK, Method.PARTIAL, Method.REPLACE):
        rule = rewriter(method, detector="email", replacement="[customer]")
        once = rule.rewrite(text)
        assert once is not None
        assert rule.rewrite(once) == once


_PHONE_ALPHABET = "0123456789" * 3 + "abcxf+( )-./=é"
# Valid numbers (national ones in AT and US) and a hex id, glued to random bits.
_PHONE_PIECES = st.sampled_from(
    ["+43 660 1234567", "0660 1234567", "(0660) 1234567", "+1 650-253-0000", "bab9f87ff5059285"]
)
_PHONE_TEXT = st.lists(
    st.one_of(_PHONE_PIECES, st.text(alphabet=_PHONE_ALPHABET, max_size=6)), max_size=5
).map("".join)


def _libphonenumber_alone(text: str, region: str) -> list[str]:
    return [m.raw_string for m in phonenumbers.PhoneNumberMatcher(text, region)]


@given(_PHONE_TEXT, st.sampled_from(["AT", "US", "ZZ"]))
def test_the_phone_precheck_skips_only_text_libphonenumber_finds_nothing_in(
    text: str, region: str
) -> None:
    found: list[str] = []

    def note(span: str) -> str:
        found.append(span)
        return "<masked>"

    substitute_phones(text, note, region=region)

    assert found == _libphonenumber_alone(text, region)


@pytest.mark.parametrize(
    "text",
    ["x+43 660 1234567", "call+43 660 1234567", "abc 0660 1234567", "(0660) 1234567"],
)
def test_a_number_after_a_letter_and_a_plus_or_a_space_is_still_found(text: str) -> None:
    assert substitute_phones(text, lambda span: "<masked>", region="AT").endswith("<masked>")


# Each detector's kind of data, near misses (a hex id, "author", "pin" inside a word)
# and the separators around names and values, glued to random bits.
_TRIGGER_PIECES = st.sampled_from(
    [
        "pass_word",
        "X-Api-Key",
        "x.auth",
        "author",
        "PIN",
        "shipping",
        "TOKEN",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "de89370400440532013000",
        "sid=ab99254ae901e35c",
        "203.0.113.7",
        "2001:db8::1",
        "123e4567-e89b-12d3-a456-426614174000",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "+43 660 1234567",
        "0660 1234567",
        "jane@example.com",
    ]
)
_TRIGGER_TEXT = st.lists(
    st.one_of(_TRIGGER_PIECES, st.text(alphabet="aZ1-_.:= \t'\"@", max_size=5)), max_size=6
).map("".join)


@given(st.sampled_from(list(Detector)), _TRIGGER_TEXT)
def test_a_detector_finds_nothing_where_its_trigger_does_not_match(
    detector: Detector, text: str
) -> None:
    # Masking rules skip a detector on text its trigger does not match (their RE2 set).
    matcher = DetectorMatcher(detector, phone_region="AT")
    entry = DETECTOR_SUBSTITUTIONS.get(detector.value)
    # The substitution itself, not the matcher, which tests the trigger first.
    substitute = entry[0] if entry is not None else matcher.substitute
    found: list[str] = []
    substitute(normalise_text(text), lambda span: found.append(span) or span)
    if found:
        assert re2.search(matcher.trigger, normalise_text(text)) is not None


@st.composite
def _spelled_names(draw: st.DrawFn) -> str:
    """A vocabulary core (or a near miss), in any case, "_", "." or "-" between letters."""
    core = draw(st.sampled_from([*CREDENTIAL_NAME_CORES, "author", "shipping", "sid"]))
    letters = [draw(st.sampled_from([c.lower(), c.upper()])) for c in core]
    gaps = [draw(st.sampled_from(["", "", "_", ".", "-"])) for _ in letters]
    return "".join(gap + letter for gap, letter in zip(gaps, letters, strict=True))


_PAIR_TEXT = st.lists(
    st.one_of(_spelled_names(), st.text(alphabet="aZ1-_.:= \t'\"&", max_size=4)), max_size=6
).map("".join)


@given(_PAIR_TEXT)
def test_the_credential_key_detector_finds_nothing_where_its_trigger_does_not_match(
    text: str,
) -> None:
    matcher = DetectorMatcher(Detector.CREDENTIAL_KEY)
    if matcher.finds_in(text):
        assert re2.search(matcher.trigger, text) is not None
