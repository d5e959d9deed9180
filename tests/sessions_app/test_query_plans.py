"""No documented read scans the sessions, actions or log records from end to end.

Every filter the list offers, alone, under every ordering, on a first and a
later cursor page, for a reader of everything and for a reader of one of two
applications; the customer search; the session page; the log list with each
of its filters. Each request goes through the API; every query it sends that
reads sessions, actions or log records is explained by the database itself,
and a full table scan fails the test:

* PostgreSQL: ``EXPLAIN`` with ``enable_seqscan`` off (with the few rows of a
  test, a scan would be cheaper than any index; off, the planner chooses one
  only where no index can serve), and a ``Seq Scan`` node on those tables fails,
  also on one of their partitions (actions and log records are partitioned by
  month there, and a plan names each month's partition it scans);
* SQLite: ``EXPLAIN QUERY PLAN``, and a ``SCAN`` of them without an index fails.

What this cannot see is whether an index is the right one at a million rows:
``bench/scale.py`` times the list's shapes at two table sizes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from logs.filters import LOG_FILTER_FIELDS
from logs.models import LogRecord
from sessions_app.filters import FILTER_FIELDS
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.queries import ORDERINGS
from tests.factories import make_application, stored_log, stored_session
from tests.permissions.principals import JANE, api_client, make_user, reader

pytestmark = pytest.mark.django_db

TABLES = (UserSession._meta.db_table, UserAction._meta.db_table, LogRecord._meta.db_table)

# One value for each filter of the list; a filter added without one fails here.
FILTER_VALUES = {
    "application": "shop",
    "since": "2026-01-01T00:00:00Z",
    "until": "2027-01-01T00:00:00Z",
    "user_id": "u-42",
    "session_id": "s-1",
    "has_errors": "true",
    "converted": "true",
    "country": "AT",
    "browser": "Firefox",
    "device": "mobile",
}
ORDERING_VALUES = [prefix + name for name in ORDERINGS for prefix in ("", "-")]
# The log list's filters; ``session`` is filled in with a session's id.
LOG_FILTER_VALUES = {
    "application": "shop",
    "since": "2026-01-01T00:00:00Z",
    "until": "2027-01-01T00:00:00Z",
    "severity": "error",
    "session": None,
    "service": "checkout",
    "host": "web-1",
}


@pytest.fixture
def shops() -> tuple[Application, Application]:
    shop, other = make_application("shop"), make_application("other")
    for application in (shop, other):
        for number in range(3):
            stored_session(application, user_tag=JANE, actions=3, country="AT")
            stored_session(application, actions=2, duration_ms=number * 1000)
            stored_log(application)
    return shop, other


@pytest.fixture
def clients(shops: tuple[Application, Application]) -> dict[str, APIClient]:
    return {
        "reader of all": api_client(make_user("root", superuser=True)),
        "reader of one": api_client(reader("agent", applications=(shops[0],))),
    }


def plan_scans(sql: str) -> Iterator[str]:
    """The tables ``sql`` reads from end to end, as the database plans it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            nodes = [(json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]]
            while nodes:
                node = nodes.pop()
                if node["Node Type"] == "Seq Scan":
                    yield partitioned_table(cursor, node["Relation Name"])
                nodes.extend(node.get("Plans", ()))
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            for *_, detail in cursor.fetchall():
                words = detail.split()
                if words[0] == "SCAN" and "INDEX" not in words:
                    yield words[1]


def partitioned_table(cursor: Any, relation: str) -> str:
    """The table a scanned relation belongs to: a partition (actions and log records are
    partitioned by month on PostgreSQL, and plans scan each month) counts as its table."""
    cursor.execute("SELECT pg_partition_root(%s::regclass)::text", [relation])
    return cursor.fetchone()[0] or relation


def assert_no_table_scan(client: APIClient, method: str, url: str, **body: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, body or None, format="json")
    assert response.status_code == 200, (url, response.content[:300])
    explained = [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in TABLES)]
    assert explained, f"{url} read none of {TABLES}"
    for sql in explained:
        scanned = [table for table in plan_scans(sql) if table in TABLES]
        assert not scanned, f"{method.upper()} {url} scans {scanned}:\n{sql}"


@pytest.mark.parametrize("ordering", ORDERING_VALUES)
@pytest.mark.parametrize("filter_name", [None, *FILTER_FIELDS])
@pytest.mark.parametrize("principal", ["reader of all", "reader of one"])
def test_every_list_shape_uses_an_index(
    clients: dict[str, APIClient], principal: str, filter_name: str | None, ordering: str
) -> None:
    query = f"ordering={ordering}&page_size=2"
    if filter_name is not None:
        query += f"&{filter_name}={FILTER_VALUES[filter_name]}"
    client = clients[principal]
    assert_no_table_scan(client, "get", f"/api/v1/sessions/?{query}")
    # A later page: the cursor's keyset condition as well.
    next_page = client.get(f"/api/v1/sessions/?ordering={ordering}&page_size=2").json()["next"]
    assert next_page is not None
    assert_no_table_scan(client, "get", next_page.replace("http://testserver", ""))


@pytest.mark.parametrize("ordering", ORDERING_VALUES)
@pytest.mark.parametrize("principal", ["reader of all", "reader of one"])
def test_the_customer_search_uses_an_index(
    clients: dict[str, APIClient], principal: str, ordering: str
) -> None:
    assert_no_table_scan(
        clients[principal], "post", "/api/v1/sessions/search/", user_tag=JANE, ordering=ordering
    )


@pytest.mark.parametrize("principal", ["reader of all", "reader of one"])
def test_the_session_page_uses_an_index(
    clients: dict[str, APIClient], shops: tuple[Application, Application], principal: str
) -> None:
    session = UserSession.objects.filter(application=shops[0]).first()
    assert session is not None
    assert_no_table_scan(clients[principal], "get", f"/api/v1/sessions/{session.pk}/")


@pytest.mark.parametrize("filter_name", [None, *LOG_FILTER_FIELDS])
@pytest.mark.parametrize("principal", ["reader of all", "reader of one"])
def test_every_log_list_shape_uses_an_index(
    clients: dict[str, APIClient],
    shops: tuple[Application, Application],
    principal: str,
    filter_name: str | None,
) -> None:
    session = UserSession.objects.filter(application=shops[0]).first()
    assert session is not None
    values = {**LOG_FILTER_VALUES, "session": str(session.pk)}
    query = "page_size=2"
    if filter_name is not None:
        query += f"&{filter_name}={values[filter_name]}"
    assert_no_table_scan(clients[principal], "get", f"/api/v1/logs/?{query}")


@pytest.mark.parametrize(
    ("table", "where"),
    [(UserAction._meta.db_table, "name = 'x'"), (LogRecord._meta.db_table, "body = 'x'")],
)
def test_a_full_scan_is_seen_also_in_a_months_partition(
    shops: tuple[Application, Application], table: str, where: str
) -> None:
    # No index serves these conditions: the test's own check must report the table,
    # whether the plan scans it whole (SQLite) or each of its months (PostgreSQL).
    assert table in set(plan_scans(f"SELECT id FROM {table} WHERE {where}"))  # noqa: S608
