"""Health check, request ids, 503 on a lost database, and structured logs."""

from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from config.logging import JsonFormatter, MaskingFilter


def database_down_view(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def integrity_bug_view(request: HttpRequest) -> HttpResponse:
    raise ValueError("a programming error, not an outage")


urlpatterns = [
    path("down", database_down_view),
    path("bug", integrity_bug_view),
]


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_with_retry_after_when_the_database_is_away(client: Client) -> None:
    with mock.patch(
        "config.health.connection.cursor", side_effect=OperationalError("server closed")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response.json()["database"] == "unreachable"


def test_lost_database_is_a_503_with_retry_after_not_a_500(client: Client, settings) -> None:
    settings.ROOT_URLCONF = __name__
    response = client.get("/down")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["errors"][0]["message"].startswith("The database is unavailable")
    # No driver message (with host names and ports) reaches the client.
    assert "127.0.0.1" not in response.content.decode()


def test_other_errors_stay_500(settings) -> None:
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    assert client.get("/bug").status_code == 500


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client: Client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) >= 16
    assert first != second


@pytest.mark.django_db
def test_a_safe_client_request_id_is_kept_and_an_unsafe_one_replaced(client: Client) -> None:
    for kept in ("0f8c1e2d3b4a59687766554433221100", "edge-7Hq2_x9Lm3Pz8Kd4"):
        assert client.get("/healthz", headers={"X-Request-ID": kept})["X-Request-ID"] == kept
    for unsafe in (
        "jane.doe@example.com",
        "203.0.113.42",
        "2001:db8::1",
        "4111111111111111",  # a card number: digits only
        "+43-660-1234567890",
        "123e4567-e89b-42d3-a456-426614174000",  # a UUID may be a customer id
        "short-id",
        "x" * 65,
        "abc\ndef-ghijklmnop",
    ):
        replaced = client.get("/healthz", headers={"X-Request-ID": unsafe})["X-Request-ID"]
        assert replaced != unsafe
        assert len(replaced) == 32


def test_log_lines_are_single_json_objects_without_the_request() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Bad: %s", ("/x",), None
    )
    record.request = mock.Mock(META={"REMOTE_ADDR": "203.0.113.42"})
    record.status_code = 400
    MaskingFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "Bad: /x"
    assert entry["status_code"] == 400
    assert "request_id" in entry
    assert "203.0.113.42" not in line


def test_log_lines_mask_personal_data_in_messages_and_tracebacks() -> None:
    try:
        raise ValueError("duplicate key for jane.doe@example.com from 203.0.113.42")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "failed for %s",
            ("jane.doe@example.com",),
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "jane.doe@example.com" not in line
    assert "203.0.113.42" not in line
    assert "<masked>" in line


def test_the_site_root_leads_to_the_dashboard(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
