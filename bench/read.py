"""Read path: masking and permissions against plain DRF ModelSerializers, and search scaling.

    .venv/bin/python bench/read.py [--sessions 10000] [--big 200000] [--repeat 40] [--rounds 5]

Runs in a throwaway database made for the run: a temporary SQLite file by
default, or, when ``DATABASE_URL`` points at PostgreSQL, a database named
``rumvault_bench_read`` on that server (created, migrated and dropped again).

Every row is written by ``session_ingest`` (the service behind the ingest
API), in batches of 500: ``--sessions`` sessions over two applications (tags
stored raw / encrypted), five per customer, each with one to three actions,
and one session with 20 actions that fill every action field. Then it times
through the whole Django stack (middleware, token authentication, rendering):

(a) ``GET /api/v1/sessions/?page_size=100`` for the agent: record access, no
    fieldset, so every fieldset field is masked;
(b) the same for the lead: every fieldset everywhere (the sensitive one and
    the request details over action fields), tags decrypted, audited;
(c) a plain DRF ``ListAPIView`` with ``ModelSerializer(fields="__all__")``,
    DRF's own ``JSONRenderer`` (the API writes JSON with orjson,
    ``config/renderers.py``) and the same cursor pagination over the same rows
    (no masking, no audit);
(d) ``GET /api/v1/sessions/<id>/`` of the session with 20 actions for the agent
    (actions' headers, request attributes and stack masked) and the lead,
    against a plain ``RetrieveAPIView`` with a nested ``ModelSerializer``;
(e) ``POST /api/v1/sessions/search/`` latency (audit insert included) at
    ``--sessions``, after growing the table to ``--big`` sessions (through
    ingest too; the searched customer keeps the same sessions), and at
    ``--sessions`` again after deleting the extra rows; the two small-table
    medians are averaged.

(a)-(d) run ``--rounds`` rounds; in each, every figure is the median of
``--repeat`` requests after a warm-up, the compared requests interleaved so
they see the same cache state. Ratios are printed as the median over the
rounds with their smallest and largest value. On PostgreSQL the API prepares
its reads of keys only (``config/prepared.py``); ``--plain-prepared`` gives
the plain views the same, ``DATABASE_PREPARED_STATEMENTS=false`` takes it from
both. Targets: a/c <= 0.6, a/b <= 1.0, d masked/plain <= 0.9,
e(big)/e(small) <= 1.5.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from throwaway_database import in_process_database

BENCH_DATABASE = "rumvault_bench_read"
PAGE = 100
SESSIONS_PER_CUSTOMER = 5
DETAIL_ACTIONS = 20
BATCH = 500  # sessions per session_ingest call (RUMVAULT_INGEST_MAX_SESSIONS)
SEARCHED_TAG = "customer-00042@example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--plain-prepared",
        action="store_true",
        help="the plain views' reads prepared too, as the API's key-only reads are "
        "(config/prepared.py; PostgreSQL)",
    )
    options = parser.parse_args()

    with in_process_database(BENCH_DATABASE):
        run(
            sessions=options.sessions,
            big=options.big,
            repeat=options.repeat,
            rounds=options.rounds,
            plain_prepared=options.plain_prepared,
        )


# --- data ----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Seeder:
    """Sessions written by ``session_ingest``, the product's one write path, in batches.

    Nothing here computes a stored value: tags are hashed and encrypted,
    IPs and coordinates masked, URLs and texts masked, counters summed by
    ingest itself (``BATCH`` sessions per call, ingest's own batch limit).
    """

    def __init__(self) -> None:
        from privacy.user_tags import UserTagStorage
        from sessions_app.applications import application_create
        from sessions_app.models import Application

        properties = ["loyalty_tier"]
        self.apps: list[Application] = [
            application_create(slug="bench-shop", name="Shop", allowed_properties=properties)[0],
            application_create(
                slug="bench-vault",
                name="Vault",
                user_tag_storage=UserTagStorage.ENCRYPTED,
                allowed_properties=properties,
            )[0],
        ]
        self.count = 0
        self.start = datetime(2026, 1, 1, tzinfo=UTC)

    def add(self, total: int, *, customers_from: int, with_actions: bool) -> None:
        """``total`` sessions, ``SESSIONS_PER_CUSTOMER`` per customer, alternating applications.

        ``with_actions``: a page view each, a failed request for two in three
        and a purchase for one in four (so the counters vary); without, bare
        sessions (the rows that only grow the table for the search).
        """
        from sessions_app.services import session_ingest

        batches: dict[int, list[dict[str, Any]]] = {app.pk: [] for app in self.apps}
        for offset in range(total):
            number = self.count
            self.count += 1
            application = self.apps[number % 2]
            started = self.start + timedelta(seconds=37 * number)
            batch = batches[application.pk]
            batch.append(
                {
                    "session_id": f"s-{number:07d}",
                    "started_at": _iso(started),
                    "ended_at": _iso(started + timedelta(minutes=7)),
                    "user_tag": customer(customers_from + offset // SESSIONS_PER_CUSTOMER),
                    "client_ip": f"203.0.113.{number % 250}",
                    "geo": {
                        "country": "AT",
                        "city": "Vienna",
                        "latitude": 48.21,
                        "longitude": 16.37,
                    },
                    "browser": "Chrome 131",
                    "os": "Android 15",
                    "device": "mobile",
                    "properties": {"loyalty_tier": "gold"},
                    "actions": _session_actions(number, started) if with_actions else [],
                }
            )
            if len(batch) == BATCH:
                session_ingest(application=application, payload={"sessions": batch})
                batch.clear()
        for application in self.apps:
            if batches[application.pk]:
                session_ingest(
                    application=application, payload={"sessions": batches[application.pk]}
                )

    def add_detail(self, *, actions: int) -> int:
        """The newest session, with ``actions`` actions carrying every action field; its pk."""
        from sessions_app.models import UserSession
        from sessions_app.services import session_ingest

        application = self.apps[0]
        started = self.start + timedelta(seconds=37 * (self.count + 1))
        session_ingest(
            application=application,
            payload={
                "sessions": [
                    {
                        "session_id": "s-detail",
                        "started_at": _iso(started),
                        "user_tag": customer(0),
                        "client_ip": "203.0.113.42",
                        "geo": {
                            "country": "AT",
                            "city": "Vienna",
                            "latitude": 48.2,
                            "longitude": 16.4,
                        },
                        "browser": "Chrome 131",
                        "os": "Android 15",
                        "device": "mobile",
                        "actions": [_detail_action(seq, started) for seq in range(actions)],
                    }
                ]
            },
        )
        return UserSession.objects.get(application=application, session_id="s-detail").pk


def customer(number: int) -> str:
    return f"customer-{number:05d}@example.com"


def _session_actions(number: int, started: datetime) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [
        {
            "seq": 0,
            "type": "page_view",
            "name": "Loading of /shop",
            "url": "https://shop.example.com/shop",
            "timestamp": _iso(started + timedelta(seconds=1)),
            "duration_ms": 420,
            "http_status": 200,
        }
    ]
    if number % 3:
        actions.append(
            {
                "seq": 1,
                "type": "xhr",
                "name": "POST /api/cart",
                "url": "https://shop.example.com/api/cart",
                "timestamp": _iso(started + timedelta(seconds=30)),
                "duration_ms": 900,
                "http_status": 503,
            }
        )
    if number % 4 == 0:
        actions.append(
            {
                "seq": 2,
                "type": "click",
                "name": "Place order",
                "timestamp": _iso(started + timedelta(minutes=5)),
                "product": dict(PURCHASE),
            }
        )
    return actions


PURCHASE = {
    "sku": "DRESS-42",
    "name": "Red dress",
    "price": "79.90",
    "currency": "EUR",
    "quantity": 1,
    "event": "purchase",
}


def _detail_action(seq: int, started: datetime) -> dict[str, Any]:
    """An action with data in every field, personal data included (ingest masks it)."""
    failed = seq == 7
    action: dict[str, Any] = {
        "seq": seq,
        "type": "xhr" if seq % 2 else "page_view",
        "name": f"Loading of /shop/page/{seq}",
        "url": f"https://shop.example.com/shop/page/{seq}?q=jane.doe@example.com",
        "timestamp": _iso(started + timedelta(seconds=seq)),
        "duration_ms": 100 + seq,
        "http_status": 500 if failed else 200,
        "headers": {"Accept": "text/html", "User-Agent": "Mozilla/5.0", "Cookie": "sid=1"},
        "request_attributes": {"order_id": f"A-99{seq:04d}", "channel": "web"},
    }
    if failed:
        action["error"] = {
            "message": "Payment failed for jane.doe@example.com",
            "stack": "PaymentError: declined\n    at charge (checkout.js:88:13)",
        }
    if seq == 19:
        action["product"] = dict(PURCHASE)
    return action


def shrink(*, after_pk: int) -> None:
    """Delete the sessions added after ``after_pk`` (they have no actions) and re-analyse."""
    from django.db import connection

    from sessions_app.models import UserSession

    table = connection.ops.quote_name(UserSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id > %s", [after_pk])  # noqa: S608 - our table name
    analyze()


def analyze() -> None:
    """Fresh planner statistics; on PostgreSQL also VACUUM, so autovacuum does not
    start on the bulk-loaded table in the middle of a measurement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- the plain DRF baseline ----------------------------------------------------------


def install_plain_views(*, prepared: bool = False) -> None:
    """Route /bench/plain/... to stock DRF views next to the project's URLs."""
    from django.conf import settings
    from django.urls import clear_url_caches, include, path
    from rest_framework import generics, renderers, serializers

    from sessions_app.api.pagination import KeysetCursorPagination
    from sessions_app.models import UserAction, UserSession

    class PlainSessionSerializer(serializers.ModelSerializer[UserSession]):
        class Meta:
            model = UserSession
            fields = "__all__"

    class PlainActionSerializer(serializers.ModelSerializer[UserAction]):
        class Meta:
            model = UserAction
            fields = "__all__"

    class PlainDetailSerializer(serializers.ModelSerializer[UserSession]):
        actions = PlainActionSerializer(many=True, read_only=True)

        class Meta:
            model = UserSession
            fields = "__all__"

    from config.prepared import prepared_statements

    # With ``prepared``, the plain views' reads are prepared statements too, as the
    # API's reads of keys only are: what the ratio says without that advantage.
    def reads(view: Any) -> Any:
        original = view.get

        def get(self: Any, *args: Any, **kwargs: Any) -> Any:
            with prepared_statements():
                return original(self, *args, **kwargs)

        if prepared:
            view.get = get
        return view

    # Stock DRF through and through: its own JSONRenderer, not the project's.
    @reads
    class PlainList(generics.ListAPIView[UserSession]):
        renderer_classes = [renderers.JSONRenderer]
        queryset = UserSession.objects.order_by("-started_at", "-id")
        serializer_class = PlainSessionSerializer
        pagination_class = KeysetCursorPagination

    @reads
    class PlainDetail(generics.RetrieveAPIView[UserSession]):
        renderer_classes = [renderers.JSONRenderer]
        queryset = UserSession.objects.prefetch_related("actions")
        serializer_class = PlainDetailSerializer

    urls = types.ModuleType("bench_read_urls")
    # A module made at run time has no declared attributes for mypy to know.
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/plain/sessions/", PlainList.as_view()),
        path("bench/plain/sessions/<int:pk>/", PlainDetail.as_view()),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules["bench_read_urls"] = urls
    settings.ROOT_URLCONF = "bench_read_urls"
    clear_url_caches()


# --- timing --------------------------------------------------------------------------


def client_for(username: str, *, superuser: bool = False) -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    from access.services import api_token_create

    user = User.objects.create_user(username, is_superuser=superuser)
    _, key = api_token_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT="application/json")


def medians(requests: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median milliseconds per request, the requests interleaved round-robin."""
    samples: dict[str, list[float]] = {name: [] for name in requests}
    for request in requests.values():  # warm-up: caches, connections, lazy imports
        for _ in range(3):
            check(request())
    gc.collect()
    for _ in range(repeat):
        for name, request in requests.items():
            started = time.perf_counter()
            response = request()
            samples[name].append((time.perf_counter() - started) * 1000)
            check(response)
    return {name: statistics.median(values) for name, values in samples.items()}


class OK:
    """Stands in for a response where no HTTP request is made."""

    status_code = 200


def check(response: Any) -> None:
    if response.status_code != 200:
        raise SystemExit(f"benchmark request failed: {response.status_code} {response.content!r}")


def rounds_of(
    requests: dict[str, Callable[[], Any]], *, rounds: int, repeat: int
) -> list[dict[str, float]]:
    """``rounds`` independent medians of each request (see ``medians``)."""
    return [medians(requests, repeat) for _ in range(rounds)]


def median_of(rounds: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in rounds)


def ratio(rounds: list[dict[str, float]], top: str, bottom: str) -> tuple[float, float, float]:
    """The ratio's median over the rounds, and its smallest and largest value."""
    values = [r[top] / r[bottom] for r in rounds]
    return statistics.median(values), min(values), max(values)


def run(*, sessions: int, big: int, repeat: int, rounds: int, plain_prepared: bool = False) -> None:
    from django.conf import settings
    from django.db import connection

    from fieldsets.models import BUILTIN_REQUEST_DETAILS, BUILTIN_SENSITIVE
    from permissions.policy import FieldsetPolicy
    from permissions.services import grant_fieldset, grant_record_access
    from sessions_app.models import UserAction, UserSession
    from sessions_app.selectors import customer_sessions
    from sessions_app.user_tags import customer_search

    prepared = "off"
    if settings.PREPARED_STATEMENTS:
        prepared = "API and plain views" if plain_prepared else "API only"
    print(
        f"database: {connection.vendor}; {sessions} sessions; page {PAGE}; "
        f"{rounds} rounds, each the median of {repeat} requests; prepared statements: {prepared}"
    )
    seeder = Seeder()
    started = time.perf_counter()
    seeder.add(sessions, customers_from=0, with_actions=True)
    detail_pk = seeder.add_detail(actions=DETAIL_ACTIONS)
    seeded = time.perf_counter() - started
    print(
        f"seeded through session_ingest in {seeded:.0f} s: {UserSession.objects.count()} "
        f"sessions, {UserAction.objects.count()} actions"
    )
    analyze()
    install_plain_views(prepared=plain_prepared)

    agent, lead = client_for("bench-agent"), client_for("bench-lead")
    for application in seeder.apps:
        grant_record_access(user=_user("bench-agent"), application=application)
    grant_record_access(user=_user("bench-lead"))
    for fieldset in (BUILTIN_SENSITIVE, BUILTIN_REQUEST_DETAILS):
        grant_fieldset(fieldset_name=fieldset, user=_user("bench-lead"))
    plain = client_for("bench-plain")
    _check_masking(agent, lead, detail_pk)

    list_url = f"/api/v1/sessions/?page_size={PAGE}"
    plain_list_url = f"/bench/plain/sessions/?page_size={PAGE}"
    lists = rounds_of(
        {
            "a": lambda: agent.get(list_url),
            "b": lambda: lead.get(list_url),
            "c": lambda: plain.get(plain_list_url),
        },
        rounds=rounds,
        repeat=repeat,
    )
    details = rounds_of(
        {
            "masked": lambda: agent.get(f"/api/v1/sessions/{detail_pk}/"),
            "revealed": lambda: lead.get(f"/api/v1/sessions/{detail_pk}/"),
            "plain": lambda: plain.get(f"/bench/plain/sessions/{detail_pk}/"),
        },
        rounds=rounds,
        repeat=repeat,
    )

    def search() -> Any:
        return agent.post(
            "/api/v1/sessions/search/", {"user_tag": SEARCHED_TAG}, content_type="application/json"
        )

    agent_user = _user("bench-agent")

    def lookup() -> Any:
        # The same search without HTTP and without the audit insert (a disk
        # flush on SQLite): the part whose cost could depend on the table size.
        policy = FieldsetPolicy(user=agent_user)
        rows = list(customer_sessions(policy=policy, search=customer_search(SEARCHED_TAG))[:51])
        assert len(rows) == SESSIONS_PER_CUSTOMER
        return OK

    # A-B-A: the small table before and after the big one, so drift of the
    # machine (other load, disk flushes) cancels out.
    search_repeat = max(repeat, 60)
    requests = {"search": search, "lookup": lookup}
    assert len(search().json()["results"]) == SESSIONS_PER_CUSTOMER
    before = medians(requests, search_repeat)
    last_small_pk = UserSession.objects.order_by("-pk").values_list("pk", flat=True)[0]
    started = time.perf_counter()
    seeder.add(
        big - sessions - 1, customers_from=sessions // SESSIONS_PER_CUSTOMER, with_actions=False
    )
    analyze()
    grown = time.perf_counter() - started
    assert UserSession.objects.count() == big
    assert len(search().json()["results"]) == SESSIONS_PER_CUSTOMER
    large = medians(requests, search_repeat)
    shrink(after_pk=last_small_pk)
    assert UserSession.objects.count() == sessions + 1
    after = medians(requests, search_repeat)
    small = {name: (before[name] + after[name]) / 2 for name in requests}

    print(f"(a) list, agent: every fieldset masked {median_of(lists, 'a'):8.2f} ms")
    print(f"(b) list, lead: everything revealed    {median_of(lists, 'b'):8.2f} ms")
    print(f"(c) list, plain ModelSerializer        {median_of(lists, 'c'):8.2f} ms")
    labels = {"masked": "agent (masked)", "revealed": "lead (revealed)", "plain": "plain nested"}
    for name, label in labels.items():
        value = median_of(details, name)
        print(f"(d) detail, {DETAIL_ACTIONS} actions, {label:<16}{value:8.2f} ms")
    for name, label in (("search", "search (HTTP)"), ("lookup", "search query")):
        print(
            f"(e) {label:<14} at {sessions:>7} {small[name]:8.2f} ms"
            f"  (before {before[name]:.2f}, after {after[name]:.2f})"
        )
        print(f"(e) {label:<14} at {big:>7} {large[name]:8.2f} ms")
    print(f"    (table grown through session_ingest in {grown:.0f} s)")
    print()
    print(f"{'ratio':<26}{'median':>7}{'min':>7}{'max':>7}  target")
    report("a/c masked/plain list", ratio(lists, "a", "c"), 0.6)
    report("a/b masked/revealed list", ratio(lists, "a", "b"), 1.0)
    report("b/c revealed/plain list", ratio(lists, "b", "c"), None)
    report("d masked/plain detail", ratio(details, "masked", "plain"), 0.9)
    report("d masked/revealed detail", ratio(details, "masked", "revealed"), 1.0)
    report("d revealed/plain detail", ratio(details, "revealed", "plain"), None)
    one = [{"big": large["search"], "small": small["search"]}]
    report(f"e({big})/e({sessions})", ratio(one, "big", "small"), 1.5)
    one = [{"big": large["lookup"], "small": small["lookup"]}]
    report(f"e query({big})/({sessions})", ratio(one, "big", "small"), 1.5)


def _check_masking(agent: Any, lead: Any, detail_pk: int) -> None:
    """The compared requests really differ: the agent gets masked sessions and actions."""
    masked = agent.get(f"/api/v1/sessions/{detail_pk}/").json()
    revealed = lead.get(f"/api/v1/sessions/{detail_pk}/").json()
    page = agent.get(f"/api/v1/sessions/?page_size={PAGE}").json()["results"]
    if not (
        "user_tag" in masked["masked_fields"]
        and revealed["masked_fields"] == []
        and all("headers" in action["masked_fields"] for action in masked["actions"])
        and all(action["masked_fields"] == [] for action in revealed["actions"])
        and len(page) == PAGE
        and all(row["user_tag"] is None for row in page)
    ):
        raise SystemExit("benchmark setup: the agent's responses are not masked as expected")


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def report(name: str, figures: tuple[float, float, float], target: float | None) -> None:
    value, low, high = figures
    verdict = "" if target is None else ("ok" if value <= target else "MISSED")
    goal = "" if target is None else f"<= {target} {verdict}"
    print(f"{name:<26}{value:7.2f}{low:7.2f}{high:7.2f}  {goal}")


if __name__ == "__main__":
    main()
