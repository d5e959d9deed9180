"""The audit trail's hash chain and seals: pure functions, no database.

Each audit record is hashed together with its predecessor's hash, so that a
record changed, removed or inserted anywhere breaks the chain from there on::

    hash(n) = SHA-256(canonical(record n, including seq(n) and hash(n-1)))

The chain alone does not need a key, which is what lets a key be retired:
whoever recomputes it from the stored records gets the same hashes. What a
key adds is a *seal*: an HMAC under the audit keyring over a hash, which only
rumvault can make. Each record's hash is sealed (so a rewritten tail is found
at its first record), the chain's head is sealed (so removing the newest
records is found), and checkpoints seal the hash at a position (so a purged
beginning, or records sealed with a retired key, are still anchored).

``canonical`` is the stored format: changing it changes every hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from privacy.keyring import Keyring

GENESIS = "0" * 64  # the "previous hash" of the first record ever written
SEAL_PREFIX = "k"
_SEAL_SHAPE = re.compile(rf"{SEAL_PREFIX}([0-9]+)_([0-9a-f]{{64}})")

# Purposes keep the three kinds of seal apart, so none can stand in for another.
RECORD = b"audit-record"
HEAD = b"audit-head"
CHECKPOINT = b"audit-checkpoint"
RECEIPT = b"data-subject-receipt"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


# Values left out of the canonical form: a column added later with one of
# these as its default (older records get it) leaves their hashes unchanged.
# ``in`` compares with ==, under which none of these equals False or 0.
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _empty(value: Any) -> bool:
    return value in _EMPTY


def canonical(values: Mapping[str, Any]) -> bytes:
    """One byte string per set of values: sorted keys, compact, ASCII, empty values left out.

    Leaving out ``None``, ``""``, ``[]`` and ``{}`` means a column added later
    with such a default does not change the hashes of the records written
    before it (``False`` and ``0`` are kept: they say something). Values must
    be JSON types or aware datetimes (written with microseconds, in UTC, as
    both databases store them).
    """
    plain = {name: _plain(value) for name, value in values.items() if not _empty(value)}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link_hash(values: Mapping[str, Any]) -> str:
    """The hex SHA-256 of ``canonical(values)``; ``values`` include the predecessor's hash."""
    return hashlib.sha256(canonical(values)).hexdigest()


def seal(message: str, *, purpose: bytes, keyring: Keyring, key_id: int | None = None) -> str:
    """``k<key id>_<hex>``: HMAC-SHA256 of ``message`` under the audit key (current by default)."""
    key_id = keyring.current_id if key_id is None else key_id
    digest = hmac.new(keyring.get(key_id), purpose + b"\x00" + message.encode(), hashlib.sha256)
    return f"{SEAL_PREFIX}{key_id}_{digest.hexdigest()}"


def seal_key_id(value: str) -> int | None:
    """The key id a seal names, or ``None`` for a value that is no seal."""
    match = _SEAL_SHAPE.fullmatch(value or "")
    return int(match[1]) if match else None


def seal_holds(message: str, value: str, *, purpose: bytes, keyring: Keyring) -> bool | None:
    """Whether ``value`` seals ``message``: ``True``/``False``, or ``None`` if its key is gone.

    ``None`` is not a failure by itself: a record sealed with a retired key is
    still covered by a checkpoint sealed with a newer one (the verifier decides).
    """
    key_id = seal_key_id(value)
    if key_id is None:
        return False
    if key_id not in keyring.keys:
        return None
    expected = seal(message, purpose=purpose, keyring=keyring, key_id=key_id)
    return hmac.compare_digest(expected, value)


def position(seq: int, chain_hash: str) -> str:
    """What a head or checkpoint seal covers: a position in the chain and the hash there."""
    return f"{seq}:{chain_hash}"
