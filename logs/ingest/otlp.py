"""OTLP/HTTP logs: ``ExportLogsServiceRequest`` in protobuf or JSON, to ``IncomingLog``s.

Decoding is ``opentelemetry-proto``'s generated classes (protobuf's own
parser); the OTLP JSON encoding is protobuf's JSON mapping with two
differences the specification makes, handled here: trace and span ids are
hex strings (not base64), and unknown fields are ignored. Both encodings then
go through one conversion with the same checks as rumvault's JSON channel
(limits, storable text, severity range, id shapes); error paths are JSON
pointers in the OTLP JSON spelling (``/resourceLogs/0/scopeLogs/0/logRecords/3/body``)
and never repeat a value.

Responses follow the specification too: ``ExportLogsServiceResponse`` (with
``partial_success`` when some records were rejected) or a ``google.rpc.Status``
for errors, in the encoding of the request.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from logs.ingest.records import (
    HOST_ATTRIBUTE,
    HOST_GROUP_ATTRIBUTE,
    SERVICE_ATTRIBUTE,
    SESSION_ID_ATTRIBUTE,
    IncomingLog,
    LogLimits,
    LogsInvalid,
)
from logs.ingest.validation import NAME_MAX_LENGTH, SEVERITY_TEXT_MAX_LENGTH
from logs.models import MAX_SEVERITY_NUMBER
from sessions_app.ingest.validation import (
    MAP_KEY_MAX_LENGTH,
    MAX_NESTING,
    SESSION_ID_MAX_LENGTH,
    ErrorCollector,
    collected,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_NANOS = 10**9


class Undecodable(Exception):
    """The body is no ``ExportLogsServiceRequest`` in the declared encoding (400)."""


def decode(body: bytes, content_type: str) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, ValueError, RecursionError):
            raise Undecodable("The body is not a protobuf ExportLogsServiceRequest.") from None
        return request
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise Undecodable("The body is not valid UTF-8 JSON.") from None
    if not isinstance(payload, dict):
        raise Undecodable("The body must be a JSON ExportLogsServiceRequest object.")
    _hex_ids_to_base64(payload)
    try:
        json_format.ParseDict(payload, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError):
        raise Undecodable("The body is not an OTLP JSON ExportLogsServiceRequest.") from None
    return request


def _hex_ids_to_base64(payload: dict[str, Any]) -> None:
    """OTLP JSON writes trace and span ids in hex; protobuf's JSON mapping expects base64."""
    for resource_logs in _items(payload, "resourceLogs", "resource_logs"):
        for scope_logs in _items(resource_logs, "scopeLogs", "scope_logs"):
            for record in _items(scope_logs, "logRecords", "log_records"):
                for names in (("traceId", "trace_id"), ("spanId", "span_id")):
                    for name in names:
                        value = record.get(name)
                        if isinstance(value, str) and value:
                            try:
                                record[name] = base64.b64encode(bytes.fromhex(value)).decode()
                            except ValueError:
                                raise Undecodable(
                                    "Trace and span ids must be hex strings in OTLP JSON."
                                ) from None


def _items(container: Any, *names: str) -> list[Any]:
    if not isinstance(container, dict):
        return []
    for name in names:
        value = container.get(name)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return []


class _Converter(ErrorCollector):
    def __init__(self, limits: LogLimits, now: datetime) -> None:
        super().__init__()
        self.limits = limits
        self.now = now

    def request(self, request: ExportLogsServiceRequest) -> list[IncomingLog]:
        total = sum(
            len(scope.log_records)
            for resource in request.resource_logs
            for scope in resource.scope_logs
        )
        if total > self.limits.max_records:
            self.error("/resourceLogs", f"must hold at most {self.limits.max_records} log records")
            return []
        records: list[IncomingLog] = []
        for r, resource_logs in enumerate(request.resource_logs):
            base = f"/resourceLogs/{r}"
            resource = self.attributes(
                resource_logs.resource.attributes, f"{base}/resource/attributes"
            )
            service = self.name(resource.pop(SERVICE_ATTRIBUTE, ""), f"{base}/resource/attributes")
            host = self.name(resource.pop(HOST_ATTRIBUTE, ""), f"{base}/resource/attributes")
            group = self.name(resource.pop(HOST_GROUP_ATTRIBUTE, ""), f"{base}/resource/attributes")
            for s, scope_logs in enumerate(resource_logs.scope_logs):
                for i, record in enumerate(scope_logs.log_records):
                    path = f"{base}/scopeLogs/{s}/logRecords/{i}"
                    incoming = self.record(record, path)
                    incoming.resource = resource
                    incoming.service, incoming.host, incoming.host_group = service, host, group
                    records.append(incoming)
        return records

    def record(self, record: Any, path: str) -> IncomingLog:
        severity = int(record.severity_number)
        if not 0 <= severity <= MAX_SEVERITY_NUMBER:
            self.error(f"{path}/severityNumber", f"must be 0 to {MAX_SEVERITY_NUMBER}")
        self.text(record.severity_text, f"{path}/severityText", SEVERITY_TEXT_MAX_LENGTH)
        observed = self.time(record.observed_time_unix_nano, f"{path}/observedTimeUnixNano")
        time = self.time(record.time_unix_nano, f"{path}/timeUnixNano")
        attributes = self.attributes(record.attributes, f"{path}/attributes")
        if len(attributes) > self.limits.max_attributes:
            self.error(f"{path}/attributes", f"must have at most {self.limits.max_attributes} keys")
        session_id = attributes.pop(SESSION_ID_ATTRIBUTE, None)
        if session_id is not None and (
            not isinstance(session_id, str) or len(session_id) > SESSION_ID_MAX_LENGTH
        ):
            self.error(
                f"{path}/attributes",
                f"session_id must be a string of at most {SESSION_ID_MAX_LENGTH} characters",
            )
            session_id = None
        body = self.value(record.body, f"{path}/body", depth=0) if record.HasField("body") else ""
        if isinstance(body, str):
            self.text(body, f"{path}/body", self.limits.max_body_length)
        elif len(json.dumps(body)) > self.limits.max_body_length:
            self.error(f"{path}/body", f"must be at most {self.limits.max_body_length} characters")
        return IncomingLog(
            # The specification: no time means the time it was observed; neither, now.
            time=time or observed or self.now,
            observed_time=observed,
            severity_number=severity,
            severity_text=record.severity_text,
            body=body,
            attributes=attributes,
            trace_id=self.id(record.trace_id, 16, f"{path}/traceId"),
            span_id=self.id(record.span_id, 8, f"{path}/spanId"),
            session_id=session_id or None,
        )

    def time(self, nanos: int, path: str) -> datetime | None:
        if not nanos:
            return None
        seconds, rest = divmod(nanos, _NANOS)
        try:
            return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
        except (OverflowError, ValueError, OSError):
            self.error(path, "is out of range")
            return None

    def id(self, value: bytes, size: int, path: str) -> str | None:
        if not value:
            return None
        if len(value) != size:
            self.error(path, f"must be {size} bytes")
            return None
        text = binascii.hexlify(value).decode()
        return None if text.strip("0") == "" else text

    def name(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            self.error(path, "service.name, host.name and rumvault.host_group must be strings")
            return ""
        return value if self.text(value, path, NAME_MAX_LENGTH) else ""

    def text(self, value: str, path: str, limit: int) -> bool:
        if len(value) > limit:
            self.error(path, f"must be at most {limit} characters")
            return False
        if "\x00" in value:
            self.error(path, "must not contain NUL characters")
            return False
        return True

    def attributes(self, pairs: Iterable[KeyValue], path: str) -> dict[str, Any]:
        return self.kvlist(pairs, path, depth=1)

    def kvlist(self, pairs: Iterable[KeyValue], path: str, *, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for pair in pairs:
            if not self.text(pair.key, path, MAP_KEY_MAX_LENGTH):
                continue
            result[pair.key] = self.value(pair.value, path, depth=depth)
        return result

    def value(self, value: AnyValue, path: str, *, depth: int) -> Any:
        kind = value.WhichOneof("value")
        if kind == "string_value":
            self.text(value.string_value, path, self.limits.max_string_length)
            return value.string_value
        if kind in ("bool_value", "int_value"):
            return getattr(value, kind)
        if kind == "double_value":
            if not math.isfinite(value.double_value):
                self.error(path, "must be a finite number")
                return None
            return value.double_value
        if kind == "bytes_value":
            return base64.b64encode(value.bytes_value).decode()
        if kind in ("array_value", "kvlist_value"):
            if depth >= MAX_NESTING:
                self.error(path, f"must not nest deeper than {MAX_NESTING} levels")
                return None
            if kind == "array_value":
                return [
                    self.value(item, path, depth=depth + 1) for item in value.array_value.values
                ]
            return self.kvlist(value.kvlist_value.values, path, depth=depth + 1)
        return None


def to_incoming(
    request: ExportLogsServiceRequest, *, limits: LogLimits, now: datetime
) -> list[IncomingLog]:
    """The request's records, or ``LogsInvalid`` listing every problem."""
    converter = _Converter(limits, now)
    return collected(converter, lambda: converter.request(request), LogsInvalid)


def export_response(*, rejected: int, message: str) -> ExportLogsServiceResponse:
    response = ExportLogsServiceResponse()
    if rejected:
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    return response


def status(code: int, message: str) -> status_pb2.Status:
    return status_pb2.Status(code=code, message=message)


def encode(message: Any, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return bytes(message.SerializeToString())
    return json_format.MessageToJson(message, indent=None).encode()
