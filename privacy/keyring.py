"""Versioned secret keys, parsed from one environment variable each.

A keyring lets a key be rotated without losing the ability to read what the
old key wrote: values carry the id of the key that produced them, new values
always use the newest key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keyring:
    """Keys by integer id; the highest id is the one used for new values."""

    keys: dict[int, bytes]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one key")

    @property
    def current_id(self) -> int:
        return max(self.keys)

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, key_id: int) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyError(f"no key with id {key_id} in the keyring") from None


def parse_keyring(spec: str, *, min_length: int = 32) -> Keyring:
    """Parse ``"1:secret-one,2:secret-two"`` into a :class:`Keyring`.

    Short keys are refused here rather than at first use, so a misconfigured
    deployment fails at start-up and never writes weakly keyed values.
    """
    keys: dict[int, bytes] = {}
    for position, item in enumerate(part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id_text, separator, secret = item.partition(":")
        if not separator or not key_id_text.isdigit():
            raise ValueError(f"keyring entry {position} must look like '<id>:<secret>'")
        key_id = int(key_id_text)
        if key_id in keys:
            raise ValueError(f"keyring has key id {key_id} twice")
        if len(secret) < min_length:
            raise ValueError(f"key {key_id} is shorter than {min_length} characters")
        keys[key_id] = secret.encode()
    return Keyring(keys)
