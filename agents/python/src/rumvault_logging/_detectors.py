"""The detectors and credential vocabulary the handler masks with: rumvault's own.

An installed wheel carries them in ``rumvault_logging._privacy`` (copied from
the repository's ``privacy/`` at build time). Run from a checkout (tests,
development), the repository's ``privacy`` package is the same code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"rumvault_logging._privacy.{name}")
    except ImportError:  # a source checkout: the files live in the repository's privacy/
        return importlib.import_module(f"privacy.{name}")


_detectors = _module("detectors")
_credentials = _module("credentials")

MASK: str = _detectors.MASK
mask_text: Callable[..., str] = _detectors.mask_text
mask_with: Callable[[str, str], str] = _detectors.mask_with
is_credential_name: Callable[[str], bool] = _credentials.is_credential_name

__all__ = ["MASK", "is_credential_name", "mask_text", "mask_with"]
