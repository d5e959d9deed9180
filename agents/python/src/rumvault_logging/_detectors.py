"""The detectors and credential vocabulary the handler masks with: rumvault's own.

An installed wheel carries them in ``rumvault_logging._privacy`` (copied from
the repository's ``privacy/`` at build time). Run from a checkout (tests,
development), the repository's ``privacy`` package is the same code.
"""

from __future__ import annotations

try:
    from rumvault_logging._privacy.credentials import is_credential_name
    from rumvault_logging._privacy.detectors import MASK, mask_text, mask_with
except ImportError:  # a source checkout: the files live in the repository's privacy/
    from privacy.credentials import is_credential_name  # type: ignore[no-redef]
    from privacy.detectors import MASK, mask_text, mask_with  # type: ignore[no-redef]

__all__ = ["MASK", "is_credential_name", "mask_text", "mask_with"]
