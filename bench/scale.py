"""Every documented list shape at two table sizes: does its time stay flat?

    DATABASE_URL=postgres://... .venv/bin/python bench/scale.py [--small 20000] [--big 1000000]
        [--actions 10] [--repeat 9]

Runs in a throwaway database (``rumvault_bench_scale`` on the server of
``DATABASE_URL``, or a temporary SQLite file). Rows are written with
``bulk_create`` (this measures reads, not ingest): sessions over ten
applications, half of them in the first, with the mixes a shop sees (10 % with
no duration, 20 % with errors, 5 % converted, 1 % from a rare country, ...)
and ``--actions`` actions each, one in ten a failed request or a purchase.

Each shape is a ``GET /api/v1/sessions/`` through the whole Django stack
(token, policy, page, triage summaries, masking, JSON): every ordering in
both directions, alone and with each filter of the list, for a reader of
every application and for a reader of the smallest one; the 21st page (of 20) of
each ordering; the customer search. Every shape is timed (median of ``--repeat``)
at ``--small`` sessions and again after the table has grown to ``--big``,
and the ratio printed. Target (issue 15): every ratio <= 1.5.

Like for like: a shape whose filter matches fewer rows than a page at
``--small`` (a rare country for the reader of the smallest application: about
11 of its 1,100 sessions) returns a full page at ``--big``, so its two times
would be for different amounts of work (a summary, masking and JSON per row),
and the ratio would measure the page filling up rather than the table
growing. At ``--big`` such a shape is timed twice, in the same round-robin as
every other: with ``page_size`` set to the rows it returned at ``--small``
(its ratio), and as it is (printed beside it as "full page").
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from read import _user, analyze, client_for
from throwaway_database import in_process_database

APPLICATIONS = 10
SEARCHED_CUSTOMER = 42
SEARCHED = f"customer-{SEARCHED_CUSTOMER:05d}@example.com"
SEARCHED_SESSIONS = {42, 142, 242, 342, 442}
DAYS = 30
BATCH = 5000
Shape = tuple[str, str, dict[str, str] | None]  # principal, URL, search body or None
PAGE_SIZE = re.compile(r"page_size=(\d+)")
# One value per filter of the list; a filter added to the API without one stops the run.
FILTER_VALUES = {
    "application": "shop-0",
    "since": None,  # the last day of the data: filled in at run time
    "until": None,  # the first day
    "user_id": "u-42",
    "session_id": "s-0-42",
    "has_errors": "true",
    "converted": "true",
    "country": "AT",
    "browser": "Firefox",
    "device": "mobile",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--actions", type=int, default=10, help="actions per session")
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    with in_process_database("rumvault_bench_scale"):
        run(options)


# --- data ----------------------------------------------------------------------------


class Seeder:
    """Sessions with their actions, ``bulk_create``d in batches, in one random order."""

    def __init__(self, actions: int) -> None:
        from sessions_app.applications import application_create

        self.actions = actions
        self.apps = [
            application_create(slug=f"shop-{n}", name=f"Shop {n}")[0] for n in range(APPLICATIONS)
        ]
        self.count = 0
        self.random = random.Random(15)
        self.start = datetime(2026, 10, 1, tzinfo=UTC)

    @staticmethod
    def tag_columns(app: Any, customer: int) -> dict[str, str | None]:
        """The user-tag columns ingest stores for this customer (blind index, pseudonym)."""
        from sessions_app.ingest.session_rows import _tag_columns
        from sessions_app.user_tags import normalise

        return _tag_columns(normalise(f"customer-{customer:05d}@example.com"), application=app)

    def session(self, number: int) -> Any:
        from sessions_app.models import UserSession

        pick = self.random
        # Half the sessions in shop-0, the rest spread over the other nine.
        index = 0 if number % 2 == 0 else 1 + number % (APPLICATIONS - 1)
        app = self.apps[index]
        started = self.start + timedelta(seconds=pick.randrange(DAYS * 86400))
        duration = None if pick.random() < 0.1 else pick.randrange(1000, 3_600_000)
        return UserSession(
            application=app,
            session_id=f"s-{index}-{number}",
            started_at=started,
            ended_at=None if duration is None else started + timedelta(milliseconds=duration),
            duration_ms=duration,
            country="AT" if pick.random() < 0.01 else pick.choice(["DE", "FR", "IT", "ES"]),
            browser=pick.choice(["Firefox", "Chrome", "Chrome", "Safari", "Edge"]),
            device=pick.choice(["mobile", "mobile", "desktop", "desktop", "tablet"]),
            error_count=0 if pick.random() < 0.8 else pick.randrange(1, 5),
            converted=pick.random() < 0.05,
            action_count=self.actions,
            **self.tag_columns(app, customer_of(number)),
        )

    def action(self, session: Any, seq: int) -> Any:
        from sessions_app.models import UserAction

        failed, bought = self.random.random() < 0.1, self.random.random() < 0.05
        return UserAction(
            session=session,
            application_id=session.application_id,  # as ingest sets it (docs/scaling.md)
            partition_time=session.started_at,  # as ingest sets it: no query to find it
            seq=seq,
            type="xhr" if seq else "page_view",
            name="POST /api/cart" if seq else "Product page",
            url="https://shop.example/products/DRESS-42",
            timestamp=session.started_at + timedelta(seconds=seq),
            http_status=503 if failed else 200,
            product_event="purchase" if bought else "",
            product_sku="DRESS-42" if bought else "",
        )

    def add(self, total: int) -> None:
        from sessions_app.models import UserAction, UserSession
        from sessions_app.summaries import summarise, summary_tuple

        while total > 0:
            size = min(BATCH, total)
            sessions = [self.session(self.count + n) for n in range(size)]
            self.count += size
            actions = []
            for session in sessions:
                mine = [self.action(session, seq) for seq in range(self.actions)]
                # The summary ingest keeps (sessions_app.summaries), by its own rule.
                session.summary = summarise(map(summary_tuple, mine))
                actions += mine
            UserSession.objects.bulk_create(sessions)
            UserAction.objects.bulk_create(actions, batch_size=BATCH)
            total -= size


def customer_of(number: int) -> int:
    """Session ``number``'s customer: one per session, except that the searched customer
    (42) has the five sessions 42, 142, ..., 442, all in shop-0, at every table size: a
    search or a user_id filter returns the same page whatever the size."""
    return SEARCHED_CUSTOMER if number in SEARCHED_SESSIONS else 100_000 + number


# --- shapes --------------------------------------------------------------------------


def shapes(seeder: Seeder) -> dict[str, Shape]:
    """Name -> (principal, URL, search body or None), every documented list shape."""
    from sessions_app.filters import FILTER_FIELDS
    from sessions_app.queries import ORDERINGS

    values = dict(FILTER_VALUES)
    values["since"] = (seeder.start + timedelta(days=DAYS - 1)).isoformat().replace("+00:00", "Z")
    values["until"] = (seeder.start + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    values["user_id"] = str(seeder.tag_columns(seeder.apps[0], SEARCHED_CUSTOMER)["user_id"])
    missing = set(FILTER_FIELDS) - set(values)
    if missing:  # a filter added to the API: give it a value here
        raise SystemExit(f"bench/scale.py has no value for the filters {sorted(missing)}")
    found: dict[str, Shape] = {}
    for principal in ("all", "one"):
        for name in ORDERINGS:
            for ordering in (name, f"-{name}"):
                base = f"/api/v1/sessions/?page_size=50&ordering={ordering}"
                found[f"{principal:3} {ordering}"] = (principal, base, None)
                for filter_name in FILTER_FIELDS:
                    if principal == "one" and filter_name == "application":
                        continue  # shop-0 is not theirs
                    url = f"{base}&{filter_name}={values[filter_name]}"
                    found[f"{principal:3} {ordering} {filter_name}"] = (principal, url, None)
                deep = f"/api/v1/sessions/?page_size=20&ordering={ordering}&page=21"
                found[f"{principal:3} {ordering} page 21"] = (principal, deep, None)
                body = {"user_tag": SEARCHED, "ordering": ordering}
                found[f"{principal:3} {ordering} search"] = (
                    principal,
                    "/api/v1/sessions/search/?page_size=50",
                    body,
                )
    return found


# --- timing --------------------------------------------------------------------------


def request(client: Any, url: str, body: dict[str, str] | None) -> Any:
    if body is not None:
        response = client.post(url, body, content_type="application/json")
    else:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
    return response


def deep_page(client: Any, url: str, pages: int) -> str:
    """The URL of page ``pages`` of a list, following its cursors."""
    for _ in range(pages - 1):
        following = request(client, url, None).json()["next"]
        if following is None:
            raise SystemExit(f"{url}: fewer than {pages} pages")
        url = following.replace("http://testserver", "")
    return url


def time_shapes(
    clients: dict[str, Any], found: dict[str, Shape], repeat: int
) -> tuple[dict[str, float], dict[str, int]]:
    """Median milliseconds of each shape, the shapes interleaved round-robin; and the rows
    each returned."""
    resolved = {}
    rows = {}
    for name, (principal, url, body) in found.items():
        client = clients[principal]
        if url.endswith("&page=21"):
            url = deep_page(client, url.removesuffix("&page=21"), 21)
        resolved[name] = (client, url, body)
        rows[name] = len(request(client, url, body).json()["results"])  # and warm-up
    samples: dict[str, list[float]] = {name: [] for name in resolved}
    for _ in range(repeat):
        for name, (client, url, body) in resolved.items():
            started = time.perf_counter()
            request(client, url, body)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}, rows


def short_pages(found: dict[str, Shape], rows: dict[str, int]) -> dict[str, Shape]:
    """The shapes that returned fewer rows than their page, with ``page_size`` set to the
    rows they returned (at least 1: a page size of 0 is refused)."""
    short = {}
    for name, (principal, url, body) in found.items():
        match = PAGE_SIZE.search(url)
        assert match is not None, url
        if rows[name] < int(match.group(1)):
            short[name] = (principal, PAGE_SIZE.sub(f"page_size={max(rows[name], 1)}", url), body)
    return short


def grow_and_time(
    seeder: Seeder, size: int, clients: dict[str, Any], found: dict[str, Shape], repeat: int
) -> tuple[dict[str, float], dict[str, int]]:
    """Grow the tables to ``size`` sessions, then time ``found`` (``time_shapes``)."""
    from sessions_app.models import UserAction, UserSession

    started = time.perf_counter()
    seeder.add(size - seeder.count)
    analyze()
    print(
        f"{UserSession.objects.count()} sessions, {UserAction.objects.count()} actions "
        f"(written and analysed in {time.perf_counter() - started:.0f} s)"
    )
    return time_shapes(clients, found, repeat)


def run(options: argparse.Namespace) -> None:
    from django.db import connection

    from permissions.services import grant_record_access

    print(f"database: {connection.vendor}; {options.small} -> {options.big} sessions, "
          f"{options.actions} actions each; median of {options.repeat}")  # fmt: skip
    seeder = Seeder(options.actions)
    clients = {"all": client_for("bench-root", superuser=True), "one": client_for("bench-agent")}
    grant_record_access(user=_user("bench-agent"), application=seeder.apps[-1])
    found = shapes(seeder)

    small, small_rows = grow_and_time(seeder, options.small, clients, found, options.repeat)
    # At the big size the short pages' like-for-like variants are timed in the same
    # round-robin as every shape, so all its figures share the machine's and the
    # database's state (a second pass would find more of the tables in memory).
    short = short_pages(found, small_rows)
    both = found | {f"{name} (same rows)": shape for name, shape in short.items()}
    timed, timed_rows = grow_and_time(seeder, options.big, clients, both, options.repeat)
    full = {name: timed[name] for name in found}
    full_rows = {name: timed_rows[name] for name in found}
    big = full | {name: timed[f"{name} (same rows)"] for name in short}
    big_rows = full_rows | {name: timed_rows[f"{name} (same rows)"] for name in short}
    ratios = {name: big[name] / small[name] for name in found}
    print(f"\n{'shape (reader, ordering, filter)':40} {options.small:>9} {options.big:>9}  ratio"
          f"   rows  (full page at {options.big})")  # fmt: skip
    for name in found:
        flag = "" if ratios[name] <= 1.5 else "  > 1.5"
        rows = f"{small_rows[name]:>3}/{big_rows[name]:<3}"
        page = f"  ({full_rows[name]} rows {full[name]:.1f}ms)" if name in short else ""
        print(f"{name:40} {small[name]:7.1f}ms {big[name]:7.1f}ms  {ratios[name]:5.2f}  "
              f"{rows}{page}{flag}")  # fmt: skip
    over = sorted((name for name in found if ratios[name] > 1.5), key=ratios.__getitem__)
    worst = max(ratios, key=ratios.__getitem__)
    print(
        f"\n{len(found) - len(over)} of {len(found)} shapes within 1.5x "
        f"(worst: {worst}, {ratios[worst]:.2f}x); median ratio "
        f"{statistics.median(ratios.values()):.2f}"
    )


if __name__ == "__main__":
    main()
