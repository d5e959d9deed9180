"""Deterministic fashion-shop traffic for ``seed_demo``, as ingest beacons.

Each session follows one story (browsing, an abandoned cart, a purchase, a
failed checkout, a wrong-item return), with personal data planted where real
shops leak it: emails and card numbers in URLs, query strings and error
messages, session cookies in headers, typed input, a "password" property.
Ingest must mask or drop every one of them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

SHOP = "https://shop.example.com"
REGULARS = (
    "jane.doe@example.com",
    "max.mustermann@example.com",
    "sophie.martin@example.com",
    "luca.rossi@example.com",
    "emma.jansen@example.com",
)
FIRST_NAMES = ("anna", "ben", "clara", "david", "elena", "felix", "greta", "hugo", "ines", "jonas")
LAST_NAMES = ("bauer", "costa", "dubois", "eriksen", "fischer", "garcia", "huber", "novak", "weber")
# Luhn-valid test numbers (Visa, Mastercard), written the ways customers type them.
CARDS = ("4111111111111111", "5555 5555 5555 4444", "4012-8888-8888-1881")
IBAN = "DE89370400440532013000"
CITIES = (
    ("AT", "Vienna", 48.2082, 16.3738),
    ("AT", "Graz", 47.0707, 15.4395),
    ("DE", "Berlin", 52.5200, 13.4050),
    ("DE", "Munich", 48.1351, 11.5820),
    ("FR", "Paris", 48.8566, 2.3522),
    ("FR", "Lyon", 45.7640, 4.8357),
    ("IT", "Milan", 45.4642, 9.1900),
    ("ES", "Madrid", 40.4168, -3.7038),
    ("NL", "Amsterdam", 52.3676, 4.9041),
    ("PL", "Warsaw", 52.2297, 21.0122),
    ("SE", "Stockholm", 59.3293, 18.0686),
    ("CH", "Zurich", 47.3769, 8.5417),
)
PRODUCTS = (
    ("DRESS-42", "Red summer dress", "79.90"),
    ("JEANS-501", "Straight jeans", "89.00"),
    ("SHIRT-7", "Linen shirt", "49.95"),
    ("COAT-12", "Wool coat", "249.00"),
    ("SNEAK-3", "White sneakers", "119.00"),
    ("SCARF-9", "Silk scarf", "39.50"),
    ("BAG-21", "Leather bag", "189.00"),
)
CATEGORIES = ("/women", "/women/dresses", "/men", "/men/shirts", "/shoes", "/sale", "/new-in")
WEB_CLIENTS = (
    ("Chrome 131", "Windows 11", "desktop"),
    ("Firefox 133", "Windows 11", "desktop"),
    ("Safari 18", "macOS 15", "desktop"),
    ("Edge 131", "Windows 10", "desktop"),
    ("Chrome 131", "Android 15", "mobile"),
    ("Safari 18", "iOS 18", "mobile"),
    ("Safari 18", "iPadOS 18", "tablet"),
)
APP_CLIENTS = (
    ("FashionStore 4.2", "iOS 18", "mobile"),
    ("FashionStore 4.2", "Android 15", "mobile"),
    ("FashionStore 4.1", "Android 14", "mobile"),
    ("FashionStore 4.2", "iPadOS 18", "tablet"),
)
PUBLIC_NETWORKS = ("81.2.69", "91.198.174", "62.157.140", "84.115.220", "31.13.72", "178.190.12")
PRIVATE_NETWORKS = ("10.0.12", "192.168.1", "172.16.5")


class DemoTraffic:
    def __init__(self, *, rng: random.Random, now: datetime, seed: int) -> None:
        self.rng = rng
        self.now = now
        self.seed = seed
        self.customers = [
            f"{first}.{last}@example.com" for first in FIRST_NAMES for last in LAST_NAMES
        ]

    def sessions(self, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """``count`` sessions as (application slug, beacon session), regulars spread among them."""
        per_regular = max(1, min(25, count // 40))
        picked = self.rng.sample(range(count), min(count, per_regular * len(REGULARS)))
        regular_slots = {index: REGULARS[rank % len(REGULARS)] for rank, index in enumerate(picked)}
        for index in range(count):
            slug = "fashion-store-app" if self.rng.random() < 0.3 else "fashion-store"
            customer = regular_slots.get(index)
            if customer is None and self.rng.random() < 0.6:
                customer = self.rng.choice(self.customers)
            # Jane's first visit is the docs' example: the checkout that failed
            # because the payment gateway timed out (its backend logs say so).
            first_of_jane = bool(picked) and index == picked[0]
            session = self.session(index, slug=slug, customer=customer, failed=first_of_jane)
            if index in regular_slots:
                # Regulars are the docs' examples: keep them findable by their email.
                session["do_not_track"] = False
            yield slug, session

    def session(
        self, index: int, *, slug: str, customer: str | None, failed: bool = False
    ) -> dict[str, Any]:
        rng = self.rng
        started = self.now - timedelta(seconds=rng.randrange(30 * 24 * 3600))
        stories: list[Callable[[str | None], list[dict[str, Any]]]] = [
            self._browse,
            self._abandoned_cart,
            self._purchase,
            self._failed_checkout,
            self._wrong_item_return,
        ]
        story = rng.choices(stories, weights=(40, 15, 22, 13, 10))[0]
        steps = (self._failed_checkout if failed else story)(customer)
        actions = []
        moment = started
        for seq, step in enumerate(steps):
            moment += timedelta(seconds=rng.randrange(3, 90))
            actions.append({"seq": seq, "timestamp": moment.isoformat(), **step})
        country, city, latitude, longitude = rng.choice(CITIES)
        browser, os, device = rng.choice(
            APP_CLIENTS if slug == "fashion-store-app" else WEB_CLIENTS
        )
        session_id = f"demo-{self.seed}-{index:05d}"
        for seq, action in enumerate(actions):
            if action["type"] == "xhr":
                # The W3C trace id the shop's backend logs under (derived, not drawn:
                # the random sequence of the rest of the demo stays as it was).
                action["trace_id"] = hashlib.sha256(f"{session_id}/{seq}".encode()).hexdigest()[:32]
        session: dict[str, Any] = {
            "session_id": session_id,
            "started_at": started.isoformat(),
            "client_ip": self._ip(),
            "do_not_track": rng.random() < 0.05,
            "geo": {"country": country, "city": city, "latitude": latitude, "longitude": longitude},
            "browser": browser,
            "os": os,
            "device": device,
            "properties": self._properties(),
            "actions": actions,
        }
        if rng.random() < 0.9:  # some clients never report an end
            session["ended_at"] = (moment + timedelta(seconds=rng.randrange(5, 120))).isoformat()
        if customer is not None:
            session["user_tag"] = customer if rng.random() < 0.8 else f" {customer.title()} "
        return session

    # --- stories ---------------------------------------------------------------------

    def _browse(self, customer: str | None) -> list[dict[str, Any]]:
        steps = [self._page("/")]
        for _ in range(self.rng.randrange(1, 5)):
            steps.append(self._page(self.rng.choice(CATEGORIES)))
            steps.append(self._product_view())
        if self.rng.random() < 0.3:
            # Customers search for their own email or order; URLs carry it.
            query = customer or "red dress"
            steps.append(self._page(f"/search?q={query}"))
            steps.append({"type": "click", "name": "Search box", "input_value": query})
        return steps

    def _abandoned_cart(self, customer: str | None) -> list[dict[str, Any]]:
        steps = [self._page("/"), self._product_view()]
        steps.append(self._cart_event("add_to_cart"))
        steps.append(self._page("/cart"))
        return steps

    def _purchase(self, customer: str | None) -> list[dict[str, Any]]:
        steps = [self._page("/"), self._product_view(), self._cart_event("add_to_cart")]
        steps += [self._page("/checkout"), self._xhr("/api/checkout", status=200)]
        for _ in range(self.rng.randrange(1, 3)):
            steps.append(self._cart_event("purchase"))
        order = self.rng.randrange(100000, 999999)
        email = customer or "guest@example.com"
        steps.append(self._page(f"/order/confirmation?order={order}&email={email}"))
        return steps

    def _failed_checkout(self, customer: str | None) -> list[dict[str, Any]]:
        email = customer or "guest@example.com"
        card = self.rng.choice(CARDS)
        failed = self._xhr("/api/checkout", status=500)
        failed["error"] = {
            "message": f"Payment declined for {email}",
            "stack": f"PaymentError: card {card} declined\n    at charge (checkout.js:88:13)",
        }
        failed["request_attributes"] = {"customer": email, "payment": {"iban": IBAN}}
        steps = [self._product_view(), self._cart_event("add_to_cart"), self._page("/checkout")]
        steps += [failed, self._page(f"/checkout?card={card.replace(' ', '')}&retry=1")]
        if self.rng.random() < 0.5:
            steps.append(
                {
                    "type": "error",
                    "name": "Uncaught PaymentError",
                    "url": f"{SHOP}/checkout",
                    "error": {"message": f"Card {card} was declined"},
                }
            )
        return steps

    def _wrong_item_return(self, customer: str | None) -> list[dict[str, Any]]:
        order = f"A-{self.rng.randrange(100000, 999999)}"
        email = customer or "guest@example.com"
        return [
            self._page("/account/orders"),
            self._page(f"/account/returns?order={order}"),
            self._xhr("/api/returns", status=200),
            {
                "type": "custom",
                "name": "Return requested: wrong item",
                "request_attributes": {"order_id": order, "reason": "wrong item", "email": email},
            },
        ]

    # --- building blocks ----------------------------------------------------------------

    def _page(self, path: str) -> dict[str, Any]:
        status = 404 if self.rng.random() < 0.02 else 200
        return {
            "type": "page_view",
            "name": f"Loading of {path.split('?')[0]}",
            "url": f"{SHOP}{path}",
            "duration_ms": self.rng.randrange(150, 2500),
            "http_status": status,
            "headers": {"Accept": "text/html", "Cookie": f"sid={self.rng.getrandbits(64):x}"},
        }

    def _xhr(self, path: str, *, status: int) -> dict[str, Any]:
        return {
            "type": "xhr",
            "name": f"POST {path}",
            "url": f"{SHOP}{path}",
            "duration_ms": self.rng.randrange(80, 4000),
            "http_status": status,
            "headers": {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.rng.getrandbits(128):x}",
                "X-CSRF-Token": f"{self.rng.getrandbits(64):x}",
                "Referer": f"{SHOP}/checkout",
            },
        }

    def _product(self) -> tuple[str, str, str]:
        return self.rng.choice(PRODUCTS)

    def _product_view(self) -> dict[str, Any]:
        sku, name, price = self._product()
        step = self._page(f"/p/{sku.lower()}")
        step["product"] = {
            "sku": sku,
            "name": name,
            "price": price,
            "currency": "EUR",
            "event": "view",
        }
        return step

    def _cart_event(self, event: str) -> dict[str, Any]:
        sku, name, price = self._product()
        return {
            "type": "click",
            "name": "Add to cart" if event == "add_to_cart" else "Place order",
            "product": {
                "sku": sku,
                "name": name,
                "price": price,
                "currency": "EUR",
                "quantity": self.rng.randrange(1, 3),
                "event": event,
            },
        }

    def _ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            groups = [f"{rng.randrange(0x10000):x}" for _ in range(3)]
            return f"2a02:8071:{groups[0]}:{groups[1]}::{groups[2]}"
        networks = PRIVATE_NETWORKS if rng.random() < 0.15 else PUBLIC_NETWORKS
        return f"{rng.choice(networks)}.{rng.randrange(1, 255)}"

    def _properties(self) -> dict[str, Any]:
        rng = self.rng
        properties: dict[str, Any] = {
            "loyalty_tier": rng.choice(("none", "bronze", "silver", "gold")),
            "ab_variant": rng.choice(("A", "B")),
            "app_version": "4.2.0",
            "cart_token": f"{rng.getrandbits(64):x}",  # not allowed anywhere: dropped
        }
        if rng.random() < 0.05:
            properties["password"] = "hunter2"  # noqa: S105 - a buggy client; never stored
        return properties
