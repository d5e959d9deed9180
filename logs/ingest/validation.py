"""Validation of ``POST /api/v1/ingest/logs/``: rumvault's JSON batch of log records.

The rules of the session beacon (``sessions_app.ingest.validation``, whose
field checks this reuses): every problem at once as ``{"path": <JSON
pointer>, "message": ...}``, nothing echoed, unknown keys refused, the batch
stored whole or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from logs.ingest.records import IncomingLog, LogLimits, LogsInvalid
from logs.models import MAX_SEVERITY_NUMBER, LogRecord
from sessions_app.ingest.validation import (
    SESSION_ID_MAX_LENGTH,
    SPAN_ID_LENGTH,
    TRACE_ID_LENGTH,
    FieldValidator,
    Limits,
    collected,
    hex_id,
)

BATCH_KEYS = frozenset({"logs"})
LOG_KEYS = frozenset(
    {
        "time",
        "observed_time",
        "severity_number",
        "severity_text",
        "body",
        "attributes",
        "resource",
        "service",
        "host",
        "host_group",
        "trace_id",
        "span_id",
        "session_id",
    }
)
SEVERITY_TEXT_MAX_LENGTH = LogRecord._meta.get_field("severity_text").max_length or 32
NAME_MAX_LENGTH = LogRecord._meta.get_field("service_name").max_length or 200


class _LogValidator(FieldValidator):
    def __init__(self, limits: LogLimits) -> None:
        super().__init__(
            Limits(
                max_sessions=0,
                max_actions=0,
                max_string_length=limits.max_string_length,
                max_user_tag_length=0,
            )
        )
        self.log_limits = limits

    def batch(self, payload: object) -> list[IncomingLog]:  # type: ignore[override]
        if not isinstance(payload, dict):
            self.error("", "the body must be a JSON object with a 'logs' array")
            return []
        self.unknown_keys(payload, BATCH_KEYS, "")
        raw_logs = payload.get("logs")
        if not isinstance(raw_logs, list) or not raw_logs:
            self.error("/logs", "is required and must be a non-empty array")
            return []
        if len(raw_logs) > self.log_limits.max_records:
            self.error("/logs", f"must contain at most {self.log_limits.max_records} log records")
            return []
        records = [self.record(raw, f"/logs/{index}") for index, raw in enumerate(raw_logs)]
        return [record for record in records if record is not None]

    def record(self, raw: object, path: str) -> IncomingLog | None:
        if not isinstance(raw, dict):
            self.error(path, "must be an object")
            return None
        self.unknown_keys(raw, LOG_KEYS, path)
        time = self.timestamp(raw, "time", path, required=True)
        severity = self.integer(raw, "severity_number", path, 0, MAX_SEVERITY_NUMBER)
        attributes = self.free_map(raw, "attributes", path)
        if len(attributes) > self.log_limits.max_attributes:
            self.error(
                f"{path}/attributes", f"must have at most {self.log_limits.max_attributes} keys"
            )
        record = IncomingLog(
            time=time or datetime.min.replace(tzinfo=UTC),
            observed_time=self.timestamp(raw, "observed_time", path),
            severity_number=severity or 0,
            severity_text=self.string(raw, "severity_text", path, SEVERITY_TEXT_MAX_LENGTH) or "",
            body=self.string(raw, "body", path, self.log_limits.max_body_length) or "",
            attributes=attributes,
            resource=self.free_map(raw, "resource", path),
            service=self.string(raw, "service", path, NAME_MAX_LENGTH) or "",
            host=self.string(raw, "host", path, NAME_MAX_LENGTH) or "",
            host_group=self.string(raw, "host_group", path, NAME_MAX_LENGTH) or "",
            trace_id=self.hex(raw, "trace_id", path, TRACE_ID_LENGTH),
            span_id=self.hex(raw, "span_id", path, SPAN_ID_LENGTH),
            session_id=self.string(raw, "session_id", path, SESSION_ID_MAX_LENGTH) or None,
        )
        return record if time is not None else None

    def hex(self, raw: dict[str, Any], key: str, path: str, length: int) -> str | None:
        value = self.string(raw, key, path, length)
        if value is None:
            return None
        parsed = hex_id(value, length)
        if parsed is None:
            self.error(f"{path}/{key}", f"must be {length} hexadecimal digits, not all zero")
        return parsed


def validate_log_batch(payload: object, *, limits: LogLimits) -> list[IncomingLog]:
    """The batch's records, or ``LogsInvalid`` with every error."""
    validator = _LogValidator(limits)
    return collected(validator, lambda: validator.batch(payload), LogsInvalid)
