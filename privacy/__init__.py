"""Pure, Django-free maskers for personal data.

Everything in this package is plain functions over plain values so that the
ingest pipeline, the management commands and the property-based tests all share
one implementation that is cheap to reason about and to fuzz.
"""

from __future__ import annotations

from privacy.detectors import MASK

__all__ = ["MASK"]
