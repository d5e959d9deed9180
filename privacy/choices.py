"""String enums with a human label: the one declaration of each setting's vocabulary.

``privacy`` is the bottom layer (pure Python, no Django), and its maskers take
these settings as arguments, so the enums live here. The models build their
``choices`` and check constraints from the same classes (``choices()`` and
``values()``), so a value is spelt in exactly one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class LabelledChoices(StrEnum):
    """A ``StrEnum`` whose members are declared as ``NAME = "value", "Label"``."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``[(value, label), ...]`` for a Django field's ``choices``."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]

    @classmethod
    def _missing_(cls, value: Any) -> None:
        return None
