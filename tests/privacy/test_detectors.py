"""Free-text detectors: what is masked, what is not, and that masking is safe to repeat."""

from __future__ import annotations

import random
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import MASK
from privacy.detectors import iban_valid, luhn_valid, mask_text
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


def _adversarial_texts() -> list[str]:
    rng = random.Random(20261128)
    mixed = string.ascii_letters + string.digits + " .:-@%"
    return [
        "1 " * 5_000,
        "1-" * 5_000,
        "1234 " * 2_000,
        "a." * 5_000,
        "a%40" * 2_500,
        "a@b." * 2_500,
        "1:" * 5_000,
        "1." * 5_000,
        "ab12 " * 2_000,
        "f" * 10_000,
        "".join(rng.choice(mixed) for _ in range(10_000)),
        "".join(rng.choice("0123456789 ") for _ in range(10_000)),
    ]


@pytest.mark.parametrize("text", _adversarial_texts())
def test_ten_thousand_characters_mask_quickly(text: str) -> None:
    # Best of three: the bound is about algorithmic blow-up, not a busy CI machine.
    elapsed = []
    for _ in range(3):
        started = time.perf_counter()
        mask_text(text)
        elapsed.append(time.perf_counter() - started)
    assert min(elapsed) < 0.05


@given(st.text(alphabet=st.characters(blacklist_characters="0123456789@:-"), max_size=200))
def test_the_fast_path_for_text_without_digits_at_colon_or_dash_changes_nothing(
    text: str,
) -> None:
    # mask_text skips the detectors for such text; running them must agree.
    from privacy.detectors import _mask_once, until_stable

    assert mask_text(text) == until_stable(_mask_once, text) == text
