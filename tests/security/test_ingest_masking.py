"""Regression tests for issue 9, items 2, 3, 4 and 9: what ingest stores.

Each test posts beacons through ``POST /api/v1/ingest/sessions/`` and reads the
rows back from the database, so it checks what every reader could ever see.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from privacy.keyring import Keyring
from sessions_app.models import UserAction, UserSession
from tests.sessions_app.ingest_support import action, batch, new_application, post, session

pytestmark = pytest.mark.django_db

EMAIL = "planted.jane@example.com"
CARD = "4111111111111111"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
    ".Wq3cQ9u7pP1kXyZ0aB2cD4eF6gH8iJ0kL2mN4oP6qR8"
)
JWT_SIGNATURE = JWT.rsplit(".", 1)[1]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def zero_width(text: str) -> str:
    return "\u200b".join(text)


def percent(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


# What a reader must never find, however the client wrote it.
DISGUISED_EMAILS = {
    "plain": EMAIL,
    "fullwidth": fullwidth(EMAIL),
    "fullwidth at": EMAIL.replace("@", "\uff20"),
    "zero-width": zero_width(EMAIL),
    "percent-encoded": percent(EMAIL),
    "idn": "kunde@m\u00fcller.de",
    "idn local part": "j\u00f6hn.doe@example.com",
}
DISGUISED_CARDS = {
    "plain": CARD,
    "no-break spaces": "4111\u00a01111\u00a01111\u00a01111",
    "dots": "4111.1111.1111.1111",
    "fullwidth digits": fullwidth(CARD),
    "zero-width": zero_width(CARD),
}
DISGUISED_IPS = {
    "zero-padded": "203.000.113.077",
    "dashed": "203-0-113-77",
    "6to4": "2002:cb00:714d::1",
}


def ingest(client: Client, body: dict[str, Any], **privacy_settings: Any) -> None:
    token = new_application(**privacy_settings)[1]
    response = post(client, token, body)
    assert response.status_code == 200, response.content


def stored_text() -> str:
    """Every column of every stored session and action, for "appears nowhere" checks."""
    rows = [*UserSession.objects.values(), *UserAction.objects.values()]
    return json.dumps(rows, default=str, ensure_ascii=False)


def beacon_with_everywhere(value: str, *, short: str) -> dict[str, Any]:
    """``value`` in every client string of a beacon, keys included; ``short`` where
    a column is too narrow for ``value``."""
    return batch(
        session(
            session_id=f"s-{short}",
            user_tag=None,  # the one field stored as sent (protected on read)
            geo={"country": "AT", "city": f"city {value}"},
            browser=f"browser {value}",
            os=f"os {value}",
            device=short,
            properties={"loyalty_tier": {value: [f"tier {value}"], "nested": {"k": value}}},
            actions=[
                action(
                    0,
                    name=f"Click on {value}",
                    error={"message": f"failed for {value}", "stack": f"at f({value})"},
                    headers={"Accept": "text/html", "X-Customer": value, value: "1"},
                    request_attributes={value: {"email": value}, "list": [value]},
                    product={"event": "view", "sku": short, "name": f"gift for {value}"},
                )
            ],
        )
    )


@pytest.mark.parametrize("disguise", DISGUISED_EMAILS)
def test_item2_every_client_string_is_masked(client: Client, disguise: str) -> None:
    """Issue 9 item 2: session_id, city, browser, os, device, property keys and
    values at any depth, action name, header names and values, request-attribute
    keys and values, product SKU and name: every string passes the detectors,
    after normalisation."""
    email = DISGUISED_EMAILS[disguise]
    ingest(
        client,
        beacon_with_everywhere(email, short=email if len(email) <= 40 else "pj@shop.at"),
        allowed_properties=["loyalty_tier"],
    )
    text = stored_text()
    for needle in {email, EMAIL, "kunde@", "doe@example", "pj@shop.at", "shop.at"}:
        assert needle not in text, needle
    stored = UserSession.objects.get()
    assert (stored.browser, stored.os, stored.city) == (
        "browser <masked>",
        "os <masked>",
        "city <masked>",
    )


@pytest.mark.parametrize("disguise", DISGUISED_CARDS)
def test_item2_cards_are_masked_however_written_and_whatever_the_setting(
    client: Client, disguise: str
) -> None:
    card = DISGUISED_CARDS[disguise]
    ingest(
        client,
        beacon_with_everywhere(card, short=card if len(card) <= 40 else CARD),
        allowed_properties=["loyalty_tier"],
        mask_personal_data_in_uris=False,
    )
    text = stored_text()
    assert card not in text
    assert CARD not in text
    assert "4111 1111" not in text


@pytest.mark.parametrize("disguise", DISGUISED_IPS)
def test_item2_ip_addresses_in_text_are_masked_however_written(
    client: Client, disguise: str
) -> None:
    ip = DISGUISED_IPS[disguise]
    ingest(client, beacon_with_everywhere(ip, short=ip), allowed_properties=["loyalty_tier"])
    text = stored_text()
    assert ip not in text
    for fragment in ("113.77", "113-77", "714d"):
        assert fragment not in text


def test_item2_session_ids_with_personal_data_become_a_stable_keyed_digest(
    client: Client, settings: SettingsWrapper
) -> None:
    """Masking must not merge two customers' sessions into one ``s-<masked>``, and a
    re-sent beacon must still update its session."""
    shop, token = new_application("shop")
    other, other_token = new_application("other")
    jane, max_ = f"s-{EMAIL}", "s-max.muster@example.com"
    first = batch(session(session_id=jane, actions=[action(0)]), session(session_id=max_))
    response = post(client, token, first)
    assert response.status_code == 200
    # The client correlates results with what it sent.
    assert [row["session_id"] for row in response.json()["sessions"]] == [jane, max_]
    assert post(client, other_token, batch(session(session_id=jane))).status_code == 200
    stored = dict(UserSession.objects.values_list("application_id", "session_id"))
    shop_ids = set(
        UserSession.objects.filter(application=shop).values_list("session_id", flat=True)
    )
    assert len(shop_ids) == 2
    assert all(stored_id.startswith("<masked:s") for stored_id in shop_ids)
    assert stored[other.pk] not in shop_ids  # a digest does not join applications
    assert "planted.jane" not in stored_text()
    assert "max.muster" not in stored_text()

    # A re-send, also after a key rotation, updates the same session.
    current = settings.RUMVAULT_SESSION_ID_KEYS
    settings.RUMVAULT_SESSION_ID_KEYS = Keyring(
        keys={**current.keys, current.current_id + 1: b"n" * 40}
    )
    again = post(client, token, batch(session(session_id=jane, actions=[action(0), action(1)])))
    assert again.json()["sessions"] == [
        {"session_id": jane, "status": "updated", "actions_added": 1}
    ]
    assert UserSession.objects.filter(application=shop).count() == 2
    # A client cannot aim at another session by sending its digest.
    digest = next(iter(shop_ids))
    assert (
        post(client, token, batch(session(session_id=digest))).json()["sessions"][0]["status"]
        == "created"
    )


def test_item2_plain_session_ids_are_kept_as_sent(client: Client) -> None:
    ingest(client, batch(session(session_id="s-0001-\u00e9t\u00e9")))
    assert UserSession.objects.get().session_id == "s-0001-\u00e9t\u00e9"


# --- item 3: credentials ----------------------------------------------------------------

PASSWORD = "hunter2-planted"
CREDENTIAL_HEADERS = {
    "Authorization": f"Bearer {PASSWORD}",
    "X-Api-Key": PASSWORD,
    "X-Authorization": PASSWORD,
    "Cookie2": f"sid={PASSWORD}",
    "Authorization\u200b": PASSWORD,
    "X-CSRFToken": PASSWORD,
    "x_access_token": PASSWORD,
    "PHPSESSID": PASSWORD,
}
CREDENTIAL_ATTRIBUTES: dict[str, Any] = {
    "password": PASSWORD,
    "user": {"Password": PASSWORD, "name": "Jane", "profile": {"apiKey": PASSWORD}},
    "list": [{"client_secret": PASSWORD}, {"private_key": PASSWORD}],
    "Pass\u200bword": PASSWORD,
    "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44": PASSWORD,  # fullwidth
    "credentials": {"user": "jane", "pwd": PASSWORD},
}


@pytest.mark.parametrize("uri_masking", [True, False])
def test_item3_credentials_are_dropped_from_headers_attributes_and_properties(
    client: Client, uri_masking: bool
) -> None:
    """Issue 9 item 3: one credential vocabulary, normalised key names, any depth."""
    ingest(
        client,
        batch(
            session(
                properties={"loyalty_tier": {"tier": "gold", **CREDENTIAL_ATTRIBUTES}},
                actions=[
                    action(
                        0,
                        headers={"Accept": "text/html", **CREDENTIAL_HEADERS},
                        request_attributes={"order_id": "A-1", **CREDENTIAL_ATTRIBUTES},
                    )
                ],
            )
        ),
        allowed_properties=["loyalty_tier", "password"],
        mask_personal_data_in_uris=uri_masking,
    )
    assert PASSWORD not in stored_text()
    stored = UserAction.objects.get()
    assert stored.headers == {"Accept": "text/html"}
    remaining = {"user": {"name": "Jane", "profile": {}}, "list": [{}, {}]}
    assert stored.request_attributes == {"order_id": "A-1", **remaining}
    assert UserSession.objects.get().properties == {"loyalty_tier": {"tier": "gold", **remaining}}


# --- item 4: secrets in URLs --------------------------------------------------------

RESET_TOKEN = "c4z6ab-3f9a7c2e1b0d4f6a8e5c7d9e1f3a5b7c"
SECRET_URLS = {
    "jwt path segment": (f"https://shop.example.com/magic-login/{JWT}", JWT_SIGNATURE),
    "fragment token": ("https://shop.example.com/cb#access_token=ya29ZxPlanted&state=1", "ya29Zx"),
    "fragment route query": (
        f"https://shop.example.com/#/reset?token=Tk9Planted&email={EMAIL}",
        "Tk9Planted",
    ),
    "matrix parameter": ("https://shop.example.com/checkout;jsessionid=0A1B2C3DPLANTED", "0A1B2C"),
    "reset link": (f"https://shop.example.com/reset/MQ/{RESET_TOKEN}/", "3f9a7c2e1b0d"),
    "magic link": ("https://shop.example.com/login/magic/Zx8kQ2mP9vL3nR7tY1wBqA", "Zx8kQ2mP"),
    "percent-encoded jwt": (f"https://shop.example.com/t/{quote(JWT)}", JWT_SIGNATURE),
}


@pytest.mark.parametrize("uri_masking", [True, False])
@pytest.mark.parametrize("case", SECRET_URLS)
def test_item4_secrets_in_urls_are_masked(client: Client, case: str, uri_masking: bool) -> None:
    """Issue 9 item 4: JWTs, fragments, matrix parameters, reset and magic links."""
    url, secret = SECRET_URLS[case]
    ingest(
        client,
        batch(session(actions=[action(0, url=url, name=f"Loading of {url}")])),
        mask_personal_data_in_uris=uri_masking,
    )
    stored = UserAction.objects.get()
    assert secret not in stored.url
    assert secret not in stored.name
    assert "<masked>" in stored.url
    assert stored.url.startswith("https://shop.example.com/")


def test_item4_ordinary_slugs_are_kept(client: Client) -> None:
    url = "https://shop.example.com/women/summer-dresses-2026/red-dress-42?"
    ingest(client, batch(session(actions=[action(0, url=url)])))
    assert UserAction.objects.get().url == url


# --- item 9: IPv6 forms carrying an IPv4 --------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2002:cb00:714d::1", "2002:cb00:7100::"),  # 6to4 of 203.0.113.77
        ("2002:cb00:714d:1:2:3:4:5", "2002:cb00:7100::"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136::"),  # Teredo
        ("::ffff:203.0.113.77", "::ffff:203.0.113.0"),
        ("64:ff9b::203.0.113.77", "64:ff9b::cb00:7100"),  # NAT64
        ("203.0.113.77", "203.0.113.0"),
    ],
)
def test_item9_ipv6_forms_carrying_an_ipv4_are_masked_like_the_ipv4(
    client: Client, sent: str, stored: str
) -> None:
    """Issue 9 item 9: 6to4, Teredo, IPv4-mapped and NAT64 addresses lose at least
    the embedded IPv4's last octet."""
    ingest(client, batch(session(client_ip=sent)), ip_masking="all")
    assert ipaddress.ip_address(UserSession.objects.get().client_ip) == ipaddress.ip_address(stored)
