"""Issue 13: the public beacon key opens as little as possible.

A beacon key is in every page of a shop, so anyone has it. These tests hold the
line around what it can do: only from an allowed origin, only the application's
own browser sessions, only appending, only at a bounded rate, and no error that
repeats what was sent. Every route of the browser agent and of the demo shop is
listed in ``ROUTES`` and probed here; a new route fails
``test_every_new_route_is_probed`` until it is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from access.models import RateLimitCounter
from access.rates import BEACON, BEACON_CLIENT, Rate
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest
from tests.factories import make_application

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"
BROWSER_ID = "AbCdEfGhIjKlMnOpQrStUv"
JANE = "jane.doe@example.com"
CARD = "4111111111111111"

# Route name -> how it is probed below.
ROUTES = {
    "browser_agent:config": "test_config_from_another_origin_is_refused",
    "browser_agent:beacons": "test_beacons_from_another_origin_are_refused_and_nothing_is_read",
    "demo_shop:list": "test_the_demo_shop_is_not_served_in_production",
    "demo_shop:product": "test_the_demo_shop_is_not_served_in_production",
    "demo_shop:cart": "test_the_demo_shop_is_not_served_in_production",
    "demo_shop:checkout": "test_the_demo_shop_is_not_served_in_production",
    "demo_shop:cart-api": "test_the_demo_shop_is_not_served_in_production",
    "demo_shop:payment-api": "test_the_demo_payment_endpoint_never_echoes_what_was_typed",
}


def _route_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_new_route_is_probed() -> None:
    mine = {
        name
        for name in _route_names(get_resolver())
        if name.startswith(("browser_agent:", "demo_shop:"))
    }
    assert mine == set(ROUTES)
    assert set(ROUTES.values()) <= set(globals())


@pytest.fixture
def shop() -> Application:
    return make_application("shop", allowed_origins=[ORIGIN])


def beacon(**session: Any) -> str:
    body = {
        "sessions": [
            {
                "session_id": BROWSER_ID,
                "started_at": "2026-11-30T10:00:00Z",
                "actions": [
                    {"seq": 0, "type": "click", "name": "Buy", "timestamp": "2026-11-30T10:00:01Z"}
                ],
                **session,
            }
        ]
    }
    return json.dumps(body)


def post(key: str, body: str, *, origin: str | None = ORIGIN, **extra: Any) -> Any:
    headers = {"Origin": origin} if origin is not None else {}
    return Client(**extra).post(
        f"/api/v1/rum/{key}/beacons/", data=body, content_type="text/plain", headers=headers
    )


# --- origins ---------------------------------------------------------------------------

FOREIGN_ORIGINS = [
    None,
    "null",
    "https://evil.example.net",
    "https://shop.example.com.evil.net",
    "https://shop.example.co",
    "http://shop.example.com",
    "https://shop.example.com:8443",
    "HTTPS://SHOP.EXAMPLE.COM",
    "https://shop.example.com/",
    "*",
]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_beacons_from_another_origin_are_refused_and_nothing_is_read(
    shop: Application, origin: str | None
) -> None:
    response = post(shop.beacon_key, beacon(user_tag=JANE), origin=origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not UserSession.objects.exists()
    assert not RateLimitCounter.objects.exists()  # refused before anything was counted
    preflight = Client().options(
        f"/api/v1/rum/{shop.beacon_key}/beacons/",
        headers={"Origin": origin or "", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight


@pytest.mark.parametrize("origin", [o for o in FOREIGN_ORIGINS if o is not None])
def test_config_from_another_origin_is_refused(shop: Application, origin: str) -> None:
    response = Client().get(f"/api/v1/rum/{shop.beacon_key}/config/", headers={"Origin": origin})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_an_application_without_allowed_origins_accepts_no_beacon() -> None:
    application = make_application("closed")
    assert application.allowed_origins == []
    assert post(application.beacon_key, beacon()).status_code == 403
    assert not UserSession.objects.exists()


def test_a_rotated_key_stops_working(shop: Application) -> None:
    from permissions.audit import COMMAND_METHOD, Actor
    from sessions_app.applications import application_rotate_beacon_key

    old = shop.beacon_key
    actor = Actor(username="ops", method=COMMAND_METHOD, path="test")
    new = application_rotate_beacon_key(application=shop, actor=actor)
    assert post(old, beacon()).status_code == 404
    assert post(new, beacon()).status_code == 200


# --- whose sessions a beacon can reach -------------------------------------------------


def test_a_beacon_never_reaches_a_session_sent_with_the_ingest_token(shop: Application) -> None:
    # The shop's backend stored a session whose id is exactly what a browser would send.
    server_side = {
        "session_id": BROWSER_ID,
        "started_at": "2026-11-30T09:00:00Z",
        "user_tag": JANE,
        "actions": [{"seq": 0, "type": "page_view", "timestamp": "2026-11-30T09:00:00Z"}],
    }
    session_ingest(application=shop, payload={"sessions": [server_side]})
    response = post(shop.beacon_key, beacon(user_tag="mallory@example.com"))
    assert response.json()["status"] == "created"  # a session of its own, not an update
    original = UserSession.objects.get(session_id=BROWSER_ID)
    assert (original.user_tag, original.action_count) == (JANE, 1)
    assert original.actions.get().type == "page_view"


def test_a_beacon_key_reaches_only_its_own_application(shop: Application) -> None:
    other = make_application("other", allowed_origins=[ORIGIN])
    assert post(other.beacon_key, beacon(user_tag=JANE)).status_code == 200
    assert post(shop.beacon_key, beacon(user_tag="mallory@example.com")).status_code == 200
    theirs = UserSession.objects.get(application=other)
    assert (theirs.user_tag, theirs.action_count) == (JANE, 1)
    assert UserSession.objects.get(application=shop).user_tag == "mallory@example.com"


def test_whoever_knows_a_browser_session_id_cannot_relabel_it(shop: Application) -> None:
    assert post(shop.beacon_key, beacon(user_tag=JANE, browser="Chrome 131")).status_code == 200
    response = post(shop.beacon_key, beacon(user_tag="mallory@example.com", browser="Evil"))
    assert response.status_code == 200
    session = UserSession.objects.get()
    assert session.user_tag == JANE
    assert session.browser == "Chrome 131"
    assert session.action_count == 1  # the same seq again is not stored twice


def test_a_browser_cannot_claim_an_ip_address_or_properties(shop: Application) -> None:
    for claim in ({"client_ip": "198.51.100.7"}, {"properties": {"loyalty_tier": "gold"}}):
        assert post(shop.beacon_key, beacon(**claim)).status_code == 400
    assert not UserSession.objects.exists()


# --- what errors repeat ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        beacon(session_id=JANE),
        beacon(started_at=JANE),
        beacon(user_tag=CARD * 20),
        beacon(**{JANE: 1}),
        beacon(actions=[{"seq": 0, "type": CARD, "timestamp": JANE, "name": JANE}]),
        beacon(actions=[{"seq": 0, "type": "click", "timestamp": "x", JANE: CARD}]),
        json.dumps({"sessions": [], JANE: CARD}),
        f'{{"sessions": "{JANE} {CARD}"',
    ],
)
def test_errors_never_repeat_what_was_sent(shop: Application, body: str) -> None:
    response = post(shop.beacon_key, body)
    assert response.status_code == 400
    text = response.content.decode()
    assert "jane" not in text.lower()
    assert CARD not in text
    assert "4111" not in text


def test_refusals_name_neither_the_key_nor_the_origin(shop: Application) -> None:
    for response in (
        post(shop.beacon_key, beacon(), origin="https://evil.example.net"),
        post("rvpub_guessed-key", beacon()),
    ):
        text = response.content.decode()
        assert "evil" not in text
        assert "rvpub_" not in text


# --- rate limits -----------------------------------------------------------------------


@pytest.fixture
def small_limits(settings: Any) -> Any:
    def set_limits(per_key: int, per_client: int) -> None:
        settings.RUMVAULT_RATE_LIMITS = {
            **settings.RUMVAULT_RATE_LIMITS,
            BEACON: Rate(per_key, 60),
            BEACON_CLIENT: Rate(per_client, 60),
        }

    return set_limits


def test_beacons_are_limited_per_client_address(shop: Application, small_limits: Any) -> None:
    small_limits(per_key=100, per_client=3)
    for _ in range(3):
        assert post(shop.beacon_key, beacon()).status_code == 200
    refused = post(shop.beacon_key, beacon())
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Access-Control-Allow-Origin"] == ORIGIN  # the agent can read it and wait
    assert "Retry-After" in refused["Access-Control-Expose-Headers"]
    # Another client is not affected, and no counter holds an address.
    assert post(shop.beacon_key, beacon(), REMOTE_ADDR="198.51.100.23").status_code == 200
    keys = " ".join(RateLimitCounter.objects.values_list("key", flat=True))
    assert "127.0.0.1" not in keys
    assert "198.51.100" not in keys


def test_beacons_are_limited_per_key(shop: Application, small_limits: Any) -> None:
    small_limits(per_key=2, per_client=100)
    addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    answers = [post(shop.beacon_key, beacon(), REMOTE_ADDR=a).status_code for a in addresses]
    assert answers == [200, 200, 429]
    other = make_application("other", allowed_origins=[ORIGIN])
    assert post(other.beacon_key, beacon()).status_code == 200


def test_config_requests_count_against_the_client_limit(
    shop: Application, small_limits: Any
) -> None:
    small_limits(per_key=100, per_client=2)
    client = Client(headers={"Origin": ORIGIN})
    url = f"/api/v1/rum/{shop.beacon_key}/config/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


# --- responses are not cached, the demo shop is not in production ----------------------


def test_agent_responses_are_never_stored_by_caches(shop: Application) -> None:
    for response in (
        Client().get(f"/api/v1/rum/{shop.beacon_key}/config/", headers={"Origin": ORIGIN}),
        post(shop.beacon_key, beacon()),
        post(shop.beacon_key, beacon(), origin="https://evil.example.net"),
    ):
        assert "no-store" in response["Cache-Control"]
        assert response["Vary"] == "Origin"


def test_the_demo_shop_is_not_served_in_production(settings: Any) -> None:
    settings.RUMVAULT_DEMO_SHOP = False
    client = Client()
    for path in ("/demo-shop/", "/demo-shop/products/DRESS-42/", "/demo-shop/cart/",
                 "/demo-shop/checkout/"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    for path in ("/demo-shop/api/cart", "/demo-shop/api/payment"):
        assert client.post(path).status_code == 404, path


def test_the_demo_payment_endpoint_never_echoes_what_was_typed(settings: Any) -> None:
    settings.RUMVAULT_DEMO_SHOP = True
    response = Client().post(
        f"/demo-shop/api/payment?email={JANE}",
        data=json.dumps({"card": CARD, "password": "hunter2"}),
        content_type="application/json",
    )
    assert response.status_code == 502
    text = response.content.decode()
    assert CARD not in text
    assert "hunter2" not in text
    assert "jane" not in text
