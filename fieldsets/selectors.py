"""Reads of fieldset definitions (what they contain; who holds them is the policy's business)."""

from __future__ import annotations

from typing import Any

from fieldsets.models import Fieldset


def fieldset_list() -> list[dict[str, Any]]:
    return list(
        Fieldset.objects.order_by("name").values("name", "description", "fields", "builtin")
    )
