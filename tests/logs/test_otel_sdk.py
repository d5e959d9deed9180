"""The OTLP endpoint with OpenTelemetry's own Python SDK, against a running server.

Protobuf: the SDK's OTLP/HTTP log exporter (``opentelemetry-exporter-otlp-proto-http``),
gzip-compressed, through a ``BatchLogRecordProcessor``. JSON: the Python SDK
has no JSON exporter, so a minimal one serialises the request the SDK's own
encoder builds (``encode_logs``) in the OTLP JSON encoding (hex ids). In both,
records arrive masked and linked to the right session: one by its
``session_id`` attribute, one by the trace id of the span it was logged in,
which an action of the session carries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from access.services import api_token_create
from logs.models import LogRecord
from permissions.services import grant_record_access
from sessions_app.models import UserAction
from tests.factories import stored_session
from tests.logs.support import CARD, EMAIL
from tests.sessions_app.ingest_support import new_application

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The SDK's own handler is what shops attach today; its successor lives in another package.
    pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated"),
]


class OTLPJsonLogExporter(LogRecordExporter):
    """OTLP/HTTP JSON: the SDK's encoded request, as the OTLP JSON encoding writes it."""

    def __init__(self, endpoint: str, headers: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.headers = headers

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        payload = json_format.MessageToDict(encode_logs(batch))
        for resource_logs in payload.get("resourceLogs", []):
            for scope_logs in resource_logs.get("scopeLogs", []):
                for record in scope_logs.get("logRecords", []):
                    for name in ("traceId", "spanId"):
                        if name in record:  # base64 in protobuf's mapping, hex in OTLP's
                            record[name] = json_format.base64.b64decode(record[name]).hex()
        response = requests.post(self.endpoint, json=payload, headers=self.headers, timeout=10)
        return (
            LogRecordExportResult.SUCCESS
            if response.status_code == 200
            else LogRecordExportResult.FAILURE
        )

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True  # nothing buffered here

    def shutdown(self) -> None:
        pass


class _TraceIdWithoutDigitRuns(RandomIdGenerator):
    """One fixed trace id. A random one holds a Luhn-valid run of 13 or more digits
    now and then ("...4306321907068244a"), and ingest drops such an id by design
    (``sessions_app.ingest.masking.hex_id``), which made this test fail at random."""

    def generate_trace_id(self) -> int:
        return 0x5CE9A2B4AFD4CF4E3C6F2A1B7C6D8E4A


@pytest.fixture
def otel_logging() -> Iterator[tuple[logging.Logger, list[LoggerProvider]]]:
    logger = logging.getLogger("tests.shop.backend")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    providers: list[LoggerProvider] = []
    yield logger, providers
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for provider in providers:
        provider.shutdown()


def _attach(logger: logging.Logger, providers: list[LoggerProvider], exporter) -> LoggerProvider:
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "checkout", "host.name": "web-1"})
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    providers.append(provider)
    return provider


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_sdk_records_arrive_masked_and_linked_to_their_session(
    live_server, otel_logging, encoding: str
) -> None:
    logger, providers = otel_logging
    application, token = new_application("shop")
    by_attribute = stored_session(application, session_id="s-sdk-attribute", actions=1)
    by_trace = stored_session(application, session_id="s-sdk-trace", actions=1)
    endpoint = f"{live_server.url}/v1/logs"
    headers = {"Authorization": f"Bearer {token}"}
    exporter = (
        OTLPLogExporter(endpoint=endpoint, headers=headers, compression=Compression.Gzip)
        if encoding == "protobuf"
        else OTLPJsonLogExporter(endpoint, headers)
    )
    provider = _attach(logger, providers, exporter)
    tracer = TracerProvider(id_generator=_TraceIdWithoutDigitRuns()).get_tracer("tests")

    logger.error(
        "Payment gateway timeout for %s (card %s)",
        EMAIL,
        CARD,
        extra={"session_id": by_attribute.session_id, "order_id": "A-998877"},
    )
    with tracer.start_as_current_span("POST /api/checkout") as span:
        logger.warning("Gateway slow, retrying for %s", EMAIL)
        trace_id = f"{span.get_span_context().trace_id:032x}"
    assert provider.force_flush(10_000)

    UserAction.objects.filter(session=by_trace).update(trace_id=trace_id)
    records = {record.severity_text: record for record in LogRecord.objects.all()}
    assert set(records) == {"ERROR", "WARN"}
    error, warning = records["ERROR"], records["WARN"]
    assert error.body == "Payment gateway timeout for <masked> (card <masked>)"
    assert error.attributes["order_id"] == "A-998877"
    assert "session_id" not in error.attributes
    assert error.session_ref == by_attribute.session_id
    assert (error.service_name, error.host_name, error.severity_number) == ("checkout", "web-1", 17)
    assert warning.body == "Gateway slow, retrying for <masked>"
    assert warning.trace_id == trace_id

    # Both read back in their sessions, through the API.
    agent = User.objects.create_user("agent")
    grant_record_access(user=agent, application=application)
    api = Client(headers={"Authorization": f"Token {api_token_create(user=agent)[1]}"})
    for session, body in ((by_attribute, error.body), (by_trace, warning.body)):
        detail = api.get(f"/api/v1/sessions/{session.pk}/").json()
        assert [log["body"] for log in detail["logs"]] == [body]
        assert detail["logs"][0]["session"] == session.pk
    assert datetime.now(tz=UTC) >= error.time
