"""Repeating a rewrite until it is a no-op, the one way maskers become idempotent."""

from __future__ import annotations

from collections.abc import Callable

# Each pass that changes the text replaces at least one unmasked character, so the
# loop ends on its own; the cap only bounds the work on adversarial input.
MAX_PASSES = 16


def until_stable(step: Callable[[str], str], text: str) -> str:
    """Apply ``step`` until the text stops changing, which makes ``step`` idempotent."""
    for _ in range(MAX_PASSES):
        result = step(text)
        if result == text:
            return result
        text = result
    return text
