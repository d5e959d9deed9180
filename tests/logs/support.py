"""Builders for log ingest requests (rumvault JSON and OTLP) and readers of what was stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as OtlpLogRecord

from logs.models import LogRecord

JSON_URL = "/api/v1/ingest/logs/"
OTLP_URL = "/v1/logs"
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def recent(minutes: int = 5) -> datetime:
    """A time well inside the default retention period."""
    return datetime.now(tz=UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def log(**fields: Any) -> dict[str, Any]:
    return {
        "time": recent().isoformat(),
        "severity_number": 17,
        "severity_text": "ERROR",
        "body": f"Payment gateway timeout for {EMAIL}",
        "service": "checkout",
        "host": "web-1",
        "attributes": {"order_id": "A-998877"},
        **fields,
    }


def post_json(client: Client, token: str | None, body: Any, **extra: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        JSON_URL,
        data=data,
        content_type=extra.pop("content_type", "application/json"),
        headers={**headers, **extra.pop("headers", {})},
    )


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, dict):
        result = AnyValue()
        result.kvlist_value.values.extend(
            KeyValue(key=k, value=any_value(v)) for k, v in value.items()
        )
        return result
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(any_value(v) for v in value)
        return result
    return AnyValue(string_value=value)


def key_values(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def otlp_request(
    *records: OtlpLogRecord, resource: dict[str, Any] | None = None
) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        key_values(resource or {"service.name": "checkout", "host.name": "web-1"})
    )
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def otlp_record(
    body: Any = "Payment gateway timeout", *, when: datetime | None = None, **fields: Any
) -> OtlpLogRecord:
    attributes = fields.pop("attributes", {})
    record = OtlpLogRecord(
        time_unix_nano=int((when or recent()).timestamp() * 10**9),
        severity_number=fields.pop("severity_number", 17),
        severity_text=fields.pop("severity_text", "ERROR"),
        **fields,
    )
    record.body.CopyFrom(any_value(body))
    record.attributes.extend(key_values(attributes))
    return record


def post_otlp(
    client: Client, token: str | None, body: bytes, *, content_type: str, **headers: str
) -> Any:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(OTLP_URL, data=body, content_type=content_type, headers={**auth, **headers})


def stored() -> list[LogRecord]:
    return list(LogRecord.objects.order_by("id"))


def everything_stored() -> str:
    """Every stored log value as one string, to look for what must not be there."""
    return json.dumps(list(LogRecord.objects.values()), default=str, ensure_ascii=False)
