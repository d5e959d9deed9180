"""Filtering of session properties and action payloads at ingest.

Both functions return new dicts: the caller's payload is left untouched so that
validation errors can still point at what was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from privacy.credentials import is_credential_name

_INPUT_VALUE = "input_value"


def _names_credential(key: object) -> bool:
    # A credential is never stored, whatever the allow-list says: a misconfigured
    # allow-list must not be able to opt into it.
    return isinstance(key, str) and is_credential_name(key)


def filter_properties(
    properties: Mapping[str, object], *, allowed: Iterable[str]
) -> dict[str, object]:
    """Keep only ``allowed`` keys, and never a credential (``privacy.credentials``).

    Only the top level is filtered here; credentials deeper down are dropped with
    the rest of the masking (``privacy.text.mask_mapping``).
    """
    allowed_keys = frozenset(allowed)
    return {
        key: value
        for key, value in properties.items()
        if key in allowed_keys and not _names_credential(key)
    }


def drop_input_value(action: Mapping[str, object]) -> dict[str, object]:
    """Copy of ``action`` without ``input_value`` (any case) or top-level credential keys.

    User input is never stored: what a customer typed is the most personal data
    a RUM agent can see, and none of the analysis needs it.
    """
    return {
        key: value
        for key, value in action.items()
        if not (isinstance(key, str) and key.casefold() == _INPUT_VALUE)
        and not _names_credential(key)
    }
