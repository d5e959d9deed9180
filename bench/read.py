"""Read path: masking and permissions against a plain DRF ModelSerializer, and search scaling.

    .venv/bin/python bench/read.py [--sessions 10000] [--big 200000] [--repeat 40]

Runs in a throwaway database made for the run: a temporary SQLite file by
default, or, when ``DATABASE_URL`` points at PostgreSQL, a database named
``rumvault_bench_read`` on that server (created, migrated and dropped again).

It seeds ``--sessions`` sessions with ``bulk_create`` (blind index, pseudonym
and ciphertext computed with ``sessions_app.user_tags``, as ingest stores
them) over two applications (tags stored raw / encrypted), 20 actions for each
session of the first page (one failed request, one purchase: what the list's
triage summary reads), and times through the whole Django stack (middleware,
token authentication, rendering):

(a) ``GET /api/v1/sessions/?page_size=100`` for a caller with every fieldset masked;
(b) the same for a caller with everything revealed (and audited);
(c) a plain DRF ``ListAPIView`` with ``ModelSerializer(fields="__all__")`` and
    the same cursor pagination over the same rows (no masking, no audit);
(d) ``GET /api/v1/sessions/<id>/`` of a session with 20 actions against a plain
    nested ``ModelSerializer`` retrieve view;
(e) ``POST /api/v1/sessions/search/`` latency (audit insert included) at
    ``--sessions``, after growing the table to ``--big`` sessions (the searched
    customer keeps the same sessions), and at ``--sessions`` again after
    deleting the extra rows; the two small-table medians are averaged.

Each figure is the median of ``--repeat`` requests after a warm-up, with the
compared requests interleaved so they see the same cache state. Targets:
a/c <= 1.0, a/b <= 1.05, e(big)/e(small) <= 1.5.
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
from decimal import Decimal
from typing import Any

from throwaway_database import in_process_database

BENCH_DATABASE = "rumvault_bench_read"
PAGE = 100
SESSIONS_PER_CUSTOMER = 5
SEARCHED_TAG = "customer-00042@example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    options = parser.parse_args()

    with in_process_database(BENCH_DATABASE):
        run(sessions=options.sessions, big=options.big, repeat=options.repeat)


# --- data ----------------------------------------------------------------------------


class Seeder:
    """bulk_create sessions the way ingest stores them, caching per-customer hashes."""

    def __init__(self) -> None:
        from privacy.user_tags import UserTagStorage
        from sessions_app.applications import application_create
        from sessions_app.models import Application

        self.apps: list[Application] = [
            application_create(slug="bench-shop", name="Shop")[0],
            application_create(
                slug="bench-vault", name="Vault", user_tag_storage=UserTagStorage.ENCRYPTED
            )[0],
        ]
        self.hashes: dict[tuple[str, int], tuple[str, str]] = {}
        self.count = 0
        self.start = datetime(2026, 1, 1, tzinfo=UTC)

    def _hashes(self, tag: str, application_id: int) -> tuple[str, str]:
        from sessions_app import user_tags

        if (tag, application_id) not in self.hashes:
            normalised = user_tags.normalise(tag)
            self.hashes[tag, application_id] = (
                user_tags.blind_index_for(normalised),
                user_tags.pseudonym_for(normalised, application_id=application_id),
            )
        return self.hashes[tag, application_id]

    def add(self, total: int, *, customers_from: int) -> None:
        from privacy.user_tags import UserTagStorage
        from sessions_app import user_tags
        from sessions_app.models import UserSession

        batch: list[UserSession] = []
        for offset in range(total):
            number = self.count
            self.count += 1
            application = self.apps[number % 2]
            tag = f"customer-{customers_from + offset // SESSIONS_PER_CUSTOMER:05d}@example.com"
            blind_index, user_id = self._hashes(tag, application.pk)
            encrypted = application.user_tag_storage == UserTagStorage.ENCRYPTED
            started = self.start + timedelta(seconds=37 * number)
            batch.append(
                UserSession(
                    application=application,
                    session_id=f"s-{number:07d}",
                    started_at=started,
                    ended_at=started + timedelta(minutes=7),
                    duration_ms=420_000 + number % 1000,
                    user_tag=None if encrypted else tag,
                    user_tag_encrypted=(
                        user_tags.encrypt(tag, application_id=application.pk) if encrypted else None
                    ),
                    user_tag_blind_index=blind_index,
                    user_id=user_id,
                    client_ip=f"203.0.113.{number % 250}",
                    geo_latitude=48.2,
                    geo_longitude=16.4,
                    country="AT",
                    city="Vienna",
                    browser="Chrome 131",
                    os="Android 15",
                    device="mobile",
                    properties={"loyalty_tier": "gold"},
                    action_count=20,
                    error_count=number % 3,
                    converted=number % 4 == 0,
                    revenue=Decimal("79.90") if number % 4 == 0 else Decimal("0"),
                )
            )
            if len(batch) == 2000:
                UserSession.objects.bulk_create(batch)
                batch = []
        UserSession.objects.bulk_create(batch)

    def add_actions(self, session: Any, count: int) -> None:
        from sessions_app.models import UserAction

        UserAction.objects.bulk_create(
            UserAction(
                session=session,
                seq=seq,
                type="xhr" if seq % 2 else "page_view",
                name=f"Loading of /shop/page/{seq}",
                url=f"https://shop.example.com/shop/page/{seq}?q=<masked>",
                timestamp=session.started_at + timedelta(seconds=seq),
                duration_ms=100 + seq,
                http_status=500 if seq == 7 else 200,
                error_message="Payment failed for <masked>" if seq == 7 else "",
                headers={"Accept": "text/html", "User-Agent": "Mozilla/5.0"},
                request_attributes={"order_id": "<masked>"},
                product_sku="DRESS-42" if seq == 19 else "",
                product_name="Red dress" if seq == 19 else "",
                product_price=Decimal("79.90") if seq == 19 else None,
                product_currency="EUR" if seq == 19 else "",
                product_quantity=1 if seq == 19 else None,
                product_event="purchase" if seq == 19 else "",
            )
            for seq in range(count)
        )


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


def install_plain_views() -> None:
    """Route /bench/plain/... to stock DRF views next to the project's URLs."""
    from django.conf import settings
    from django.urls import clear_url_caches, include, path
    from rest_framework import generics, serializers

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

    class PlainList(generics.ListAPIView[UserSession]):
        queryset = UserSession.objects.order_by("-started_at", "-id")
        serializer_class = PlainSessionSerializer
        pagination_class = KeysetCursorPagination

    class PlainDetail(generics.RetrieveAPIView[UserSession]):
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


def run(*, sessions: int, big: int, repeat: int) -> None:
    from django.db import connection

    from fieldsets.models import BUILTIN_SENSITIVE
    from permissions.policy import FieldsetPolicy
    from permissions.services import grant_fieldset, grant_record_access
    from sessions_app.models import UserSession
    from sessions_app.selectors import customer_sessions
    from sessions_app.user_tags import customer_search

    print(f"database: {connection.vendor}; {sessions} sessions; page {PAGE}; median of {repeat}")
    seeder = Seeder()
    seeder.add(sessions, customers_from=0)
    newest = list(UserSession.objects.order_by("-started_at", "-id")[:PAGE])
    detail = newest[0]
    # Every session of the listed page has 20 actions (one failed request, one
    # purchase), so the list's triage summary reads real rows.
    for session in newest:
        seeder.add_actions(session, 20)
    analyze()
    install_plain_views()

    masked, revealed = client_for("bench-agent"), client_for("bench-lead")
    for application in seeder.apps:
        grant_record_access(user=_user("bench-agent"), application=application)
    grant_record_access(user=_user("bench-lead"))
    grant_fieldset(fieldset_name=BUILTIN_SENSITIVE, user=_user("bench-lead"))
    plain = client_for("bench-plain")

    list_url = f"/api/v1/sessions/?page_size={PAGE}"
    plain_list_url = f"/bench/plain/sessions/?page_size={PAGE}"
    lists = medians(
        {
            "a": lambda: masked.get(list_url),
            "b": lambda: revealed.get(list_url),
            "c": lambda: plain.get(plain_list_url),
        },
        repeat,
    )
    details = medians(
        {
            "ours (masked)": lambda: masked.get(f"/api/v1/sessions/{detail.pk}/"),
            "ours (revealed)": lambda: revealed.get(f"/api/v1/sessions/{detail.pk}/"),
            "plain": lambda: plain.get(f"/bench/plain/sessions/{detail.pk}/"),
        },
        repeat,
    )

    def search() -> Any:
        return masked.post(
            "/api/v1/sessions/search/", {"user_tag": SEARCHED_TAG}, content_type="application/json"
        )

    agent = _user("bench-agent")

    def lookup() -> Any:
        # The same search without HTTP and without the audit insert (a disk
        # flush on SQLite): the part whose cost could depend on the table size.
        policy = FieldsetPolicy(user=agent)
        search = customer_search(SEARCHED_TAG)
        rows = list(customer_sessions(policy=policy, search=search)[:51])
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
    seeder.add(big - sessions, customers_from=sessions // SESSIONS_PER_CUSTOMER)
    analyze()
    grown = time.perf_counter() - started
    assert UserSession.objects.count() == big
    assert len(search().json()["results"]) == SESSIONS_PER_CUSTOMER
    large = medians(requests, search_repeat)
    shrink(after_pk=last_small_pk)
    assert UserSession.objects.count() == sessions
    after = medians(requests, search_repeat)
    small = {name: (before[name] + after[name]) / 2 for name in requests}

    print(f"(a) list, every field masked       {lists['a']:8.2f} ms")
    print(f"(b) list, everything revealed      {lists['b']:8.2f} ms")
    print(f"(c) list, plain ModelSerializer    {lists['c']:8.2f} ms")
    for name, value in details.items():
        print(f"(d) detail, 20 actions, {name:<15}{value:8.2f} ms")
    for name, label in (("search", "search (HTTP)"), ("lookup", "search query")):
        print(
            f"(e) {label:<14} at {sessions:>7} {small[name]:8.2f} ms"
            f"  (before {before[name]:.2f}, after {after[name]:.2f})"
        )
        print(f"(e) {label:<14} at {big:>7} {large[name]:8.2f} ms")
    print(f"    (table grown in {grown:.0f} s)")
    print()
    report("a/c", lists["a"] / lists["c"], 1.0)
    report("b/c", lists["b"] / lists["c"], None)
    report("a/b", lists["a"] / lists["b"], 1.05)
    report("d ours(masked)/plain", details["ours (masked)"] / details["plain"], None)
    report("d ours(revealed)/plain", details["ours (revealed)"] / details["plain"], None)
    report(f"e({big})/e({sessions})", large["search"] / small["search"], 1.5)
    report(f"e query({big})/({sessions})", large["lookup"] / small["lookup"], 1.5)


def _user(username: str) -> Any:
    from django.contrib.auth.models import User

    return User.objects.get(username=username)


def report(name: str, ratio: float, target: float | None) -> None:
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  MISSED (<= {target})")
    print(f"{name:<26}{ratio:6.2f}{verdict}")


if __name__ == "__main__":
    main()
