"""Dashboard fixtures: three applications, an agent, a lead and Jane's sessions.

* ``shop`` (tags stored raw) and ``vault`` (tags encrypted) are readable by
  ``agent`` and ``lead``; ``foreign`` by neither.
* ``lead`` holds the built-in sensitive fieldset on ``shop`` only, so one
  search shows Jane's tag on ``shop`` and a "masked" badge on ``vault``.
* Jane's ``shop`` session goes through the real ingest service: a product
  view, an add-to-cart, a failed checkout (HTTP 500 with an error) and a
  purchase, with her email in the URL and the error text (masked at ingest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from fieldsets.models import BUILTIN_SENSITIVE
from permissions.services import grant_fieldset, grant_record_access
from sessions_app.models import Application, UserSession
from sessions_app.services import session_ingest
from tests.factories import make_application, stored_session

JANE = "jane.doe@example.com"
BOB = "bob@example.org"
JANE_IP = "198.51.100.77"  # masked at ingest to 198.51.100.0
PASSWORD = "correct horse battery staple"


def red_dress(event: str) -> dict[str, Any]:
    return {
        "sku": "DRESS-42",
        "name": "Red dress",
        "price": "79.90",
        "currency": "EUR",
        "quantity": 1,
        "event": event,
    }


def checkout_payload(*, session_id: str = "jane-checkout", tag: str = JANE) -> dict[str, Any]:
    """A session whose checkout failed once, then went through."""
    day = "2026-11-28T10:"
    return {
        "sessions": [
            {
                "session_id": session_id,
                "started_at": f"{day}00:00Z",
                "ended_at": f"{day}06:00Z",
                "user_tag": tag,
                "client_ip": JANE_IP,
                "geo": {"country": "AT", "city": "Vienna", "latitude": 48.2082, "longitude": 16.37},
                "browser": "Chrome 131",
                "os": "Android 15",
                "device": "mobile",
                "actions": [
                    # Sent out of order on purpose: the timeline sorts by seq.
                    {
                        "seq": 2,
                        "type": "xhr",
                        "name": "POST /api/checkout",
                        "url": f"https://shop.example.com/api/checkout?email={tag}",
                        "timestamp": f"{day}03:00Z",
                        "duration_ms": 2400,
                        "http_status": 500,
                        "error": {"message": f"Payment failed for {tag}"},
                    },
                    {
                        "seq": 0,
                        "type": "page_view",
                        "name": "Loading of /dress/42",
                        "url": "https://shop.example.com/dress/42",
                        "timestamp": f"{day}00:05Z",
                        "duration_ms": 600,
                        "http_status": 200,
                        "product": red_dress("view"),
                    },
                    {
                        "seq": 1,
                        "type": "click",
                        "name": "Add to cart",
                        "url": "https://shop.example.com/dress/42",
                        "timestamp": f"{day}01:00Z",
                        "duration_ms": 120,
                        "product": red_dress("add_to_cart"),
                    },
                    {
                        "seq": 3,
                        "type": "xhr",
                        "name": "POST /api/checkout",
                        "url": "https://shop.example.com/api/checkout",
                        "timestamp": f"{day}05:00Z",
                        "duration_ms": 1200,
                        "http_status": 200,
                        "product": red_dress("purchase"),
                    },
                ],
            }
        ]
    }


@dataclass
class World:
    shop: Application
    vault: Application
    foreign: Application
    agent: User
    lead: User
    jane_shop: UserSession
    jane_vault: UserSession
    jane_foreign: UserSession
    bob_shop: UserSession


@pytest.fixture
def world(db: None) -> World:
    shop = make_application("shop")
    vault = make_application("vault", user_tag_storage="encrypted")
    foreign = make_application("foreign")
    agent = User.objects.create_user("agent", password=PASSWORD)
    lead = User.objects.create_user("lead", password=PASSWORD)
    for user in (agent, lead):
        grant_record_access(user=user, application=shop)
        grant_record_access(user=user, application=vault)
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=lead, application=shop)
    session_ingest(application=shop, payload=checkout_payload())
    return World(
        shop=shop,
        vault=vault,
        foreign=foreign,
        agent=agent,
        lead=lead,
        jane_shop=UserSession.objects.get(application=shop, session_id="jane-checkout"),
        jane_vault=stored_session(vault, user_tag=JANE, client_ip="203.0.113.0", actions=2),
        jane_foreign=stored_session(foreign, user_tag=JANE, client_ip="192.0.2.0", actions=1),
        bob_shop=stored_session(shop, user_tag=BOB, client_ip="203.0.113.0", actions=1),
    )


@pytest.fixture
def agent_client(world: World) -> Client:
    client = Client()
    client.force_login(world.agent)
    return client


@pytest.fixture
def lead_client(world: World) -> Client:
    client = Client()
    client.force_login(world.lead)
    return client
