"""OpenAPI description of ``POST /api/v1/ingest/logs/`` (drf-spectacular).

Describes only; ``logs.ingest.validation`` validates. The documented keys are
the validator's, checked at import like the session beacon's.
"""

from __future__ import annotations

from typing import TypedDict

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from logs.ingest import validation
from logs.models import MAX_SEVERITY_NUMBER


class _Optional(TypedDict):
    required: bool
    allow_null: bool


_OPTIONAL = _Optional(required=False, allow_null=True)


class LogInSerializer(serializers.Serializer):
    time = serializers.DateTimeField(help_text="When it happened, with a time zone.")
    observed_time = serializers.DateTimeField(**_OPTIONAL)
    severity_number = serializers.IntegerField(
        min_value=0,
        max_value=MAX_SEVERITY_NUMBER,
        help_text="OpenTelemetry severity number (9 info, 13 warn, 17 error, 21 fatal).",
        **_OPTIONAL,
    )
    severity_text = serializers.CharField(
        max_length=validation.SEVERITY_TEXT_MAX_LENGTH, **_OPTIONAL
    )
    body = serializers.CharField(help_text="The message; masked at ingest.", **_OPTIONAL)
    attributes = serializers.DictField(
        help_text="Free-form; credential keys dropped, values and keys masked.",
        **_OPTIONAL,
    )
    resource = serializers.DictField(help_text="Other resource attributes.", **_OPTIONAL)
    service = serializers.CharField(max_length=validation.NAME_MAX_LENGTH, **_OPTIONAL)
    host = serializers.CharField(max_length=validation.NAME_MAX_LENGTH, **_OPTIONAL)
    host_group = serializers.CharField(max_length=validation.NAME_MAX_LENGTH, **_OPTIONAL)
    trace_id = serializers.CharField(min_length=32, max_length=32, **_OPTIONAL)
    span_id = serializers.CharField(min_length=16, max_length=16, **_OPTIONAL)
    session_id = serializers.CharField(
        help_text="The RUM session's client id: links the record to the session.",
        **_OPTIONAL,
    )


class LogBatchSerializer(serializers.Serializer):
    logs = LogInSerializer(many=True)


class LogIngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Records stored.")
    rejected = serializers.IntegerField(
        help_text="Records not stored because they are older than the retention period."
    )


if frozenset(LogInSerializer._declared_fields) != validation.LOG_KEYS:
    raise ImportError("log ingest schema and validator disagree")

EXAMPLE = OpenApiExample(
    "A payment gateway timeout",
    value={
        "logs": [
            {
                "time": "2026-11-28T10:04:01Z",
                "severity_number": 17,
                "severity_text": "ERROR",
                "body": "Payment gateway timeout after 30000 ms",
                "service": "checkout",
                "host": "web-1",
                "attributes": {"order_id": "A-998877"},
                "session_id": "s-0001",
            }
        ]
    },
    request_only=True,
)
