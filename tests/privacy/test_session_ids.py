"""The keyed digest stored for a client session_id that contains personal data."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.detectors import mask_text
from privacy.keyring import parse_keyring
from privacy.session_ids import DIGEST_PREFIX, stored_session_ids
from tests.privacy.strategies import fillers, personal_data, separators

EXAMPLES = 200
KEYRING = parse_keyring("1:" + "a" * 40)
ROTATED = parse_keyring("1:" + "a" * 40 + ",2:" + "b" * 40)
session_ids = st.text(min_size=1, max_size=128)


def stored(session_id: str, *, application_id: int = 1, keyring=KEYRING) -> list[str]:
    return stored_session_ids(
        session_id, mask_text(session_id), application_id=application_id, keyring=keyring
    )


def test_examples() -> None:
    assert stored("s-0001") == ["s-0001"]
    [digest] = stored("s-jane@example.com")
    assert digest.startswith("<masked:s1_")
    assert digest.endswith(">")
    assert len(digest) == len("<masked:s1_>") + 32
    assert "jane" not in digest
    assert stored("s-jane@example.com") == [digest]  # stable: re-sends merge


@settings(max_examples=EXAMPLES)
@given(fillers, separators, personal_data, separators, fillers)
def test_ids_with_personal_data_become_digests_that_keep_ids_apart(
    before: str, left: str, value: str, right: str, after: str
) -> None:
    session_id = before + left + value + right + after
    other = session_id + "x"
    [digest] = stored(session_id)
    assert digest.startswith(DIGEST_PREFIX)
    assert value not in digest
    assert stored(session_id) == [digest]
    assert stored(session_id, application_id=2) != [digest]
    assert stored(other) != [digest]


@settings(max_examples=EXAMPLES)
@given(session_ids)
def test_ids_are_kept_as_sent_unless_a_detector_finds_something(session_id: str) -> None:
    ids = stored(session_id)
    if mask_text(session_id) == session_id and not session_id.startswith(DIGEST_PREFIX):
        assert ids == [session_id]
    else:
        assert len(ids) == 1
        assert ids[0].startswith(DIGEST_PREFIX)
        assert ids != [session_id]


@settings(max_examples=EXAMPLES)
@given(session_ids)
def test_a_digest_sent_as_an_id_never_lands_on_itself(session_id: str) -> None:
    [digest] = stored(session_id + " jane@example.com")
    assert stored(digest) != [digest]


def test_after_a_rotation_the_old_digest_is_looked_up_too() -> None:
    [old] = stored("s-jane@example.com")
    current, *older = stored("s-jane@example.com", keyring=ROTATED)
    assert current.startswith("<masked:s2_")
    assert older == [old]
