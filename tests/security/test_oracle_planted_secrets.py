"""Oracle suite, planted-secrets probe (issue 9): nothing planted in a beacon comes back.

Emails, cards, IBANs, JWTs, passwords, API tokens, reset tokens and IP addresses
are planted in every field of one beacon (keys included), plainly and in the
disguises a reader still reads (fullwidth, zero-width characters,
percent-encoding). The beacon goes through the ingest API; then a reader with
record access but no fieldset reads the session back through every read path:
API list, search and detail (JSON, CSV, browsable), dashboard find results and
session page, admin changelist and change page of sessions and actions. No
response may contain anything planted, read the way a person reads it (HTML
entities, JSON escapes and percent-encoding decoded, Unicode normalised).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import User
from django.test import Client

from permissions.services import grant_record_access
from privacy.normalise import normalise_text
from sessions_app.models import UserAction, UserSession
from tests.sessions_app.ingest_support import new_application, post

pytestmark = pytest.mark.django_db

EMAIL = "planted.jane@example.com"
IDN_EMAIL = "kunde@m\u00fcller.de"
SHORT_EMAIL = "pj@shop.at"
CARD = "4111111111111111"
SPACED_CARD = "5555 5555 5555 4444"
IBAN = "DE89 3704 0044 0532 0130 00"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJwbGFudGVkIiwicm9sZSI6ImFkbWluIn0"
    ".Wq3cQ9u7pP1kXyZ0aB2cD4eF6gH8iJ0kL2mN4oP6qR8"
)
PASSWORD = "hunter2-planted"
API_TOKEN = "tok9Qx7PlantedKey"
RESET_TOKEN = "c4z6ab-3f9a7c2e1b0d4f6a8e5c7d9e1f3a5b7c"
IP = "203.0.113.77"
SIX_TO_FOUR = "2002:cb00:714d::1"  # carries 203.0.113.77

# What must not appear in any response, in the form a person would read.
NEEDLES = (
    EMAIL,
    "planted.jane",
    "kunde@",
    "m\u00fcller.de",
    SHORT_EMAIL,
    CARD,
    "4111 1111",
    SPACED_CARD,
    "5555555555554444",
    "DE89370400440532013000",
    "DE89 3704",
    JWT.split(".")[1],
    JWT.split(".")[2],
    PASSWORD,
    "hunter2",
    API_TOKEN,
    "3f9a7c2e1b0d4f6a8e5c",
    IP,
    "113.77",
    "cb00:714d",
)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def zero_width(text: str) -> str:
    return "\u200b".join(text)


def percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


DISGUISES: dict[str, Callable[[str], str]] = {
    "plain": lambda text: text,
    "fullwidth": fullwidth,
    "zero-width": zero_width,
    "percent-encoded": percent,
}


def planted_beacon(disguise: Callable[[str], str]) -> dict[str, Any]:
    """One session with something planted in every string a client can send."""
    everything = " ".join(
        disguise(secret) for secret in (EMAIL, IDN_EMAIL, CARD, SPACED_CARD, IBAN, JWT, IP)
    )
    credentials = {
        "password": PASSWORD,
        "Pass\u200bword": PASSWORD,
        "user": {"Password": PASSWORD, "apiKey": API_TOKEN, "email": disguise(EMAIL)},
        "session_id": API_TOKEN,
    }
    headers = {
        "Accept": "text/html",
        "Authorization": f"Bearer {JWT}",
        "X-Api-Key": API_TOKEN,
        "X-Authorization": API_TOKEN,
        "Cookie2": f"sid={API_TOKEN}",
        "Authorization\u200b": PASSWORD,
        "X-Customer": everything,
        disguise(EMAIL): "1",
    }
    urls = [
        f"https://shop.example.com/magic-login/{JWT}?card={CARD}&token={API_TOKEN}",
        f"https://shop.example.com/u/{disguise(EMAIL)};jsessionid={API_TOKEN}/orders",
        f"https://shop.example.com/reset/MQ/{RESET_TOKEN}/#/reset?token={API_TOKEN}&email={EMAIL}",
        f"https://shop.example.com/cb#access_token={API_TOKEN}&id_token={JWT}",
        f"https://jane:{PASSWORD}@shop.example.com/account?ip={IP}",
    ]
    actions = [
        {
            "seq": seq,
            "type": "xhr",
            "name": f"Loading of {url}",
            "url": url,
            "timestamp": f"2026-11-28T10:0{seq}:00Z",
            "http_status": 500,
            "error": {"message": f"failed for {everything}", "stack": f"at pay({everything})"},
            "headers": headers,
            "request_attributes": {
                **credentials,
                "note": everything,
                disguise(EMAIL): [disguise(CARD), {"iban": disguise(IBAN)}],
            },
            "input_value": PASSWORD,
            "product": {
                "event": "purchase",
                "sku": disguise(CARD),
                "name": f"gift for {disguise(EMAIL)}",
                "price": "1.00",
            },
        }
        for seq, url in enumerate(urls)
    ]
    return {
        "sessions": [
            {
                "session_id": f"s-{disguise(EMAIL)}",
                "started_at": "2026-11-28T10:00:00Z",
                "user_tag": EMAIL,
                "client_ip": SIX_TO_FOUR,
                "geo": {
                    "country": "AT",
                    "city": disguise(EMAIL),
                    "latitude": 48.2,
                    "longitude": 16.3,
                },
                "browser": disguise(CARD),
                "os": disguise("DE89370400440532013000"),
                "device": disguise(SHORT_EMAIL),
                "properties": {
                    "loyalty_tier": everything,
                    "profile": {**credentials, disguise(EMAIL): {"card": disguise(CARD)}},
                    "password": PASSWORD,
                },
                "actions": actions,
            }
        ]
    }


def as_read(response: Any) -> str:
    """The body as a person reads it: entities, escapes and encodings undone, normalised."""
    text = response.content.decode()
    if response.get("Content-Type", "").startswith("application/json"):
        text = json.dumps(json.loads(text), ensure_ascii=False)
    text = html.unescape(text)
    return normalise_text(text) + "\n" + normalise_text(unquote(text))


@pytest.fixture
def reader() -> Client:
    """Record access to the application, no fieldset; also a staff user for the admin."""
    user = User.objects.create_user("reader", password="pw", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("disguise", DISGUISES)
def test_planted_secrets_never_come_back_on_any_read_path(reader: Client, disguise: str) -> None:
    application, token = new_application(
        "shop", allowed_properties=["loyalty_tier", "profile", "password"]
    )
    grant_record_access(user=User.objects.get(username="reader"), application=application)
    response = post(Client(), token, planted_beacon(DISGUISES[disguise]))
    assert response.status_code == 200, response.content[:500]
    session = UserSession.objects.get()
    actions = list(UserAction.objects.order_by("seq"))
    assert len(actions) == 5

    search = json.dumps({"user_tag": EMAIL})
    reads: dict[str, Any] = {
        "api list": reader.get("/api/v1/sessions/?application=shop"),
        "api list csv": reader.get("/api/v1/sessions/?application=shop&format=csv"),
        "api list browsable": reader.get("/api/v1/sessions/", headers={"Accept": "text/html"}),
        "api search": reader.post(
            "/api/v1/sessions/search/", search, content_type="application/json"
        ),
        "api search csv": reader.post(
            "/api/v1/sessions/search/?format=csv", search, content_type="application/json"
        ),
        "api detail": reader.get(f"/api/v1/sessions/{session.pk}/"),
        "api detail browsable": reader.get(
            f"/api/v1/sessions/{session.pk}/", headers={"Accept": "text/html"}
        ),
        "dashboard find": reader.get("/dashboard/?application=shop"),
        "dashboard find by email": reader.post("/dashboard/", {"email": EMAIL}),
        "dashboard session": reader.get(f"/dashboard/sessions/{session.pk}/"),
        "admin changelist": reader.get("/admin/sessions_app/usersession/"),
        "admin change page": reader.get(f"/admin/sessions_app/usersession/{session.pk}/change/"),
        "admin action changelist": reader.get("/admin/sessions_app/useraction/"),
        **{
            f"admin action {action.seq}": reader.get(
                f"/admin/sessions_app/useraction/{action.pk}/change/"
            )
            for action in actions
        },
    }
    shown = (
        "<masked",
        f"/dashboard/sessions/{session.pk}/",
        f"/admin/sessions_app/usersession/{session.pk}/change/",
        f"/admin/sessions_app/useraction/{actions[0].pk}/change/",
    )
    for path, response in reads.items():
        assert response.status_code == 200, f"{path}: {response.status_code}"
        body = as_read(response)
        for needle in NEEDLES:
            assert needle not in body, f"{path} shows planted {needle!r}"
        # The probe reads something: every page shows the session's masked data, or
        # (result lists) links to it.
        assert any(marker in body for marker in shown), path
