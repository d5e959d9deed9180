"""Filtering of session properties and action payloads at ingest.

Both functions return new dicts: the caller's payload is left untouched so that
validation errors can still point at what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_NEVER_STORED = "password"
_INPUT_VALUE = "input_value"


def _names_password(key: object) -> bool:
    # A password is never stored, whatever the allow-list says: a misconfigured
    # allow-list must not be able to opt into it.
    return isinstance(key, str) and _NEVER_STORED in key.casefold()


def filter_properties(
    properties: Mapping[str, object], *, allowed: Iterable[str]
) -> dict[str, object]:
    """Keep only ``allowed`` keys, and never a key containing "password"."""
    allowed_keys = frozenset(allowed)
    return {
        key: value
        for key, value in properties.items()
        if key in allowed_keys and not _names_password(key)
    }


def drop_input_value(action: Mapping[str, object]) -> dict[str, object]:
    """Copy of ``action`` without ``input_value`` (any case) or top-level password keys.

    User input is never stored: what a customer typed is the most personal data
    a RUM agent can see, and none of the analysis needs it.
    """
    return {
        key: value
        for key, value in action.items()
        if not (isinstance(key, str) and key.casefold() == _INPUT_VALUE)
        and not _names_password(key)
    }
