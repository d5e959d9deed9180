"""Cleaning of captured HTTP headers.

Credentials are dropped rather than masked: even a masked ``Cookie`` tells which
cookies exist, and nobody debugging a session needs that. Which names are
credentials is the one vocabulary of ``privacy.credentials`` (``Authorization``,
``Cookie``, ``Set-Cookie``, ``Proxy-Authorization``, ``X-Api-Key``, any name with
``token``, ``secret``, ``password``, ``session``...), matched on normalised names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from privacy.credentials import is_credential_name
from privacy.detectors import mask_text
from privacy.text import Masker, mask_mapping


def clean_headers(
    headers: Mapping[str, str],
    *,
    mask: Masker = mask_text,
    is_credential: Callable[[str], bool] = is_credential_name,
) -> dict[str, str]:
    """Drop credential headers; pass the other names and values through ``mask``."""
    cleaned = mask_mapping(headers, mask=mask, is_credential=is_credential)
    return {name: value for name, value in cleaned.items() if isinstance(value, str)}
