"""``POST /api/v1/ingest/logs/``: stored masked, linked, atomic, with session-ingest errors."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.test import Client

from logs.models import LogRecord
from tests.factories import stored_session
from tests.logs.support import CARD, EMAIL, everything_stored, log, post_json, recent
from tests.sessions_app.ingest_support import new_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> tuple[object, str]:
    return new_application("shop")


def test_a_batch_is_stored_masked(shop) -> None:
    application, token = shop
    response = post_json(
        Client(),
        token,
        {
            "logs": [
                log(
                    body=f"Charge of card {CARD} for {EMAIL} timed out",
                    attributes={
                        "customer": EMAIL,
                        "password": "hunter2",
                        "nested": {"api_token": "tok-123", "iban": "DE89370400440532013000"},
                        EMAIL: "used as a key",
                    },
                    resource={"deployment.environment": "prod", "owner": EMAIL},
                )
            ]
        },
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "rejected": 0}
    record = LogRecord.objects.get()
    assert record.application == application
    assert record.body == "Charge of card <masked> for <masked> timed out"
    assert record.attributes == {
        "customer": "<masked>",
        "nested": {"iban": "<masked>"},
        "<masked>": "used as a key",
    }
    assert record.resource == {"deployment.environment": "prod", "owner": "<masked>"}
    assert (record.service_name, record.host_name, record.severity_number) == (
        "checkout",
        "web-1",
        17,
    )
    text = everything_stored()
    for planted in (EMAIL, "4111", "hunter2", "tok-123", "DE89"):
        assert planted not in text


def test_cards_are_masked_even_where_personal_data_masking_is_off() -> None:
    _, token = new_application("lax", mask_personal_data_in_uris=False)
    post_json(Client(), token, {"logs": [log(body=f"{EMAIL} paid with {CARD}")]})

    assert LogRecord.objects.get().body == f"{EMAIL} paid with <masked>"


def test_the_session_id_attribute_links_the_record_to_the_session(shop) -> None:
    application, token = shop
    session = stored_session(application)
    other = stored_session(application)

    post_json(Client(), token, {"logs": [log(session_id=session.session_id), log()]})

    linked = LogRecord.objects.filter(session_ref=session.session_id)
    assert linked.count() == 1
    assert not LogRecord.objects.filter(session_ref=other.session_id).exists()


def test_a_session_id_with_personal_data_is_stored_as_the_sessions_digest(shop) -> None:
    from tests.sessions_app.ingest_support import batch, post, session

    application, token = shop
    client = Client()
    post(client, token, batch(session(session_id=f"s-{EMAIL}")))
    post_json(client, token, {"logs": [log(session_id=f"s-{EMAIL}")]})

    stored_id = application.sessions.get().session_id
    assert stored_id.startswith("<masked:s")
    assert LogRecord.objects.get().session_ref == stored_id
    assert EMAIL not in everything_stored()


def test_records_older_than_the_retention_period_are_rejected_not_stored(shop) -> None:
    _, token = shop
    old = (recent() - timedelta(days=40)).isoformat()

    response = post_json(Client(), token, {"logs": [log(), log(time=old)]})

    assert response.json() == {"accepted": 1, "rejected": 1}
    assert LogRecord.objects.count() == 1


def test_gzip_bodies_are_accepted(shop) -> None:
    _, token = shop
    body = gzip.compress(json.dumps({"logs": [log()]}).encode())

    response = post_json(Client(), token, body, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 200
    assert LogRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("record", "path", "message"),
    [
        (log(severity_number=25), "/logs/1/severity_number", "between 0 and 24"),
        (log(severity_number="error"), "/logs/1/severity_number", "integer"),
        (log(body="x" * 16385), "/logs/1/body", "at most 16384"),
        (log(attributes={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}),
         "/logs/1/attributes/a/b/c/d/e/f/g/h", "nest"),
        (log(attributes={f"k{i}": i for i in range(129)}), "/logs/1/attributes", "at most 128"),
        (log(time="2026-11-28T10:00:00"), "/logs/1/time", "timezone"),
        (log(trace_id="xyz"), "/logs/1/trace_id", "hexadecimal"),
        (log(colour="red"), "/logs/1/colour", "not a known field"),
        ({"body": "no time"}, "/logs/1/time", "required"),
    ],
)  # fmt: skip
def test_an_invalid_record_refuses_the_whole_batch(shop, record, path, message) -> None:
    _, token = shop

    response = post_json(Client(), token, {"logs": [log(), record]})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    assert not LogRecord.objects.exists()


def test_errors_never_echo_a_submitted_value(shop) -> None:
    _, token = shop
    response = post_json(
        Client(), token, {"logs": [log(severity_number=EMAIL, **{EMAIL: 1}, time=EMAIL)]}
    )

    assert response.status_code == 400
    assert "jane" not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"logs": []}, 400),
        ({"logs": [log()] * 1001}, 400),
        ([log()], 400),
        ({"sessions": []}, 400),
        (b"{not json", 400),
    ],
)
def test_malformed_batches_are_400(shop, body, status) -> None:
    _, token = shop
    assert post_json(Client(), token, body).status_code == status
    assert not LogRecord.objects.exists()


def test_token_content_type_and_size(shop, settings) -> None:
    _, token = shop
    client = Client()
    assert post_json(client, None, {"logs": [log()]}).status_code == 401
    assert post_json(client, "wrong", {"logs": [log()]}).status_code == 401
    assert post_json(client, token, "x", content_type="text/plain").status_code == 400
    settings.RUMVAULT_INGEST_MAX_BODY_BYTES = 100
    assert post_json(client, token, {"logs": [log()]}).status_code == 413
    assert not LogRecord.objects.exists()


def test_over_the_rate_limit_is_429_with_retry_after(shop, settings) -> None:
    from access.rates import INGEST_LOGS, Rate

    _, token = shop
    settings.RUMVAULT_RATE_LIMITS = {**settings.RUMVAULT_RATE_LIMITS, INGEST_LOGS: Rate(1, 60)}
    client = Client()
    assert post_json(client, token, {"logs": [log()]}).status_code == 200
    refused = post_json(client, token, {"logs": [log()]})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
