"""Records to an OTLP/HTTP JSON ``ExportLogsServiceRequest`` (the OTLP JSON encoding)."""

from __future__ import annotations

import logging
from typing import Any

# Python's levels to OpenTelemetry severity numbers (the logs data model's mapping).
_SEVERITIES = ((logging.CRITICAL, 21), (logging.ERROR, 17), (logging.WARNING, 13),
               (logging.INFO, 9), (logging.DEBUG, 5))  # fmt: skip


def severity_number(levelno: int) -> int:
    for level, number in _SEVERITIES:
        if levelno >= level:
            return number
    return 1  # below DEBUG: trace


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(item) for item in value]}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in values.items()]


def export_request(
    records: list[dict[str, Any]], *, resource: dict[str, Any], scope: tuple[str, str]
) -> dict[str, Any]:
    """``records``: already masked, each with time_ns, levelno, level, body, attributes."""
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": key_values(resource)},
                "scopeLogs": [
                    {
                        "scope": {"name": scope[0], "version": scope[1]},
                        "logRecords": [_record(record) for record in records],
                    }
                ],
            }
        ]
    }


def _record(record: dict[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "timeUnixNano": str(record["time_ns"]),
        "observedTimeUnixNano": str(record["time_ns"]),
        "severityNumber": severity_number(record["levelno"]),
        "severityText": record["level"],
        "body": {"stringValue": record["body"]},
        "attributes": key_values(record["attributes"]),
    }
    for name in ("traceId", "spanId"):
        if record.get(name):
            encoded[name] = record[name]
    return encoded
