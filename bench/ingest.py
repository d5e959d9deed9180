"""Ingest throughput: the full HTTP pipeline against plain ``bulk_create`` of the same rows.

    .venv/bin/python bench/ingest.py [--batches N]
    .venv/bin/python bench/ingest.py --rules 20 [--batches N]

Runs in a throwaway database made for the run: a temporary SQLite file by
default, or, when ``DATABASE_URL`` points at PostgreSQL, a database named
``rumvault_bench`` on that server (created, migrated and dropped again).

Each batch is 100 sessions x 10 actions of realistic shop traffic (URLs with
ids and query strings, headers, some failed requests with an email in the
error message, purchases). For every batch the script times

* the pipeline: ``POST /api/v1/ingest/sessions/`` through Django's test client,
  i.e. middleware, token check, JSON parsing, validation, every masking rule,
  the locked upsert and the response; and
* the baseline: ``UserSession.objects.bulk_create`` then
  ``UserAction.objects.bulk_create`` of the same rows in one transaction,
  unmasked, from values parsed in advance;

alternating the two so both see the same database size and cache state.

With ``--rules N`` the baseline is the same pipeline for an application
without masking rules, and the measured one an application with N rules (half
RE2 patterns, half built-in detectors, over wide selectors such as
``actions.*`` and ``*``): the cost of the rules (target: with >= 0.8 x without).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from throwaway_database import in_process_database

SESSIONS_PER_BATCH = 100
ACTIONS_PER_SESSION = 10
BENCH_DATABASE = "rumvault_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="batches of 100 sessions [20]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rules", type=int, default=0, metavar="N", help="compare with N masking rules vs none"
    )
    options = parser.parse_args()

    with in_process_database(BENCH_DATABASE) as postgres:
        if options.rules:
            run_rules(
                batches=options.batches, seed=options.seed, postgres=postgres, count=options.rules
            )
        else:
            run(batches=options.batches, seed=options.seed, postgres=postgres)


def run(*, batches: int, seed: int, postgres: bool) -> None:
    from django.test import Client

    from sessions_app.applications import application_create

    rng = random.Random(seed)
    _, token = application_create(slug="bench-pipeline", name="Pipeline")
    baseline_app, _ = application_create(slug="bench-bulk", name="bulk_create")
    client = Client()
    # "localhost" is in the default ALLOWED_HOSTS; the test client's "testserver" is not.
    headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}

    payloads = [make_batch(rng, number) for number in range(batches + 1)]
    bodies = [json.dumps(payload) for payload in payloads]  # the client's work, not timed

    pipeline_seconds = baseline_seconds = 0.0
    for number, (payload, body) in enumerate(zip(payloads, bodies, strict=True)):
        rows = parsed_rows(payload)  # parsing is not part of the baseline either
        started = time.perf_counter()
        response = client.post(
            "/api/v1/ingest/sessions/", body, content_type="application/json", headers=headers
        )
        pipeline = time.perf_counter() - started
        assert response.status_code == 200, response.content[:500]

        started = time.perf_counter()
        bulk_insert(baseline_app, rows)
        baseline = time.perf_counter() - started
        if number:  # the first batch warms caches and connections for both
            pipeline_seconds += pipeline
            baseline_seconds += baseline

    sessions = batches * SESSIONS_PER_BATCH
    pipeline_rate = sessions / pipeline_seconds
    baseline_rate = sessions / baseline_seconds
    print(f"database: {'PostgreSQL' if postgres else 'SQLite (file)'}")
    print(f"batches:  {batches} x {SESSIONS_PER_BATCH} sessions x {ACTIONS_PER_SESSION} actions")
    print(f"pipeline (HTTP + validation + masking + upsert): {pipeline_rate:8.0f} sessions/s")
    print(f"bulk_create (same rows, unmasked):               {baseline_rate:8.0f} sessions/s")
    print(f"ratio pipeline / bulk_create: {pipeline_rate / baseline_rate:.2f} (target >= 0.50)")


# --- masking rules: the pipeline with N rules against the pipeline without ------------

REGEX_RULES = [
    ("delivery address", "actions.error_message", r"deliver to (?P<mask>[^(]+?) for"),
    ("customer names", "*", r"(?i)(?:customer|name)[:=] ?(?P<mask>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"),
    ("street", "actions.*", r"(?i)\b[A-Z][a-z]+(?:strasse|straße|gasse|weg|street|road) \d+\b"),
    ("postal code and town", "actions.*", r"\b\d{4,5} [A-Z][a-z]+\b"),
    ("date of birth", "actions.request_attributes.*", r"\b(?:19|20)\d\d-\d\d-\d\d\b"),
    ("loyalty number", "*", r"\bLOY-\d{6,}\b"),
    ("internal ticket", "actions.*", r"\bTCK-[0-9A-F]{8}\b"),
    ("voucher", "actions.url", r"(?i)voucher=(?P<mask>[A-Z0-9]{8,})"),
    ("tax id", "*", r"\bATU\d{8}\b"),
    ("bank reference", "actions.*", r"(?i)ref(?:erence)?: ?(?P<mask>\w{6,})"),
]
DETECTOR_RULES = [
    ("phones", "actions.*", "phone"),
    ("phones in properties", "session.*", "phone"),
    ("emails", "*", "email"),
    ("ibans", "actions.*", "iban"),
    ("uuids", "actions.*", "uuid"),
    ("ips", "actions.*", "ip"),
    ("cards", "*", "card"),
    ("jwts", "actions.*", "jwt"),
    ("credentials", "actions.*", "credential_key"),
    ("ips in session", "session.*", "ip"),
]


def make_rules(application: Any, count: int) -> None:
    from masking_rules.models import MaskingRule

    regex = [dict(pattern=p, selector=s, name=n) for n, s, p in REGEX_RULES]
    detectors = [dict(detector=d, selector=s, name=n) for n, s, d in DETECTOR_RULES]
    chosen = [*regex[: (count + 1) // 2], *detectors[: count // 2]]
    for order, fields in enumerate(chosen):
        MaskingRule.objects.create(application=application, order=order, method="mask", **fields)


def run_rules(*, batches: int, seed: int, postgres: bool, count: int) -> None:
    from django.test import Client

    from sessions_app.applications import application_create

    rng = random.Random(seed)
    _, plain_token = application_create(slug="bench-no-rules", name="No rules", phone_region="AT")
    ruled, ruled_token = application_create(slug="bench-rules", name="Rules", phone_region="AT")
    make_rules(ruled, count)
    client = Client()
    bodies = [json.dumps(make_batch(rng, number, addresses=True)) for number in range(batches + 1)]
    seconds = {"no rules": 0.0, "rules": 0.0}
    pair = (("no rules", plain_token), ("rules", ruled_token))
    for number, body in enumerate(bodies):
        # Each goes first every other batch: on SQLite the second request of a pair
        # met more of the garbage collector's full collections (see bench/README.md).
        for label, token in pair if number % 2 else pair[::-1]:
            headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}
            started = time.perf_counter()
            response = client.post(
                "/api/v1/ingest/sessions/", body, content_type="application/json", headers=headers
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.content[:500]
            if number:
                seconds[label] += elapsed
    sessions = batches * SESSIONS_PER_BATCH
    without, with_rules = sessions / seconds["no rules"], sessions / seconds["rules"]
    print(f"database: {'PostgreSQL' if postgres else 'SQLite (file)'}")
    print(f"batches:  {batches} x {SESSIONS_PER_BATCH} sessions x {ACTIONS_PER_SESSION} actions")
    print(f"rules:    {count} ({(count + 1) // 2} RE2 patterns, {count // 2} detectors)")
    print(f"pipeline without rules: {without:8.0f} sessions/s")
    print(f"pipeline with rules:    {with_rules:8.0f} sessions/s")
    print(f"ratio with / without: {with_rules / without:.2f} (target >= 0.80)")


# --- the baseline --------------------------------------------------------------------


def parsed_rows(payload: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    rows = []
    for session in payload["sessions"]:
        geo = session["geo"]
        session_row = {
            "session_id": session["session_id"],
            "started_at": datetime.fromisoformat(session["started_at"]),
            "ended_at": datetime.fromisoformat(session["ended_at"]),
            "user_tag": session["user_tag"],
            "client_ip": session["client_ip"],
            "country": geo["country"],
            "city": geo["city"],
            "geo_latitude": geo["latitude"],
            "geo_longitude": geo["longitude"],
            "browser": session["browser"],
            "os": session["os"],
            "device": session["device"],
            "properties": session["properties"],
        }
        action_rows = []
        for action in session["actions"]:
            product = action.get("product") or {}
            error = action.get("error") or {}
            action_rows.append(
                {
                    "seq": action["seq"],
                    "type": action["type"],
                    "name": action["name"],
                    "url": action["url"],
                    "timestamp": datetime.fromisoformat(action["timestamp"]),
                    "duration_ms": action["duration_ms"],
                    "http_status": action.get("http_status"),
                    "error_message": error.get("message", ""),
                    "error_stack": error.get("stack", ""),
                    "headers": action["headers"],
                    "request_attributes": action.get("request_attributes", {}),
                    "product_sku": product.get("sku", ""),
                    "product_price": Decimal(product["price"]) if product else None,
                    "product_quantity": product.get("quantity"),
                    "product_event": product.get("event", ""),
                }
            )
        rows.append((session_row, action_rows))
    return rows


def bulk_insert(application: Any, rows: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    from django.db import transaction

    from sessions_app.models import UserAction, UserSession

    with transaction.atomic():
        sessions = UserSession.objects.bulk_create(
            UserSession(application=application, **session_row) for session_row, _ in rows
        )
        UserAction.objects.bulk_create(
            UserAction(
                session=session,
                application=application,
                partition_time=session.started_at,
                **action_row,
            )
            for session, (_, action_rows) in zip(sessions, rows, strict=True)
            for action_row in action_rows
        )


# --- realistic traffic ---------------------------------------------------------------

PAGES = ["/", "/women/dresses", "/men/shirts", "/sale", "/cart", "/checkout", "/account/orders"]
CITIES = [
    ("AT", "Vienna", 48.2082, 16.3738),
    ("DE", "Berlin", 52.52, 13.405),
    ("FR", "Paris", 48.8566, 2.3522),
    ("IT", "Milan", 45.4642, 9.19),
    ("ES", "Madrid", 40.4168, -3.7038),
]
BROWSERS = ["Chrome 131", "Firefox 133", "Safari 18", "Edge 131"]


def make_batch(rng: random.Random, number: int, *, addresses: bool = False) -> dict[str, Any]:
    start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    return {
        "sessions": [
            make_session(
                rng, f"bench-{number}-{index}", start + timedelta(seconds=index), addresses
            )
            for index in range(SESSIONS_PER_BATCH)
        ]
    }


def make_session(
    rng: random.Random, session_id: str, started: datetime, addresses: bool = False
) -> dict[str, Any]:
    customer = rng.randrange(100_000)
    email = f"customer{customer}@example.com"
    country, city, latitude, longitude = rng.choice(CITIES)
    actions = []
    for seq in range(ACTIONS_PER_SESSION):
        page = rng.choice(PAGES)
        sku = f"SKU-{rng.randrange(10_000):05d}"
        action: dict[str, Any] = {
            "seq": seq,
            "type": rng.choice(["page_view", "xhr", "click"]),
            "name": f"Loading of {page}",
            "url": f"https://shop.example.com{page}/{sku}?ref=newsletter&utm_source=mail&u={customer}",
            "timestamp": (started + timedelta(seconds=seq * 7)).isoformat(),
            "duration_ms": rng.randrange(20, 3000),
            "http_status": 200,
            "headers": {
                "Accept": "text/html",
                "Referer": f"https://shop.example.com{rng.choice(PAGES)}",
                "Cookie": f"sid={rng.getrandbits(64):x}",
            },
            "request_attributes": {"order_id": f"A-{rng.randrange(10**6)}"},
        }
        if rng.random() < 0.05:
            action["http_status"] = 500
            action["error"] = {
                "message": rng.choice(
                    [
                        f"Payment declined for {email}",
                        f"Cannot deliver to Hauptstrasse {rng.randrange(1, 99)}, 1010 Wien for "
                        f"Anna Probe (phone +43 660 {rng.randrange(10**6, 10**7)})",
                    ]
                ),
                "stack": "at checkout (app.js:120:7)",
            }
        if rng.random() < 0.2:
            action["product"] = {
                "sku": sku,
                "price": f"{rng.randrange(1000, 20000) / 100:.2f}",
                "quantity": rng.randrange(1, 3),
                "event": rng.choice(["view", "add_to_cart", "purchase"]),
            }
        actions.append(action)
    return {
        "session_id": session_id,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=5)).isoformat(),
        "user_tag": email,
        "client_ip": f"81.2.{rng.randrange(256)}.{rng.randrange(256)}",
        "geo": {"country": country, "city": city, "latitude": latitude, "longitude": longitude},
        "browser": rng.choice(BROWSERS),
        "os": "Android 15",
        "device": "mobile",
        "properties": {"loyalty_tier": rng.choice(["gold", "silver"])},
        "actions": actions,
    }


if __name__ == "__main__":
    main()
