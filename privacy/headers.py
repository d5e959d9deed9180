"""Cleaning of captured HTTP headers.

Credentials are dropped rather than masked: even a masked ``Cookie`` tells which
cookies exist, and nobody debugging a session needs that.
"""

from __future__ import annotations

from collections.abc import Mapping

from privacy.detectors import mask_text

DROPPED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
SENSITIVE_NAME_PARTS = ("token", "secret", "password", "session")


def is_dropped_header(name: str) -> bool:
    """True for credential headers and any name containing a sensitive part.

    ``casefold`` rather than ``lower`` so that a name spelt with a long s (U+017F)
    cannot slip past the "session" check.
    """
    folded = name.strip().casefold()
    return folded in DROPPED_HEADERS or any(part in folded for part in SENSITIVE_NAME_PARTS)


def clean_headers(headers: Mapping[str, str], *, mask_values: bool) -> dict[str, str]:
    """Drop sensitive headers; with ``mask_values``, mask personal data in the others."""
    return {
        name: mask_text(value) if mask_values and isinstance(value, str) else value
        for name, value in headers.items()
        if not is_dropped_header(name)
    }
