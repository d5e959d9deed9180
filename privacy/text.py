"""Masking of JSON-like values: request attributes, headers, session properties.

Exception messages are plain strings and go through ``mask_text`` directly; this
module adds the walk over containers, where keys are client strings too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from privacy.credentials import is_credential_name
from privacy.detectors import mask_text

Masker = Callable[[str], str]


def mask_mapping(
    values: Mapping[str, object],
    *,
    mask: Masker = mask_text,
    is_credential: Callable[[str], bool] = is_credential_name,
) -> dict[str, object]:
    """A copy with credentials dropped and every key and string passed through ``mask``.

    At any depth: a key in the credential vocabulary is dropped with its value
    (``{"user": {"Password": ...}}`` loses ``Password``); every other key and every
    string value is masked (an email used as a key becomes ``<masked>``). Numbers,
    booleans and ``None`` are kept: the detectors only read text. Callers may pass
    memoised versions of ``mask`` and ``is_credential``.
    """
    return _mask_object(values, mask, is_credential)


def _mask_object(
    values: Mapping[str, object], mask: Masker, is_credential: Callable[[str], bool]
) -> dict[str, object]:
    masked: dict[str, object] = {}
    for key, value in values.items():
        if is_credential(key):
            continue
        masked[_unused_key(mask(key), masked)] = _mask_value(value, mask, is_credential)
    return masked


def _unused_key(key: str, taken: Mapping[str, object]) -> str:
    """``key``, or ``key (2)``, ``key (3)``... when masking made two keys equal.

    Two emails used as keys both become ``<masked>``; numbering them keeps both
    values instead of letting the second silently replace the first.
    """
    candidate, number = key, 1
    while candidate in taken:
        number += 1
        candidate = f"{key} ({number})"
    return candidate


def _mask_value(value: object, mask: Masker, is_credential: Callable[[str], bool]) -> object:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return _mask_object(value, mask, is_credential)
    if isinstance(value, list | tuple):
        return type(value)(_mask_value(item, mask, is_credential) for item in value)
    return value
