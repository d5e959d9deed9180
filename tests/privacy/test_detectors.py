"""Free-text detectors: what is masked, what is not, and that masking is safe to repeat."""

from __future__ import annotations

import string
from functools import partial

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from privacy import MASK
from privacy.detectors import iban_valid, luhn_valid, mask_text
from privacy.normalise import normalise_text
from privacy.stable import until_stable
from tests.privacy.strategies import (
    card_numbers,
    fillers,
    formatted_card_numbers,
    formatted_ibans,
    ibans,
    personal_data,
    separators,
)

EXAMPLES = 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Payment failed for jane.doe@example.com", "Payment failed for <masked>"),
        ("to JANE.DOE@EXAMPLE.COM.", "to <masked>."),
        ("/users/jane%40example.com/orders", "/users/<masked>/orders"),
        ("/users/jane.doe%40example.com/orders", "/users/<masked>/orders"),
        ("card 4111 1111 1111 1111 declined", "card <masked> declined"),
        ("card 4111-1111-1111-1111 declined", "card <masked> declined"),
        ("card=4111111111111111&x=1", "card=<masked>&x=1"),
        ("amex 3782 822463 10005", "amex <masked>"),
        ("IBAN DE89 3704 0044 0532 0130 00, thanks", "IBAN <masked>, thanks"),
        ("IBAN DE89370400440532013000", "IBAN <masked>"),
        ("iban gb82 west 1234 5698 7654 32", "iban <masked>"),
        ("from 203.0.113.42 via 10.0.0.1:8080", "from <masked> via <masked>:8080"),
        ("peer 2001:db8:85a3::8a2e:370:7334 reset", "peer <masked> reset"),
        ("mapped ::ffff:192.0.2.1.", "mapped <masked>."),
        ("req 550e8400-e29b-41d4-a716-446655440000 failed", "req <masked> failed"),
    ],
)
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112",  # 16 digits, Luhn-invalid
        "order 1234567 shipped",  # generic digit runs are only masked in URI paths
        "DE00370400440532013000",  # bad check digits
        "DE89370400440532013001",  # bad checksum
        "version 1.2.3 at 10:00 and 10:00:00",
        "999.1.2.3 and 1.2.3.4.5",
        "2026-11-28 2026-11-29",
        "std::vector, Base::Add, f :: Int",
        "A-998877 DRESS-42 79.90 EUR",
        "",
        MASK,
    ],
)
def test_leaves_other_text_alone(text: str) -> None:
    assert mask_text(text) == text


def test_luhn_and_iban_known_values() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("4111 1111 1111 1111")  # separators are the caller's business
    assert not luhn_valid("")
    assert not luhn_valid("\uff14\uff11\uff11\uff11")  # fullwidth digits are not card digits
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert iban_valid("gb82west12345698765432")
    assert not iban_valid("DE00370400440532013000")
    assert not iban_valid("DE89 3704")


@settings(max_examples=EXAMPLES)
@given(card_numbers())
def test_generated_cards_pass_luhn_and_one_changed_digit_fails(number: str) -> None:
    assert luhn_valid(number)
    position = len(number) // 2
    changed = str((int(number[position]) + 1) % 10)
    assert not luhn_valid(number[:position] + changed + number[position + 1 :])


@settings(max_examples=EXAMPLES)
@given(ibans())
def test_generated_ibans_pass_mod_97_and_a_changed_character_fails(iban: str) -> None:
    assert iban_valid(iban)
    assert iban_valid(" ".join(iban[index : index + 4] for index in range(0, len(iban), 4)))
    # Any other units check digit moves the number by 1..9, never a multiple of 97.
    changed = str((int(iban[3]) + 1) % 10)
    assert not iban_valid(iban[:3] + changed + iban[4:])


@settings(max_examples=EXAMPLES)
@given(fillers, separators, formatted_card_numbers(), separators, fillers)
def test_embedded_cards_are_always_masked(
    before: str, left: str, card: str, right: str, after: str
) -> None:
    masked = mask_text(before + left + card + right + after)
    assert card not in masked
    assert MASK in masked


@settings(max_examples=EXAMPLES)
@given(fillers, separators, formatted_ibans(), separators, fillers)
def test_embedded_ibans_are_always_masked(
    before: str, left: str, iban: str, right: str, after: str
) -> None:
    masked = mask_text(before + left + iban + right + after)
    assert iban not in masked
    assert MASK in masked


@settings(max_examples=EXAMPLES)
@given(fillers, separators, personal_data, separators, fillers)
def test_embedded_personal_data_is_always_masked(
    before: str, left: str, value: str, right: str, after: str
) -> None:
    assert value not in mask_text(before + left + value + right + after)


@settings(max_examples=EXAMPLES)
@given(st.lists(st.one_of(fillers, separators, personal_data, st.just(MASK)), max_size=8))
def test_masking_is_idempotent_on_mixed_text(pieces: list[str]) -> None:
    once = mask_text("".join(pieces))
    assert mask_text(once) == once


@settings(max_examples=EXAMPLES)
@given(st.text())
def test_any_text_is_handled_idempotently_and_keeps_existing_masks(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once
    assert once.count(MASK) >= text.count(MASK)


@settings(max_examples=EXAMPLES)
@given(st.text(alphabet="0123456789 -.:@%4abcdefABCDEF<>", min_size=1, max_size=12))
def test_long_repetitive_text_is_handled(pattern: str) -> None:
    text = pattern * (2_000 // len(pattern))
    once = mask_text(text)
    assert mask_text(once) == once


@given(st.text(alphabet=st.characters(blacklist_characters="0123456789@:-"), max_size=200))
def test_the_fast_path_for_text_without_digits_at_colon_or_dash_changes_nothing(
    text: str,
) -> None:
    # mask_text skips the detectors for such text (once normalised); running them must agree.
    from privacy.detectors import _ALL_DETECTORS, _ANY_DETECTOR_CAN_MATCH, _mask_once

    normalised = normalise_text(text)
    assume(_ANY_DETECTOR_CAN_MATCH.search(normalised) is None)
    assert mask_text(text) == text
    assert until_stable(partial(_mask_once, _ALL_DETECTORS), normalised) == normalised


# --- written differently: normalised before detection ------------------------------

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwiZW1haWwiOiJqYW5lQGV4YW1wbGUuY29tIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail \uff4a\uff41\uff4e\uff45\uff20example.com", "mail <masked>"),
        ("mail jane\uff20example.com", "mail <masked>"),
        ("mail jane\u200b@example.com!", "mail <masked>!"),
        ("Kunde kunde@m\u00fcller.de", "Kunde <masked>"),
        ("from j\u00f6hn.doe@example.com", "from <masked>"),
        ("from jo\u0308hn.doe@example.com", "from <masked>"),  # decomposed
        ("\u4f8b\u3048@\u4f8b\u3048.\u30c6\u30b9\u30c8 \u3067\u3059", "<masked> \u3067\u3059"),
        ("kunde@m\u00fcller\u3002de", "<masked>"),
        ("card \uff14\uff11\uff11\uff11111111111111", "card <masked>"),
        ("card 4111\u00a01111\u00a01111\u00a01111 ok", "card <masked> ok"),
        ("card 4111.1111.1111.1111 ok", "card <masked> ok"),
        ("card 4111\u200b1111\u200b1111\u200b1111", "card <masked>"),
        ("ip 203.000.113.077 ok", "ip <masked> ok"),
        ("ip 203-0-113-77 ok", "ip <masked> ok"),
        ("host ip-203-0-113-77.internal", "host ip-<masked>.internal"),
        (
            "6to4 2002:cb00:714d::1 and nat64 64:ff9b::203.0.113.77",
            "6to4 <masked> and nat64 <masked>",
        ),
        ("teredo 2001:0:4136:e378:8000:63bf:3fff:fdd2.", "teredo <masked>."),
        ("mapped ::ffff:203.0.113.77", "mapped <masked>"),
        ("user jane%2Edoe%40example%2Ecom failed", "user <masked> failed"),
        ("q=4111%201111%201111%201111 declined", "q=<masked> declined"),
        ("twice jane%252Edoe%2540example.com", "twice <masked>"),
        ("latin-1 kunde%40m%FCller.de", "latin-1 <masked>"),
        ("utf-8 kunde%40m%C3%BCller.de", "utf-8 <masked>"),
        (f"Bearer {JWT} rejected", "Bearer <masked> rejected"),
    ],
)
def test_masks_personal_data_however_it_is_written(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "caf\u00e9 cr\u00e8me \u2013 \uff21\uff22\uff23",  # nothing to find: stored as sent
        "100% sure, 50%off",
        "progress%20bar",  # an escape that hides nothing stays encoded
        "10-11-12",
        "2026-11-28-2026",
        "1.2.3",
        "eyJ alone",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",  # ZWJ kept: nothing was masked
    ],
)
def test_text_without_personal_data_is_kept_exactly_as_sent(text: str) -> None:
    assert mask_text(text) == text


def test_masked_text_is_stored_normalised() -> None:
    # Once something is masked, the rest is the normalised form (documented).
    assert mask_text("\uff21\uff22 jane@example.com") == "AB <masked>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@example.com 203.0.113.7", "jane@example.com 203.0.113.7"),
        ("card 4111 1111 1111 1111", "card <masked>"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN <masked>"),
        ("card \uff14\uff11\uff11\uff11111111111111", "card <masked>"),
        (f"token {JWT}", "token <masked>"),
    ],
)
def test_without_personal_masking_cards_ibans_and_jwts_are_still_masked(
    text: str, expected: str
) -> None:
    assert mask_text(text, personal=False) == expected


# Ways to write a character so that a reader still reads it, but a pattern over the
# raw text would not.
_DISGUISES = {
    "fullwidth": lambda text: "".join(
        chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text
    ),
    "zero-width": lambda text: "\u200b".join(text),
    "soft hyphens": lambda text: "\u00ad".join(text),
    "word joiners": lambda text: "\u2060".join(text),
    "percent-encoded": lambda text: "".join(f"%{ord(char):02X}" for char in text),
    "no-break spaces": lambda text: text.replace(" ", "\u00a0"),
}


@settings(max_examples=EXAMPLES)
@given(fillers, personal_data, fillers, st.sampled_from(sorted(_DISGUISES)))
def test_disguised_personal_data_is_masked(
    before: str, value: str, after: str, disguise: str
) -> None:
    disguised = _DISGUISES[disguise](value)
    masked = mask_text(f"{before} {disguised} {after}")
    assert disguised not in masked
    assert value not in masked
    assert value not in normalise_text(masked)


@settings(max_examples=EXAMPLES)
@given(st.lists(st.one_of(fillers, separators, personal_data, st.just(MASK)), max_size=6))
def test_disguised_mixed_text_masks_idempotently(pieces: list[str]) -> None:
    for disguise in _DISGUISES.values():
        once = mask_text(disguise("".join(pieces)))
        assert mask_text(once) == once


@settings(max_examples=EXAMPLES)
@given(st.lists(st.one_of(fillers, separators, personal_data, st.just(MASK)), max_size=8))
def test_secrets_only_masking_is_idempotent(pieces: list[str]) -> None:
    once = mask_text("".join(pieces), personal=False)
    assert mask_text(once, personal=False) == once


@settings(max_examples=EXAMPLES)
@given(
    fillers, separators, st.one_of(formatted_card_numbers(), formatted_ibans()), separators, fillers
)
def test_secrets_only_masking_still_masks_cards_and_ibans(
    before: str, left: str, value: str, right: str, after: str
) -> None:
    assert value not in mask_text(before + left + value + right + after, personal=False)


# --- the guards in front of each detector -----------------------------------------------
# Text around the boundaries the guards draw: runs of the characters they count or look
# for (digits, separators, colons, dashes, "eyJ", IBAN heads), next to real findings.
_BASE64URL = string.ascii_letters + string.digits + "_-"
_NEAR_MISSES = st.one_of(
    st.text(alphabet="0123456789 .-:%@eyJDEde<>", max_size=30),
    st.ip_addresses(v=4).map(lambda address: str(address).replace(".", "-")),
    st.ip_addresses(network="fe80::/112").map(str),  # only two colons
    st.builds(  # an IBAN starts a word, in either case
        lambda before, iban, lower: before + (iban.lower() if lower else iban),
        separators,
        formatted_ibans(),
        st.booleans(),
    ),
    st.lists(st.text(alphabet=_BASE64URL, max_size=6), min_size=2, max_size=4).map(
        lambda segments: "eyJ" + ".".join(segments)
    ),
)
_GUARDED_TEXT = st.lists(
    st.one_of(fillers, separators, personal_data, _NEAR_MISSES, st.just(MASK)), max_size=8
).map("".join)


@settings(max_examples=EXAMPLES)
@given(_GUARDED_TEXT, st.sampled_from([None, *sorted(_DISGUISES)]))
def test_a_guard_only_skips_text_its_detector_would_leave_alone(
    text: str, disguise: str | None
) -> None:
    from privacy.detectors import _ALL_DETECTORS, _to_mask

    if disguise is not None:  # the detectors see it normalised (and escapes decoded)
        text = normalise_text(_DISGUISES[disguise](text))
    for step in _ALL_DETECTORS:
        if step.may_hold is not None and not step.may_hold(text):
            assert step.substitute(text, _to_mask) == text


@settings(max_examples=EXAMPLES)
@given(_GUARDED_TEXT, st.sampled_from([None, *sorted(_DISGUISES)]), st.booleans())
def test_guarded_masking_is_unguarded_masking(
    text: str, disguise: str | None, personal: bool
) -> None:
    from privacy.detectors import _ALL_DETECTORS, _CARDS_AND_CREDENTIALS, Step, _mask_once

    if disguise is not None:
        text = _DISGUISES[disguise](text)
    steps = _ALL_DETECTORS if personal else _CARDS_AND_CREDENTIALS
    unguarded = tuple(Step(step.substitute, None) for step in steps)
    normalised = normalise_text(text)
    assert until_stable(partial(_mask_once, steps), normalised) == until_stable(
        partial(_mask_once, unguarded), normalised
    )
