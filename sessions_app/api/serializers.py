"""Hand-written read serializers: ``.values()`` rows -> JSON-ready dicts.

Deliberately not DRF ``Serializer`` classes: a list page of 500 sessions with
~20 fields each would build 10,000 field calls per request. Masking is one
call to ``FieldsetPolicy.mask`` per row with a plan precomputed per
application; formatting matches DRF's defaults (ISO 8601 with ``Z``,
decimals as strings). ``sessions_app.api.schema`` documents the shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fieldsets.policy import Disclosure, FieldsetPolicy

SESSION_KEYS: tuple[str, ...] = (
    "id", "application", "session_id", "started_at", "ended_at", "duration_ms", "user_id",
    "user_tag", "client_ip", "geo_latitude", "geo_longitude", "country", "city", "browser", "os",
    "device", "properties", "action_count", "error_count", "converted", "revenue", "masked_fields",
)  # fmt: skip
ACTION_KEYS: tuple[str, ...] = (
    "seq", "type", "name", "url", "timestamp", "duration_ms", "http_status", "error_message",
    "headers", "request_attributes", "product",
)  # fmt: skip
_PRODUCT = ("sku", "name", "price", "currency", "quantity", "event")


def iso_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def serialize_sessions(
    rows: Iterable[dict[str, Any]], *, policy: FieldsetPolicy, disclosure: Disclosure
) -> list[dict[str, Any]]:
    """Masked, JSON-ready sessions; what they revealed is added to ``disclosure``."""
    mask = policy.mask
    result = []
    for row in rows:
        values, masked = mask(row, disclosure)
        values["started_at"] = iso_datetime(values["started_at"])
        values["ended_at"] = iso_datetime(values["ended_at"])
        values["revenue"] = decimal_text(values["revenue"])
        values["masked_fields"] = masked
        result.append(values)
    return result


def serialize_action(row: dict[str, Any]) -> dict[str, Any]:
    product = {key: row[f"product_{key}"] for key in _PRODUCT}
    has_product = any(value not in (None, "") for value in product.values())
    if has_product:
        product["price"] = decimal_text(product["price"])
    return {
        "seq": row["seq"],
        "type": row["type"],
        "name": row["name"],
        "url": row["url"],
        "timestamp": iso_datetime(row["timestamp"]),
        "duration_ms": row["duration_ms"],
        "http_status": row["http_status"],
        "error_message": row["error_message"],
        "headers": row["headers"],
        "request_attributes": row["request_attributes"],
        "product": product if has_product else None,
    }


def serialize_audit_record(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": iso_datetime(row["created_at"])}
