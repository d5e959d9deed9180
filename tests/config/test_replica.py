"""Reads from a streaming replica (config/replica.py, docs/operations.md "Read replica").

Three kinds of test:

* the settings, read by real processes as an operator starts them (like
  ``test_pooling``), and the router's rule without a replica: every run;
* ``.ci/run`` gives the PostgreSQL run a replica: every run (so the replica tests
  below cannot drop out of CI unnoticed);
* routing, the lag fallback and the revocation rule against a real primary and
  a real streaming replica (marker ``replica``): ``TEST_DATABASE_REPLICA_URL``
  names the replica, ``tests/settings.py`` adds the alias, whose ``MIRROR``
  makes it read the replica's copy of the test database the primary creates
  (replication copies ``CREATE DATABASE`` too). The data must be committed to
  reach the replica: these tests run outside a test transaction. Pausing replay
  needs ``EXECUTE`` on ``pg_wal_replay_pause``/``_resume``, which
  ``.ci/replica.sh`` grants the application's role.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config import replica
from config.replica import REPLICA, ReplicaRouter, ReplicaScopeMiddleware, allow_replica_reads
from logs.models import LogRecord
from permissions.audit import command_actor
from permissions.models import AuditRecord
from permissions.services import grant_fieldset, revoke_record_access
from sessions_app.models import Application, UserAction, UserSession
from sessions_app.queries import SessionQuery
from sessions_app.reads import Reader
from tests.config.settings_process import PROJECT, run_with_settings
from tests.factories import make_application, stored_log, stored_session
from tests.permissions.principals import SENSITIVE, api_client, reader

PRIMARY = "postgres://rumvault@127.0.0.1:6432/rumvault"  # never connected to here
STANDBY = "postgres://rumvault@standby.internal:5433/rumvault"  # nor here
SHOW = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'aliases': sorted(settings.DATABASES), "
    "'replica': settings.DATABASES.get('replica'), 'routers': settings.DATABASE_ROUTERS, "
    "'lag': settings.DATABASE_REPLICA_MAX_LAG_SECONDS}))"
)


def django_settings(**variables: str) -> subprocess.CompletedProcess[str]:
    return run_with_settings(SHOW, **variables)


# --- settings ----------------------------------------------------------------------------


def test_without_a_replica_url_there_is_one_database_and_no_router() -> None:
    result = django_settings(DATABASE_URL=PRIMARY)
    shown = json.loads(result.stdout)
    assert (shown["aliases"], shown["routers"]) == (["default"], [])


def test_a_replica_url_adds_the_alias_with_the_primarys_connection_handling() -> None:
    result = django_settings(
        DATABASE_URL=PRIMARY,
        DATABASE_REPLICA_URL=STANDBY,
        DATABASE_REPLICA_MAX_LAG_SECONDS="2.5",
        DATABASE_TRANSACTION_POOLING="true",
    )
    shown = json.loads(result.stdout)
    alias = shown["replica"]
    assert shown["aliases"] == ["default", "replica"]
    assert shown["routers"] == ["config.replica.ReplicaRouter"]
    assert shown["lag"] == 2.5
    assert (alias["HOST"], alias["PORT"], alias["NAME"]) == ("standby.internal", 5433, "rumvault")
    # Pooling, connection age, health checks and the timeout: as the primary's.
    assert alias["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert (alias["CONN_MAX_AGE"], alias["CONN_HEALTH_CHECKS"]) == (60, True)
    assert alias["OPTIONS"] == {"connect_timeout": 3}
    assert alias["TEST"]["MIRROR"] == "default"


def test_a_replica_is_refused_on_sqlite(tmp_path: Path) -> None:
    result = django_settings(
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", DATABASE_REPLICA_URL=STANDBY
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL is for PostgreSQL" in result.stderr


def test_a_negative_lag_bound_is_refused() -> None:
    result = django_settings(DATABASE_URL=PRIMARY, DATABASE_REPLICA_MAX_LAG_SECONDS="-1")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_MAX_LAG_SECONDS must be 0 or more" in result.stderr


# --- the rule, without a replica ------------------------------------------------------------


def in_request(read: Callable[[], Any]) -> Any:
    """``read`` inside a request's scope, as the middleware opens it."""
    answer: list[Any] = []

    def view(request: HttpRequest) -> HttpResponse:
        answer.append(read())
        return HttpResponse()

    ReplicaScopeMiddleware(view)(HttpRequest())
    return answer[0]


def allowed_then(model: type[Any], before: Callable[[], None] = lambda: None) -> bool:
    def read() -> bool:
        allow_replica_reads()
        before()
        return replica.may_read_replica(model)

    return bool(in_request(read))


def test_only_sessions_actions_and_logs_may_be_read_from_the_replica() -> None:
    assert allowed_then(UserSession)
    assert allowed_then(UserAction)
    assert allowed_then(LogRecord)
    for model in (Application, User, AuditRecord):
        assert not allowed_then(model)


def test_nothing_reads_the_replica_unless_the_read_layer_allowed_it_in_this_request() -> None:
    assert not replica.may_read_replica(UserSession)  # no request at all: a command, a job
    assert not in_request(lambda: replica.may_read_replica(UserSession))  # not allowed
    allowed_then(UserSession)
    # The next request starts closed again, in the same thread.
    assert not in_request(lambda: replica.may_read_replica(UserSession))


def test_after_a_write_the_request_reads_the_primary() -> None:
    def write() -> None:
        ReplicaRouter().db_for_write(AuditRecord)

    assert not allowed_then(UserSession, before=write)


@pytest.mark.django_db
def test_inside_a_transaction_the_request_reads_the_primary() -> None:
    # (The test itself runs in one; the rule looks at the connection's atomic block.)
    assert not allowed_then(UserSession)


def test_the_replica_is_never_migrated() -> None:
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "sessions_app") is False
    assert router.allow_migrate("default", "sessions_app") is None


# --- CI ---------------------------------------------------------------------------------------


def test_ci_gives_the_postgresql_run_a_streaming_replica() -> None:
    run = (PROJECT / ".ci" / "run").read_text()
    assert "source .ci/replica.sh" in run
    assert re.search(r"^replica_start \|\| exit 1$", run, re.MULTILINE)
    assert re.search(
        r'^DATABASE_URL="\$POSTGRES_URL" TEST_DATABASE_REPLICA_URL="\$REPLICA_URL" make test',
        run,
        re.MULTILINE,
    )


# --- a real primary and a real replica ---------------------------------------------------------

REPLICA_TABLES = {"sessions_app_usersession", "sessions_app_useraction", "logs_logrecord"}
_TABLE = re.compile(r'(?:FROM|JOIN)\s+"(\w+)"')
SEARCH = "/api/v1/sessions/search/"
JANE = "jane.doe@example.com"


def tables(capture: CaptureQueriesContext) -> set[str]:
    return {table for query in capture.captured_queries for table in _TABLE.findall(query["sql"])}


@contextmanager
def captured() -> Iterator[tuple[CaptureQueriesContext, CaptureQueriesContext]]:
    """The queries the primary and the replica received, in that order."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        yield primary, standby


def sql(alias: str, statement: str, parameters: tuple[Any, ...] = ()) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchone()[0]


def eventually(condition: Callable[[], bool], *, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the replica did not get there in time"
        time.sleep(0.05)


def caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    written = sql("default", "SELECT pg_current_wal_lsn()::text")
    eventually(lambda: sql(REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)))


@contextmanager
def replay_paused() -> Iterator[None]:
    """The replica keeps receiving the primary's WAL but applies none of it."""
    sql(REPLICA, "SELECT pg_wal_replay_pause()::text")
    try:
        eventually(lambda: sql(REPLICA, "SELECT pg_get_wal_replay_pause_state()") == "paused")
        yield
    finally:
        sql(REPLICA, "SELECT pg_wal_replay_resume()::text")


def received_unreplayed() -> bool:
    return bool(sql(REPLICA, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"))


@pytest.fixture
def routed(settings: Any) -> Iterator[None]:
    """The router installed as ``DATABASE_REPLICA_URL`` installs it, a replica caught up."""
    assert sql(REPLICA, "SELECT pg_is_in_recovery()"), "TEST_DATABASE_REPLICA_URL is no standby"
    settings.DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 60
    replica.forget_replica_check()
    yield
    replica.forget_replica_check()


class Shop:
    """Two applications, a reader of both with the sensitive fieldset on ``shop``,
    a session of Jane's with actions and a log record in each."""

    def __init__(self) -> None:
        self.shop = make_application("shop", reveal_requires_reason=True)
        self.outlet = make_application("outlet")
        self.agent = reader(
            "agent", applications=(self.shop, self.outlet), fieldset_on=(self.shop,)
        )
        self.session = stored_session(self.shop, user_tag=JANE, actions=3, error_count=1)
        self.elsewhere = stored_session(self.outlet, user_tag=JANE, actions=2)
        stored_log(self.shop, session_ref=self.session.session_id)
        stored_log(self.outlet)
        self.api = api_client(self.agent)
        self.browser = Client()
        self.browser.force_login(self.agent)
        caught_up()

    def listed(self) -> set[int]:
        response = self.api.get("/api/v1/sessions/", HTTP_ACCEPT="application/json")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def shop(routed: None) -> Shop:
    return Shop()


REPLICA_DB = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytest.mark.replica
@REPLICA_DB
def test_session_action_and_log_reads_of_the_api_and_dashboard_go_to_the_replica(
    shop: Shop,
) -> None:
    pk = shop.session.pk
    reads: dict[str, Callable[[], Any]] = {
        "API list": lambda: shop.api.get("/api/v1/sessions/?format=json"),
        "API list, CSV": lambda: shop.api.get("/api/v1/sessions/?format=csv"),
        "API search": lambda: shop.api.post(SEARCH, {"user_tag": JANE}, format="json"),
        "API detail": lambda: shop.api.get(f"/api/v1/sessions/{pk}/"),
        "API logs": lambda: shop.api.get("/api/v1/logs/?format=json"),
        "dashboard search": lambda: shop.browser.post("/dashboard/", {"email": JANE}),
        "dashboard list": lambda: shop.browser.get("/dashboard/?application=outlet"),
        "dashboard detail": lambda: shop.browser.get(f"/dashboard/sessions/{pk}/"),
    }
    # A list page reads sessions alone (their summaries are kept on them); a log
    # record's session is found from sessions and actions as it is read.
    pages = {"sessions_app_usersession"}
    expected = {name: REPLICA_TABLES for name in ("API detail", "API logs", "dashboard detail")}
    for name, read in reads.items():
        with captured() as (primary, standby):
            response = read()
        assert response.status_code == 200, (name, response.content[:300])
        # Sessions, actions, logs: from the replica, and nothing else from there.
        assert tables(standby) == expected.get(name, pages), name
        assert not tables(primary) & REPLICA_TABLES, name
        # Grants, fieldsets and the audit trail: the primary's. A request whose grants
        # are cached reads, on the primary, the policy generation that says they hold.
        grants = {"permissions_applicationuserobjectpermission", "permissions_policygeneration"}
        assert tables(primary) & grants, name


@pytest.mark.replica
@REPLICA_DB
def test_ingest_a_reveal_and_reads_in_a_transaction_never_read_the_replica(shop: Shop) -> None:
    with captured() as (_, standby):
        revealed = shop.api.post(
            f"/api/v1/sessions/{shop.session.pk}/reveal/", {"reason": "ticket 4711"}, format="json"
        )
        shop.browser.post(
            f"/dashboard/sessions/{shop.session.pk}/reveal/", {"reason": "ticket 4712"}
        )
        stored_session(shop.outlet, actions=1)  # ingest's own path
    assert revealed.status_code == 201, revealed.content
    assert not tables(standby)

    def list_in_a_transaction() -> list[dict[str, Any]]:
        reading = Reader(user=shop.agent, actor=command_actor("test"))
        with transaction.atomic():
            return list(reading.sessions(SessionQuery()))

    with captured() as (primary, standby):
        assert len(in_request(list_in_a_transaction)) == 3
    assert "sessions_app_usersession" in tables(primary)
    assert not tables(standby)


@pytest.mark.replica
@REPLICA_DB
def test_a_lagging_replica_falls_back_to_the_primary(shop: Shop, settings: Any) -> None:
    with replay_paused():
        newer = stored_session(shop.shop, actions=1)
        eventually(received_unreplayed)
        # Behind, within the bound (60 s): the replica answers, without the newer session.
        with captured() as (primary, standby):
            assert shop.listed() == {shop.session.pk, shop.elsewhere.pk}
        assert "sessions_app_usersession" in tables(standby)
        # Beyond the bound: the primary answers, with it.
        settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0.5
        eventually(lambda: (replica.replica_lag() or 0) > 0.5)
        replica.forget_replica_check()
        with captured() as (primary, standby):
            assert shop.listed() == {shop.session.pk, shop.elsewhere.pk, newer.pk}
        assert not tables(standby)
        assert "sessions_app_usersession" in tables(primary)
    # Caught up again: back to the replica, which now has it.
    caught_up()
    eventually(lambda: replica.replica_lag() == 0)
    replica.forget_replica_check()
    with captured() as (primary, standby):
        assert newer.pk in shop.listed()
    assert "sessions_app_usersession" in tables(standby)


@pytest.mark.replica
@REPLICA_DB
def test_an_idle_caught_up_replica_has_no_lag(shop: Shop) -> None:
    # Its last replayed transaction gets older while nothing is written; it is not behind.
    caught_up()
    time.sleep(1.2)
    age = "SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
    assert sql(REPLICA, age) > 1
    # (eventually: a checkpoint's WAL in flight is "received, not replayed" for a moment)
    eventually(lambda: replica.replica_lag() == 0)


@pytest.mark.replica
@REPLICA_DB
def test_a_revocation_applies_at_the_next_request_while_the_replica_lags(shop: Shop) -> None:
    detail = f"/api/v1/sessions/{shop.session.pk}/"
    assert shop.api.get(detail).status_code == 200
    with replay_paused():
        revoke_record_access(user=shop.agent, application=shop.shop)
        grant_fieldset(fieldset_name=SENSITIVE, user=shop.agent, application=shop.outlet)
        eventually(received_unreplayed)
        # The replica still holds the grant, and is within the bound...
        assert replica.replica_lag() is not None
        assert replica.replica_is_fresh()
        grants = (
            'SELECT count(*) FROM "permissions_applicationuserobjectpermission" '
            'WHERE "user_id" = %s'
        )
        assert sql(REPLICA, grants, (shop.agent.pk,)) == 3
        assert sql("default", grants, (shop.agent.pk,)) == 3  # one revoked, one granted
        # ...yet the next request reads grants from the primary: shop is no longer readable,
        # while its sessions' reads still go to the replica.
        with captured() as (_, standby):
            refused = shop.api.get(detail)
            listed = shop.listed()
        assert refused.status_code == 404
        assert listed == {shop.elsewhere.pk}
        assert "sessions_app_usersession" in tables(standby)
        # The new grant applies at once too: outlet's sensitive fields are shown.
        row = shop.api.get(f"/api/v1/sessions/{shop.elsewhere.pk}/").json()
        assert row["user_tag"] == JANE


@pytest.mark.replica
@REPLICA_DB
def test_an_unreachable_replica_is_logged_without_secrets_and_the_primary_reads(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    standby = connections[REPLICA]
    saved = dict(standby.settings_dict)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    standby.close()
    standby.settings_dict.update(PORT=closed_port, PASSWORD="replica-secret-7f3a")
    replica.forget_replica_check()
    try:
        with (
            caplog.at_level("WARNING", logger="rumvault.replica"),
            CaptureQueriesContext(connections["default"]) as primary,
        ):
            assert shop.listed() == {shop.session.pk, shop.elsewhere.pk}
            assert shop.listed() == {shop.session.pk, shop.elsewhere.pk}
        assert "sessions_app_usersession" in tables(primary)
        # Once: the second request did not try the replica again (UNREACHABLE_RETRY_SECONDS).
        warnings = [r for r in caplog.records if r.name == "rumvault.replica"]
        assert [r.getMessage() for r in warnings] == [
            "read replica unavailable, reading the primary"
        ]
        assert warnings[0].error == "OperationalError"  # type: ignore[attr-defined]
        assert "replica-secret-7f3a" not in caplog.text
        assert str(closed_port) not in caplog.text
    finally:
        standby.close()
        standby.settings_dict.clear()
        standby.settings_dict.update(saved)
        replica.forget_replica_check()
