"""Keyed user-tag transformations: pseudonym, blind index, encryption."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.keyring import parse_keyring
from privacy.user_tags import (
    blind_index,
    blind_index_candidates,
    decrypt_user_tag,
    encrypt_user_tag,
    normalise_user_tag,
    pseudonym,
)

KEYS = parse_keyring("1:" + "a" * 32)
ROTATED = parse_keyring("1:" + "a" * 32 + ",2:" + "b" * 32)
OTHER = parse_keyring("1:" + "c" * 32)
tags = st.text(min_size=1, max_size=80)
AAD = b"application:1"


@given(tags)
def test_normalising_is_idempotent_and_ignores_case_and_surrounding_space(tag: str) -> None:
    normalised = normalise_user_tag(tag)
    assert normalise_user_tag(normalised) == normalised
    assert normalise_user_tag(f"  {tag.upper()}\t") == normalise_user_tag(tag.upper())


def test_mixed_case_email_normalises_to_lower_case() -> None:
    assert normalise_user_tag("  Jane.Doe@Example.COM ") == "jane.doe@example.com"


@given(tags)
def test_pseudonym_is_stable_carries_its_key_id_and_hides_the_tag(tag: str) -> None:
    value = pseudonym(tag, keyring=KEYS)
    assert value == pseudonym(tag, keyring=KEYS)
    assert value.startswith("u1_")
    assert tag not in value or len(tag) < 3


@given(tags, tags)
def test_different_tags_get_different_pseudonyms(first: str, second: str) -> None:
    if first != second:
        assert pseudonym(first, keyring=KEYS) != pseudonym(second, keyring=KEYS)


@given(tags)
def test_pseudonym_and_blind_index_are_unrelated_and_depend_on_the_key(tag: str) -> None:
    assert pseudonym(tag, keyring=KEYS)[3:] not in blind_index(tag, keyring=KEYS)
    assert blind_index(tag, keyring=KEYS) != blind_index(tag, keyring=OTHER)


@given(tags)
def test_search_after_rotation_still_finds_rows_written_with_the_old_key(tag: str) -> None:
    written_before_rotation = blind_index(tag, keyring=KEYS)
    assert written_before_rotation in blind_index_candidates(tag, keyring=ROTATED)
    assert blind_index(tag, keyring=ROTATED).startswith("b2_")


@given(tags)
def test_encryption_round_trips_and_never_contains_the_plaintext(tag: str) -> None:
    sealed = encrypt_user_tag(tag, keyring=KEYS, associated_data=AAD)
    assert decrypt_user_tag(sealed, keyring=KEYS, associated_data=AAD) == tag
    assert sealed.startswith("e1:")
    if len(tag) >= 4:
        assert tag not in sealed


def test_encryption_is_randomised() -> None:
    first = encrypt_user_tag("jane@example.com", keyring=KEYS, associated_data=AAD)
    second = encrypt_user_tag("jane@example.com", keyring=KEYS, associated_data=AAD)
    assert first != second


def test_ciphertext_moved_to_another_application_does_not_decrypt() -> None:
    sealed = encrypt_user_tag("jane@example.com", keyring=KEYS, associated_data=AAD)
    with pytest.raises(ValueError, match="authentication"):
        decrypt_user_tag(sealed, keyring=KEYS, associated_data=b"application:2")


def test_tampered_ciphertext_is_refused() -> None:
    sealed = encrypt_user_tag("jane@example.com", keyring=KEYS, associated_data=AAD)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError, match="authentication"):
        decrypt_user_tag(tampered, keyring=KEYS, associated_data=AAD)


def test_old_ciphertext_decrypts_after_rotation() -> None:
    sealed = encrypt_user_tag("jane@example.com", keyring=KEYS, associated_data=AAD)
    assert decrypt_user_tag(sealed, keyring=ROTATED, associated_data=AAD) == "jane@example.com"


@pytest.mark.parametrize(
    "spec",
    ["", "1", "x:" + "a" * 32, "1:short", "1:" + "a" * 32 + ",1:" + "b" * 32],
)
def test_malformed_keyrings_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="key"):
        parse_keyring(spec)


def test_newest_key_is_current() -> None:
    assert ROTATED.current_id == 2
