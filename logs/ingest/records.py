"""What both log ingest channels decode a request into: ``IncomingLog``s, checked.

OTLP (``logs.ingest.otlp``, protobuf and JSON) and rumvault's own JSON batch
(``logs.ingest.validation``) each turn a request into a list of
``IncomingLog`` or raise ``LogsInvalid`` with every problem (JSON pointers,
never a submitted value). From there one pipeline masks and stores them
(``logs.services.log_ingest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings


@dataclass(frozen=True, slots=True)
class LogLimits:
    max_records: int
    max_body_length: int
    max_attributes: int
    max_string_length: int


def log_limits() -> LogLimits:
    return LogLimits(
        max_records=settings.RUMVAULT_LOGS_MAX_RECORDS,
        max_body_length=settings.RUMVAULT_LOGS_MAX_BODY_LENGTH,
        max_attributes=settings.RUMVAULT_LOGS_MAX_ATTRIBUTES,
        max_string_length=settings.RUMVAULT_INGEST_MAX_STRING_LENGTH,
    )


class LogsInvalid(Exception):
    """The request breaks the contract; ``errors`` lists every problem (nothing is stored)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


# The attribute that links a record to a RUM session (the client's session id).
SESSION_ID_ATTRIBUTE = "session_id"
# Resource attributes stored in columns of their own.
SERVICE_ATTRIBUTE = "service.name"
HOST_ATTRIBUTE = "host.name"
HOST_GROUP_ATTRIBUTE = "rumvault.host_group"


@dataclass(slots=True)
class IncomingLog:
    """One log record as sent, validated but not yet masked."""

    time: datetime
    observed_time: datetime | None = None
    severity_number: int = 0
    severity_text: str = ""
    # A string, or a structured body (object, array, number...) as OTLP allows.
    body: Any = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    service: str = ""
    host: str = ""
    host_group: str = ""
    trace_id: str | None = None
    span_id: str | None = None
    session_id: str | None = None  # the client's, before masking
