"""``POST /v1/logs``: OTLP/HTTP in protobuf and JSON, answered as the specification says."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from logs.models import LogRecord
from tests.factories import stored_session
from tests.logs.support import (
    CARD,
    EMAIL,
    SPAN_ID,
    TRACE_ID,
    otlp_record,
    otlp_request,
    post_otlp,
    recent,
)
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db
PROTOBUF = "application/x-protobuf"


@pytest.fixture
def shop() -> tuple[object, str]:
    return new_application("shop")


def _status(response) -> status_pb2.Status:
    assert response["Content-Type"] == PROTOBUF
    status = status_pb2.Status()
    status.ParseFromString(response.content)
    return status


def test_protobuf_records_are_stored_masked_with_resource_and_ids(shop) -> None:
    application, token = shop
    session = stored_session(application)
    request = otlp_request(
        otlp_record(
            f"Charge of {CARD} for {EMAIL} timed out",
            trace_id=bytes.fromhex(TRACE_ID),
            span_id=bytes.fromhex(SPAN_ID),
            attributes={"session_id": session.session_id, "Authorization": "Bearer x", "n": 3},
        ),
        resource={
            "service.name": "checkout",
            "host.name": "web-1",
            "rumvault.host_group": "eu-web",
            "k8s.pod.name": f"pod {EMAIL}",
        },
    )

    response = post_otlp(Client(), token, request.SerializeToString(), content_type=PROTOBUF)

    assert response.status_code == 200
    answer = ExportLogsServiceResponse()
    answer.ParseFromString(response.content)
    assert not answer.HasField("partial_success")
    record = LogRecord.objects.get()
    assert record.body == "Charge of <masked> for <masked> timed out"
    assert record.attributes == {"n": 3}
    assert record.session_ref == session.session_id
    assert (record.service_name, record.host_name, record.host_group) == (
        "checkout",
        "web-1",
        "eu-web",
    )
    assert record.resource == {"k8s.pod.name": "pod <masked>"}
    assert (record.trace_id, record.span_id) == (TRACE_ID, SPAN_ID)
    assert record.severity_number == 17


def test_a_structured_body_drops_credential_keys_and_masks_values(shop) -> None:
    _, token = shop
    body = {"event": "login", "user": EMAIL, "password": "hunter2", "tries": [1, CARD]}
    request = otlp_request(otlp_record(body))

    post_otlp(Client(), token, request.SerializeToString(), content_type=PROTOBUF)

    assert json.loads(LogRecord.objects.get().body) == {
        "event": "login",
        "tries": [1, "<masked>"],
        "user": "<masked>",
    }


def test_otlp_json_with_hex_ids_is_accepted_and_answered_in_json(shop) -> None:
    _, token = shop
    payload = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]
                },
                "scopeLogs": [
                    {
                        "scope": {"name": "shop"},
                        "logRecords": [
                            {
                                "timeUnixNano": str(int(recent().timestamp() * 10**9)),
                                "severityNumber": 13,
                                "severityText": "WARN",
                                "traceId": TRACE_ID,
                                "spanId": SPAN_ID,
                                "body": {"stringValue": f"retrying for {EMAIL}"},
                                "attributes": [{"key": "attempt", "value": {"intValue": "2"}}],
                                "someFutureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }

    response = post_otlp(
        Client(), token, json.dumps(payload).encode(), content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    record = LogRecord.objects.get()
    assert (record.body, record.trace_id, record.span_id) == (
        "retrying for <masked>",
        TRACE_ID,
        SPAN_ID,
    )
    assert record.attributes == {"attempt": 2}
    assert record.severity_number == 13


def test_gzip_bodies_are_accepted(shop) -> None:
    _, token = shop
    body = gzip.compress(otlp_request(otlp_record()).SerializeToString())

    response = post_otlp(
        Client(), token, body, content_type=PROTOBUF, **{"Content-Encoding": "gzip"}
    )

    assert response.status_code == 200
    assert LogRecord.objects.count() == 1


def test_expired_records_are_a_partial_success(shop) -> None:
    _, token = shop
    request = otlp_request(
        otlp_record(), otlp_record(when=recent() - timedelta(days=36)), otlp_record()
    )

    response = post_otlp(Client(), token, request.SerializeToString(), content_type=PROTOBUF)

    assert response.status_code == 200
    answer = ExportLogsServiceResponse()
    answer.ParseFromString(response.content)
    assert answer.partial_success.rejected_log_records == 1
    assert "retention" in answer.partial_success.error_message
    assert LogRecord.objects.count() == 2


@pytest.mark.parametrize(
    ("record", "path"),
    [
        (otlp_record(severity_number=99), "logRecords/1/severityNumber"),
        (otlp_record("x" * 16385), "logRecords/1/body"),
        (otlp_record({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}),
         "logRecords/1/body"),
        (otlp_record(attributes={"deep": [[[[[[[[["x"]]]]]]]]]}), "logRecords/1/attributes"),
        (otlp_record(attributes={f"k{i}": i for i in range(129)}), "logRecords/1/attributes"),
        (otlp_record(trace_id=b"\x01\x02"), "logRecords/1/traceId"),
        (otlp_record("nul \x00 inside"), "logRecords/1/body"),
    ],
)  # fmt: skip
def test_an_invalid_record_is_a_400_status_and_nothing_is_stored(shop, record, path) -> None:
    _, token = shop
    request = otlp_request(otlp_record(), record)

    response = post_otlp(Client(), token, request.SerializeToString(), content_type=PROTOBUF)

    assert response.status_code == 400
    status = _status(response)
    assert status.code == 3  # INVALID_ARGUMENT
    assert path in status.message
    assert not LogRecord.objects.exists()


def test_truncated_protobuf_and_bad_json_are_400(shop) -> None:
    _, token = shop
    body = otlp_request(otlp_record(), otlp_record()).SerializeToString()
    client = Client()

    truncated = post_otlp(client, token, body[:-7], content_type=PROTOBUF)
    bad_json = post_otlp(client, token, b'{"resourceLogs": [', content_type="application/json")
    wrong_shape = post_otlp(
        client, token, b'{"resourceLogs": "no"}', content_type="application/json"
    )
    bad_hex = post_otlp(
        client,
        token,
        json.dumps(
            {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}
        ).encode(),
        content_type="application/json",
    )

    assert truncated.status_code == 400
    assert _status(truncated).code == 3
    assert bad_json.status_code == wrong_shape.status_code == bad_hex.status_code == 400
    assert bad_json.json()["code"] == 3
    assert not LogRecord.objects.exists()


def test_other_content_types_and_encodings_are_415(shop) -> None:
    _, token = shop
    body = otlp_request(otlp_record()).SerializeToString()
    client = Client()

    assert post_otlp(client, token, body, content_type="text/plain").status_code == 415
    deflated = post_otlp(client, token, body, content_type=PROTOBUF, **{"Content-Encoding": "br"})
    assert deflated.status_code == 415
    assert not LogRecord.objects.exists()


def test_a_wrong_token_is_401_with_a_status(shop) -> None:
    body = otlp_request(otlp_record()).SerializeToString()

    response = post_otlp(Client(), "wrong", body, content_type=PROTOBUF)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert _status(response).code == 16


def test_throttled_is_429_with_retry_after(shop, settings) -> None:
    from access.rates import INGEST_LOGS, Rate

    _, token = shop
    settings.RUMVAULT_RATE_LIMITS = {**settings.RUMVAULT_RATE_LIMITS, INGEST_LOGS: Rate(1, 60)}
    body = otlp_request(otlp_record()).SerializeToString()
    client = Client()
    post_otlp(client, token, body, content_type=PROTOBUF)

    response = post_otlp(client, token, body, content_type=PROTOBUF)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert _status(response).code == 8


def test_database_away_is_503_with_retry_after(shop, monkeypatch) -> None:
    _, token = shop

    def unavailable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("logs.ingest.views.log_ingest", unavailable)
    body = otlp_request(otlp_record()).SerializeToString()

    response = post_otlp(Client(), token, body, content_type=PROTOBUF)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert _status(response).code == 14


def test_the_body_limit_applies_after_decompression(shop, settings) -> None:
    _, token = shop
    settings.RUMVAULT_INGEST_MAX_BODY_BYTES = 2000
    body = otlp_request(*[otlp_record("y" * 500) for _ in range(10)]).SerializeToString()

    response = post_otlp(
        Client(), token, gzip.compress(body), content_type=PROTOBUF, **{"Content-Encoding": "gzip"}
    )

    assert len(gzip.compress(body)) < 2000 < len(body)
    assert response.status_code == 413
