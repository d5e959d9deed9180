"""Which names a fieldset may hold, and which fields a query parameter touches."""

from __future__ import annotations

import pytest

from fieldsets.registry import SESSION_FIELDS, fields_referenced_by, is_fieldset_field


@pytest.mark.parametrize("name", [*SESSION_FIELDS, "properties.tier", "properties.a.b"])
def test_fieldset_fields(name: str) -> None:
    assert is_fieldset_field(name)


@pytest.mark.parametrize(
    "name", ["id", "application", "started_at", "user_id", "masked_fields", "properties.", "x"]
)
def test_not_fieldset_fields(name: str) -> None:
    assert not is_fieldset_field(name)


@pytest.mark.parametrize(
    ("parameter", "fields"),
    [
        ("client_ip", ["client_ip"]),
        ("client_ip__startswith", ["client_ip"]),
        ("user_tag__iexact", ["user_tag"]),
        ("properties__tier", ["properties.tier", "properties"]),
        ("properties__tier__in", ["properties.tier", "properties"]),
        ("properties.tier", ["properties.tier", "properties"]),
        ("properties", ["properties"]),
        ("search", ["search"]),
    ],
)
def test_fields_referenced_by(parameter: str, fields: list[str]) -> None:
    assert fields_referenced_by(parameter) == fields
