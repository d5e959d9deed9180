"""Masking of structured values such as request attributes.

Exception messages are plain strings and go through ``mask_text`` directly; this
module only adds the walk over JSON-like containers.
"""

from __future__ import annotations

from collections.abc import Mapping

from privacy.detectors import mask_text


def mask_mapping_values(values: Mapping[str, object]) -> dict[str, object]:
    """Return a copy with every string value, at any depth, passed through ``mask_text``.

    Keys are kept (they are chosen by the application's developers, not by users);
    numbers, booleans and ``None`` are kept because the detectors only read text.
    """
    return {key: _mask_value(value) for key, value in values.items()}


def _mask_value(value: object) -> object:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_value(item) for item in value)
    return value
