"""Reads of fieldset definitions (what they contain; who holds them is the policy's business)."""

from __future__ import annotations

from typing import TypedDict

from fieldsets.models import Fieldset


class FieldsetRow(TypedDict):
    name: str
    description: str
    fields: list[str]
    builtin: bool


def fieldset_list() -> list[FieldsetRow]:
    return list(
        Fieldset.objects.order_by("name").values("name", "description", "fields", "builtin")
    )
