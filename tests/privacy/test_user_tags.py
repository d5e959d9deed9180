"""Keyed user-tag transformations: pseudonym, blind index, audit hash, encryption."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.keyring import parse_keyring
from privacy.user_tags import (
    audit_hash,
    blind_index,
    blind_index_candidates,
    decrypt_user_tag,
    encrypt_user_tag,
    normalise_user_tag,
    pseudonym,
    scope_pseudonym,
    unscoped_pseudonym,
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


application_ids = st.integers(min_value=1, max_value=2**63 - 1)


@given(tags, application_ids)
def test_pseudonym_is_stable_carries_its_key_id_and_hides_the_tag(tag: str, app: int) -> None:
    value = pseudonym(tag, application_id=app, keyring=KEYS)
    assert value == pseudonym(tag, application_id=app, keyring=KEYS)
    assert re.fullmatch(r"u1_[0-9a-f]{32}", value)
    assert tag not in value or len(tag) < 3


@given(tags, tags, application_ids)
def test_different_tags_get_different_pseudonyms(first: str, second: str, app: int) -> None:
    if first != second:
        assert pseudonym(first, application_id=app, keyring=KEYS) != pseudonym(
            second, application_id=app, keyring=KEYS
        )


@given(tags, application_ids, application_ids)
def test_one_person_gets_unrelated_pseudonyms_in_two_applications(
    tag: str, first: int, second: int
) -> None:
    in_first = pseudonym(tag, application_id=first, keyring=KEYS)
    in_second = pseudonym(tag, application_id=second, keyring=KEYS)
    assert (in_first == in_second) == (first == second)
    # Neither is the application-independent value a reader could join on.
    assert unscoped_pseudonym(tag, keyring=KEYS) not in (in_first, in_second)


@given(tags, application_ids)
def test_scoping_a_stored_unscoped_pseudonym_gives_what_ingest_writes(tag: str, app: int) -> None:
    stored_before = unscoped_pseudonym(tag, keyring=KEYS)
    migrated = scope_pseudonym(stored_before, application_id=app, keyring=ROTATED)
    # Scoped under the key that made it (1), even though key 2 is current now.
    assert migrated == pseudonym(tag, application_id=app, keyring=KEYS)
    assert migrated.startswith("u1_")


@pytest.mark.parametrize(
    "value", ["", "u1_", "u1_" + "0" * 31, "u1_" + "A" * 32, "b1_" + "0" * 32, "u_" + "0" * 32]
)
def test_scoping_refuses_what_is_no_pseudonym(value: str) -> None:
    with pytest.raises(ValueError, match="not a pseudonym"):
        scope_pseudonym(value, application_id=1, keyring=KEYS)


def test_scoping_a_pseudonym_of_a_removed_key_fails() -> None:
    with pytest.raises(KeyError):
        scope_pseudonym("u7_" + "0" * 32, application_id=1, keyring=KEYS)


@given(tags, application_ids)
def test_pseudonym_and_blind_index_are_unrelated_and_depend_on_the_key(tag: str, app: int) -> None:
    assert pseudonym(tag, application_id=app, keyring=KEYS)[3:] not in blind_index(
        tag, keyring=KEYS
    )
    assert blind_index(tag, keyring=KEYS) != blind_index(tag, keyring=OTHER)
    assert pseudonym(tag, application_id=app, keyring=KEYS) != pseudonym(
        tag, application_id=app, keyring=OTHER
    )


@given(tags)
def test_audit_hash_is_never_a_blind_index_even_under_the_same_secret(tag: str) -> None:
    hashed = audit_hash(tag, keyring=KEYS)
    assert hashed.startswith("a1_")
    assert hashed not in blind_index_candidates(tag, keyring=ROTATED)
    assert hashed[3:] != blind_index(tag, keyring=KEYS)[3:]
    assert hashed != audit_hash(tag, keyring=OTHER)


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
