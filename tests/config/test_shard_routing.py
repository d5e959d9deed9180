"""Every statement that reads or writes sessions, actions or log records names the application.

``docs/scaling.md`` ("Routable by application") plans Citus with
``application_id`` as the distribution column. A statement reaches one shard
(or the shards of the applications it names) only if every sessions, actions
or log-records table in it is held to an application by its condition, or is
written with the column. Each test here drives one path through its real entry
point (the test client for HTTP, the services, jobs and commands for the
rest), captures every statement it sends (Django's query log, and on
PostgreSQL the ``COPY`` statements psycopg runs, which the query log does not
see) and checks each with ``tests.config.sql_routing.unrouted``: the
application in a ``WHERE``/``ON`` condition of the table's own query, or in an
``INSERT``/``COPY`` column list. Each path must touch at least one of the
tables, so a path that stopped reading them fails instead of passing empty.

The tables are the models' own ``db_table``s. What is not covered: the reads
and writes of reference tables (applications, fieldsets, grants, users,
audit), schema changes (migrations, the monthly partitions' DDL and
whole-month maintenance, which names partitions, not the tables), and paths
not driven here (listed in ``docs/scaling.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from logs.models import LogRecord
from sessions_app.applications import application_create
from sessions_app.models import Application, UserAction, UserSession
from tests.config.sql_routing import unrouted
from tests.factories import stored_session
from tests.permissions.principals import JANE, api_client, make_user, reader

pytestmark = pytest.mark.django_db

MODELS = (UserSession, UserAction, LogRecord)
TABLES = {model._meta.db_table for model in MODELS}
KEY = "application_id"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ORIGIN = "https://shop.example.com"


def test_every_sharded_table_has_the_distribution_column() -> None:
    for model in MODELS:
        assert model._meta.get_field("application").column == KEY, model


# --- the checker itself ----------------------------------------------------------------

A = '"sessions_app_useraction"'
S = '"sessions_app_usersession"'


@pytest.mark.parametrize(
    ("sql", "routed"),
    [
        (
            f'SELECT {A}."seq" FROM {A} WHERE ({A}."application_id" = 1 AND {A}."session_id" = 2)',
            True,
        ),
        (f'SELECT {A}."seq" FROM {A} WHERE {A}."session_id" IN (1, 2)', False),
        # Selected, not filtered.
        (f'SELECT {A}."application_id" FROM {A} WHERE {A}."session_id" = 2', False),
        # A disjunct constrains nothing; a negation neither.
        (f'SELECT 1 FROM {A} WHERE ({A}."application_id" = 1 OR {A}."seq" = 2)', False),
        (f'SELECT 1 FROM {A} WHERE {A}."application_id" NOT IN (1)', False),
        (f'SELECT 1 FROM {A} WHERE ({A}."seq" = 2 AND ({A}."application_id" IN (1, 2)))', True),
        # Each subquery on its own: the outer condition does not hold the inner table.
        (
            f'SELECT 1 FROM {S} WHERE {S}."application_id" = 1 AND EXISTS(SELECT 1 FROM {A} U0'
            f' WHERE U0."session_id" = ({S}."id"))',
            False,
        ),
        (
            f'SELECT 1 FROM {S} WHERE {S}."application_id" = 1 AND EXISTS(SELECT 1 FROM {A} U0'
            f' WHERE (U0."application_id" = ({S}."application_id")'
            f' AND U0."session_id" = {S}."id"))',
            True,
        ),
        # A join: each table needs its own.
        (
            f'SELECT 1 FROM {A} INNER JOIN {S} ON ({A}."session_id" = {S}."id")'
            f' WHERE {S}."application_id" IN (1)',
            False,
        ),
        (
            f'SELECT 1 FROM {A} INNER JOIN {S} ON ({A}."session_id" = {S}."id")'
            f' WHERE ({A}."application_id" IN (1) AND {S}."application_id" = {A}."application_id")',
            True,
        ),
        (f'UPDATE {S} SET "application_id" = 1 WHERE {S}."id" IN (1)', False),
        (f'UPDATE {S} SET "x" = 1 WHERE ({S}."application_id" = 1 AND {S}."id" IN (1))', True),
        ("UPDATE sessions_app_usersession SET x = 1 WHERE id = 3 AND application_id = 1", True),
        (f'DELETE FROM {A} WHERE {A}."session_id" IN (1)', False),
        (f'INSERT INTO {A} ("session_id", "seq") VALUES (1, 2)', False),
        (f'INSERT INTO {A} ("application_id", "session_id") VALUES (1, 2)', True),
        (f'COPY {A} ("session_id", "application_id") FROM STDIN', True),
        (f"TRUNCATE {A}", False),
        ('SELECT 1 FROM "sessions_app_application" WHERE "id" = 1', True),
        (f"ALTER TABLE {A} DETACH PARTITION x", True),
    ],
)
def test_the_checker_reads_conditions_and_column_lists(sql: str, routed: bool) -> None:
    assert (unrouted(sql, TABLES) == []) is routed, unrouted(sql, TABLES)


# --- capturing every statement of a path -----------------------------------------------


@contextmanager
def _copies(into: list[str]) -> Iterator[None]:
    """COPY statements (``config.bulk``): psycopg runs them beside Django's query log."""
    if connection.vendor != "postgresql":
        yield
        return
    import psycopg

    original = psycopg.Cursor.copy

    def copy(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        into.append(str(statement))
        return original(self, statement, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg.Cursor, "copy", copy)
        yield


@contextmanager
def routed(path: str) -> Iterator[list[str]]:
    """Fail unless every statement ``path`` sends on the sharded tables names the
    application, and unless it sends at least one; yields the list the statements
    are put in when the block ends."""
    copies: list[str] = []
    statements: list[str] = []
    with CaptureQueriesContext(connection) as queries, _copies(copies):
        yield statements
    statements += [query["sql"] for query in queries.captured_queries] + copies
    touching = [sql for sql in statements if any(t in sql for t in TABLES)]
    assert touching, f"{path}: no statement on {sorted(TABLES)}"
    failures = [(sql, problems) for sql in statements if (problems := unrouted(sql, TABLES))]
    assert not failures, f"{path}: statements not routed by {KEY}:\n" + "\n\n".join(
        f"{'; '.join(problems)}\n  {sql}" for sql, problems in failures
    )


# --- the world the paths read -------------------------------------------------------------


def _ingest_token(slug: str, **settings: Any) -> tuple[Application, str]:
    return application_create(slug=slug, name=slug.title(), **settings)


@pytest.fixture
def world() -> dict[str, Any]:
    shop, shop_token = _ingest_token("shop", allowed_origins=[ORIGIN])
    other, _ = _ingest_token("other")
    failed = {
        "seq": 1,
        "type": "xhr",
        "name": "POST /api/pay",
        "http_status": 502,
        "error": {"message": "Payment failed"},
        "trace_id": TRACE,
    }
    bought = {
        "seq": 2,
        "type": "custom",
        "product": {"event": "purchase", "sku": "D-1", "name": "Dress", "price": "9.90",
                    "currency": "EUR", "quantity": 1},
    }  # fmt: skip
    jane = stored_session(shop, user_tag=JANE, actions=[{"seq": 0, "type": "page_view"}, failed,
                                                        bought], session_id="jane-1")  # fmt: skip
    stored_session(shop, actions=2, error_count=1)
    stored_session(other, user_tag=JANE, actions=2)
    from logs.ingest.records import IncomingLog
    from logs.services import log_ingest

    now = timezone.now()
    log_ingest(
        application=shop,
        records=[
            IncomingLog(time=now, body="gateway timeout", trace_id=TRACE, severity_number=17),
            IncomingLog(time=now, body="checkout", session_id="jane-1"),
        ],
    )
    root = make_user("root", superuser=True)
    return {
        "shop": shop,
        "shop_token": shop_token,
        "other": other,
        "jane": jane,
        "root": root,
        "agent": reader("agent", applications=(shop,)),
    }


def _browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ok(response: Any, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), (response.status_code, response.content[:300])
    return response


# --- HTTP read paths ----------------------------------------------------------------------


@pytest.mark.parametrize("principal", ["root", "agent"])
def test_api_session_list_pages_and_filters(world: dict[str, Any], principal: str) -> None:
    client = api_client(world[principal])
    with routed("GET /api/v1/sessions/"):
        page = _ok(client.get("/api/v1/sessions/?ordering=-error_count&page_size=1")).json()
        _ok(client.get(page["next"]))
        _ok(client.get("/api/v1/sessions/?has_errors=true&country=AT&application=shop"))
        _ok(client.get("/api/v1/sessions/?session_id=jane-1&ordering=duration_ms"))


def test_api_session_csv(world: dict[str, Any]) -> None:
    client = api_client(world["root"])
    with routed("GET /api/v1/sessions/?format=csv"):
        response = _ok(client.get("/api/v1/sessions/?format=csv"))
        b"".join(getattr(response, "streaming_content", [response.content]))


@pytest.mark.parametrize("principal", ["root", "agent"])
def test_api_session_detail_with_actions_and_logs(world: dict[str, Any], principal: str) -> None:
    client = api_client(world[principal])
    with routed("GET /api/v1/sessions/<pk>/"):
        detail = _ok(client.get(f"/api/v1/sessions/{world['jane'].pk}/")).json()
    assert [action["seq"] for action in detail["actions"]] == [0, 1, 2]
    assert len(detail["logs"]) == 2


def test_api_and_dashboard_reveal_with_a_reason(world: dict[str, Any]) -> None:
    from permissions.audit import COMMAND_METHOD, Actor
    from sessions_app.applications import application_configure

    actor = Actor(username="test", method=COMMAND_METHOD, path="test")
    application_configure(application=world["shop"], actor=actor, reveal_requires_reason=True)
    jane = world["jane"].pk
    with routed("POST .../reveal/"):
        _ok(
            api_client(world["root"]).post(
                f"/api/v1/sessions/{jane}/reveal/", {"reason": "ticket 4711"}, format="json"
            ),
            200,
            201,
        )
        _ok(_browser(world["root"]).post(f"/dashboard/sessions/{jane}/reveal/", {"reason": "t"}),
            200, 302)  # fmt: skip


def test_api_customer_search(world: dict[str, Any]) -> None:
    client = api_client(world["root"])
    with routed("POST /api/v1/sessions/search/"):
        found = _ok(client.post("/api/v1/sessions/search/", {"user_tag": JANE}, format="json"))
    assert len(found.json()["results"]) == 2


def test_api_log_list_and_a_sessions_logs(world: dict[str, Any]) -> None:
    client = api_client(world["root"])
    with routed("GET /api/v1/logs/"):
        _ok(client.get("/api/v1/logs/"))
        linked = _ok(client.get(f"/api/v1/logs/?session={world['jane'].pk}")).json()
    assert len(linked["results"]) == 2


def test_dashboard_search_session_page_overview_and_errors(world: dict[str, Any]) -> None:
    client = _browser(world["root"])
    with routed("dashboard"):
        _ok(client.post("/dashboard/", {"email": JANE}))
        _ok(client.get("/dashboard/?application=shop"))
        _ok(client.get(f"/dashboard/sessions/{world['jane'].pk}/"))
        day = world["jane"].started_at.date().isoformat()
        overview = _ok(client.get(f"/dashboard/overview/?since={day}&until={day}"))
        link = re.search(r'href="([^"]*error_group=[0-9a-f]{32})"', overview.content.decode())
        assert link is not None, "no most frequent error on the overview"
        errors = _ok(client.get(link.group(1).replace("&amp;", "&")))
    assert b"/dashboard/sessions/" in errors.content  # the group's sessions are listed


def test_admin_changelists_change_pages_inline_and_customer_search(world: dict[str, Any]) -> None:
    client = _browser(world["root"])
    action = UserAction.objects.filter(application=world["shop"]).first()
    record = LogRecord.objects.filter(application=world["shop"]).first()
    assert action is not None
    assert record is not None
    changelist = "/admin/sessions_app/usersession/"
    with routed("admin"):
        _ok(client.get(changelist))
        _ok(client.get(f"{changelist}?application=shop"))
        _ok(client.get(f"{changelist}{world['jane'].pk}/change/"))  # with the actions inline
        found = _ok(client.post(f"{changelist}customer-search/", {"user_tag": JANE}), 302)
        _ok(client.get(found["Location"]))
        _ok(client.get("/admin/sessions_app/useraction/"))
        _ok(client.get(f"/admin/sessions_app/useraction/{action.pk}/change/"))
        _ok(client.get("/admin/logs/logrecord/"))
        _ok(client.get(f"/admin/logs/logrecord/{record.pk}/change/"))


# --- ingest -------------------------------------------------------------------------------


def test_session_ingest_new_and_resent(world: dict[str, Any]) -> None:
    client = Client()
    headers = {"Authorization": f"Bearer {world['shop_token']}"}
    body = {
        "sessions": [
            {"session_id": "s-new", "started_at": "2026-11-28T10:00:00Z", "user_tag": JANE,
             "actions": [{"seq": 0, "type": "page_view", "timestamp": "2026-11-28T10:01:00Z"}]},
        ]
    }  # fmt: skip
    resent = {
        "sessions": [
            {**body["sessions"][0], "ended_at": "2026-11-28T10:09:00Z",
             "actions": [{"seq": 1, "type": "click", "timestamp": "2026-11-28T10:02:00Z"}]},
        ]
    }  # fmt: skip
    with routed("POST /api/v1/ingest/sessions/") as statements:
        for payload in (body, resent):
            _ok(client.post("/api/v1/ingest/sessions/", payload, "application/json",
                            headers=headers))  # fmt: skip
    # The actions' own write was seen and checked: COPY on PostgreSQL, INSERT elsewhere.
    verb = "COPY" if connection.vendor == "postgresql" else "INSERT INTO"
    written = [sql for sql in statements if sql.startswith(f'{verb} "{UserAction._meta.db_table}"')]
    assert len(written) == 2, statements
    stored = UserAction.objects.filter(session__session_id="s-new")
    assert sorted(stored.values_list("seq", "application_id")) == [
        (0, world["shop"].pk),
        (1, world["shop"].pk),
    ]


def test_browser_beacon(world: dict[str, Any]) -> None:
    beacon = {
        "sessions": [
            {"session_id": "AbCdEfGhIjKlMnOpQrStUv", "started_at": "2026-11-30T10:00:00Z",
             "actions": [{"seq": 0, "type": "click", "name": "Add to cart",
                          "url": "https://shop.example.com/p/1",
                          "timestamp": "2026-11-30T10:00:05Z"}]},
        ]
    }  # fmt: skip
    import json

    with routed("POST /api/v1/rum/<key>/beacons/"):
        _ok(
            Client().post(
                f"/api/v1/rum/{world['shop'].beacon_key}/beacons/",
                data=json.dumps(beacon),
                content_type="text/plain",
                headers={"Origin": ORIGIN},
            ),
            200,
            202,
            204,
        )
    assert UserAction.objects.filter(application=world["shop"], type="click").exists()


def test_log_ingest_json_and_otlp(world: dict[str, Any]) -> None:
    from tests.logs.support import log, otlp_record, otlp_request, post_json, post_otlp

    client = Client()
    with routed("POST /api/v1/ingest/logs/ and /v1/logs"):
        _ok(post_json(client, world["shop_token"], {"logs": [log(session_id="jane-1")]}))
        body = otlp_request(otlp_record()).SerializeToString()
        _ok(post_otlp(client, world["shop_token"], body, content_type="application/x-protobuf"))


# --- jobs, commands, services -----------------------------------------------------------


def test_retention_run_and_command(world: dict[str, Any]) -> None:
    from maintenance.retention import retention_run

    later = timezone.now() + timedelta(days=4000)
    with routed("retention"):
        retention_run(started_by="test", dry_run=True, now=later)
        call_command("purge_expired_sessions", stdout=StringIO())
        run = retention_run(started_by="test", now=later)
    assert not UserSession.objects.exists()
    assert not UserAction.objects.exists()
    assert not LogRecord.objects.exists()
    assert run.deleted["sessions"]["shop"] == 2


def test_data_subject_export_and_erasure(world: dict[str, Any]) -> None:
    from tests.data_subjects.planted import client_for, create, officer

    first, second = client_for(officer("privacy")), client_for(officer("privacy2"))
    url = "/api/v1/data-subject-requests/"
    with routed("data-subject export and erasure"):
        export = _ok(create(first, "export", tag=JANE), 201).json()
        _ok(first.get(f"{url}{export['id']}/export/"))
        erase = _ok(create(first, "erase", tag=JANE), 201).json()
        _ok(second.post(f"{url}{erase['id']}/approve/"))
    assert not UserSession.objects.filter(user_id__isnull=False, session_id="jane-1").exists()


def test_data_subject_anonymisation_and_who_looked(world: dict[str, Any]) -> None:
    from tests.data_subjects.planted import client_for, create, officer

    first, second = client_for(officer("privacy")), client_for(officer("privacy2"))
    console = Client()
    console.force_login(officer("privacy3"))
    with routed("data-subject anonymisation and the console's who looked"):
        anonymise = _ok(create(first, "anonymise", tag=JANE), 201).json()
        _ok(second.post(f"/api/v1/data-subject-requests/{anonymise['id']}/approve/"))
        _ok(console.post("/dashboard/privacy/who/", {"email": JANE}))
    assert not UserSession.objects.filter(user_tag=JANE).exists()
    assert UserSession.objects.filter(session_id="jane-1").exists()  # kept, anonymised


def test_an_action_made_directly_finds_its_partition_time_within_the_application(
    world: dict[str, Any],
) -> None:
    jane: UserSession = world["jane"]
    with routed("UserAction.objects.create()"):
        made = UserAction.objects.create(
            application=jane.application, session=jane, seq=9, type="click",
            timestamp=jane.started_at,
        )  # fmt: skip
    assert made.partition_time == jane.started_at


def test_remask_job(world: dict[str, Any]) -> None:
    from jobs.services import job_start
    from permissions.audit import COMMAND_METHOD, Actor
    from sessions_app.applications import application_configure

    application_configure(
        application=world["shop"],
        actor=Actor(username="test", method=COMMAND_METHOD, path="test"),
        mask_user_actions=True,
        ip_masking="all",
    )
    with routed("re-masking"):
        job = job_start(
            kind="remask",
            params={"application": None, "dry_run": False},
            user="operator",
            run_now=True,
        )
    assert job.state == "done", job.error if hasattr(job, "error") else job


@pytest.mark.parametrize("keyring", ["blind-index", "pseudonym", "encryption"])
def test_key_rotation(world: dict[str, Any], keyring: str) -> None:
    with routed(f"key rotation ({keyring})"):
        call_command("rotate_keys", "--keyring", keyring, stdout=StringIO())


def test_deletes_of_a_session_of_sessions_and_of_an_application(world: dict[str, Any]) -> None:
    jane: UserSession = world["jane"]
    with routed("session.delete()"):
        _, counts = UserSession.objects.get(application=jane.application, pk=jane.pk).delete()
    assert counts == {"sessions_app.UserAction": 3, "sessions_app.UserSession": 1}
    with routed("QuerySet.delete()"):
        UserSession.objects.filter(application=world["shop"]).delete()
    assert not UserAction.objects.filter(application=world["shop"]).exists()
    with routed("Application.delete()"):
        world["other"].delete()
    assert not UserSession.objects.exists()
    assert not UserAction.objects.exists()


def test_seed_demo() -> None:
    with routed("seed_demo"):
        call_command("seed_demo", "--sessions", "4", "--force", stdout=StringIO())
