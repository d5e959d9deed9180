"""Monthly partitions of actions and log records (PostgreSQL), and code that does not care.

On PostgreSQL the test database is made by the migrations, so every other test
of the suite runs on the partitioned tables too (ingest, reads, erasure, the
query plans). Here: the partitions the migrations make, months made ahead
(idempotently), rows outside every month landing in the default partition,
retention dropping whole months only where every application's retention
allows it; on SQLite, the same calls do nothing and the tables are plain.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from logs.models import LogRecord
from maintenance.partitions import (
    ACTIONS,
    LOG_RECORDS,
    TABLES,
    PartitionedTable,
    add_months,
    attach_month,
    default_name,
    drop_expired_partitions,
    month_start,
    partition_name,
    partition_table,
    partitions,
    partitions_ahead,
    unpartition_table,
)
from maintenance.retention import retention_run
from sessions_app.models import UserAction, UserSession
from sessions_app.services import session_ingest
from tests.factories import make_application, stored_log, stored_session

pytestmark = pytest.mark.django_db
# SQLite keeps the plain tables: these are deselected there (tests/conftest.py).
postgresql_only = pytest.mark.postgres


def where(spec: PartitionedTable, pk: int) -> str:
    """The partition holding row ``pk`` of ``spec``'s table."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {spec.table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def month_names(spec: PartitionedTable) -> set[str]:
    return {p.name for p in partitions(connection, spec)}


# --- both databases -------------------------------------------------------------------------


def _beacon(started_at: datetime, seqs: range) -> dict[str, object]:
    actions = [{"seq": seq, "type": "click", "timestamp": started_at.isoformat()} for seq in seqs]
    return {"sessions": [{"session_id": "s-1", "started_at": started_at.isoformat(),
                          "actions": actions}]}  # fmt: skip


def test_a_sessions_actions_share_one_partition_time_never_before_its_start() -> None:
    shop = make_application("shop")
    first = timezone.now() - timedelta(days=3)
    session_ingest(application=shop, payload=_beacon(first, range(2)))
    # A resend that starts earlier moves the session's start, not its actions' key.
    session_ingest(application=shop, payload=_beacon(first - timedelta(days=40), range(4)))

    session = UserSession.objects.get()
    assert session.started_at == first - timedelta(days=40)
    times = set(UserAction.objects.values_list("partition_time", flat=True))
    assert times == {first}
    assert UserAction.objects.count() == 4


def test_a_session_without_actions_gives_later_ones_its_start_then() -> None:
    shop = make_application("shop")
    start = timezone.now() - timedelta(days=3)
    session_ingest(application=shop, payload=_beacon(start, range(0)))
    session_ingest(application=shop, payload=_beacon(start - timedelta(days=1), range(2)))

    assert set(UserAction.objects.values_list("partition_time", flat=True)) == {
        start - timedelta(days=1)
    }


def test_actions_made_directly_get_their_sessions_partition_time() -> None:
    session = stored_session(make_application("shop"), actions=1)
    stored = UserAction.objects.get()
    application_id = session.application_id
    made = UserAction.objects.create(
        session=session,
        application_id=application_id,
        seq=7,
        type="click",
        timestamp=session.started_at,
    )
    (bulk,) = UserAction.objects.bulk_create(
        [
            UserAction(
                session=session,
                application_id=application_id,
                seq=8,
                type="click",
                timestamp=session.started_at,
            )
        ]
    )
    assert made.partition_time == bulk.partition_time == stored.partition_time


@pytest.mark.sqlite
def test_on_sqlite_the_tables_are_plain_and_the_jobs_do_nothing() -> None:
    stored_session(make_application("shop"), actions=1)
    now = timezone.now()
    assert partitions_ahead(now=now) == {"actions": [], "log_records": []}
    assert drop_expired_partitions(now=now + timedelta(days=4000)) == {
        "actions": [],
        "log_records": [],
    }
    assert all(partitions(connection, spec) == [] for spec in TABLES)
    out = io.StringIO()
    call_command("partitions", stdout=out)
    assert "sessions_app_useraction: not partitioned" in out.getvalue()


# --- PostgreSQL ------------------------------------------------------------------------------


@postgresql_only
@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.label)
def test_the_migrations_partition_the_tables_by_month_ahead(
    spec: PartitionedTable, settings: object
) -> None:
    names = month_names(spec)
    this_month = month_start(timezone.now())
    ahead = settings.RUMVAULT_PARTITION_MONTHS_AHEAD  # type: ignore[attr-defined]
    for months in range(ahead + 1):
        assert partition_name(spec, add_months(this_month, months)) in names
    assert default_name(spec) in names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [spec.table],
        )
        assert {name for (name,) in cursor.fetchall()} == {"id", spec.key}


@postgresql_only
def test_the_job_makes_months_ahead_once() -> None:
    now = timezone.now()
    created = partitions_ahead(now=now, months_ahead=6)
    expected = [partition_name(ACTIONS, add_months(month_start(now), n)) for n in (4, 5, 6)]
    assert created["actions"] == expected
    assert len(created["log_records"]) == 3
    assert partitions_ahead(now=now, months_ahead=6) == {"actions": [], "log_records": []}
    out = io.StringIO()
    call_command("partitions", "--months-ahead", "6", stdout=out)
    assert "created" not in out.getvalue()
    assert "0 row(s) in the default partition" in out.getvalue()


@postgresql_only
def test_rows_outside_every_month_land_in_the_default_partition() -> None:
    shop = make_application("shop", retention_days=3650)
    for started_at in (datetime(1990, 1, 1, tzinfo=UTC),
                       datetime(2200, 1, 1, tzinfo=UTC)):  # fmt: skip
        session = stored_session(shop, started_at=started_at, actions=2)
        log = stored_log(shop, time=started_at)
        assert {where(ACTIONS, a.pk) for a in session.actions.all()} == {default_name(ACTIONS)}
        assert where(LOG_RECORDS, log.pk) == default_name(LOG_RECORDS)
    # Read back like any row.
    assert UserAction.objects.count() == 4
    assert LogRecord.objects.filter(time__year=2200).count() == 1


@postgresql_only
def test_the_job_moves_rows_kept_by_retention_out_of_the_default_partition() -> None:
    shop = make_application("shop", retention_days=90)
    now = timezone.now()
    earlier = now - timedelta(days=40)  # always an earlier month, made by no migration
    session = stored_session(shop, started_at=earlier, actions=2)
    log = stored_log(shop, time=earlier)
    ancient = stored_log(shop, time=now - timedelta(days=400))  # past retention: stays
    month = partition_name(ACTIONS, earlier)
    assert month not in month_names(ACTIONS)
    assert where(ACTIONS, session.actions.first().pk) == default_name(ACTIONS)

    created = partitions_ahead(now=now)

    assert created == {"actions": [month], "log_records": [partition_name(LOG_RECORDS, earlier)]}
    assert {where(ACTIONS, a.pk) for a in session.actions.all()} == {month}
    assert where(LOG_RECORDS, log.pk) == partition_name(LOG_RECORDS, earlier)
    assert where(LOG_RECORDS, ancient.pk) == default_name(LOG_RECORDS)
    assert session.actions.count() == 2


@postgresql_only
def test_retention_drops_a_month_only_when_every_application_is_past_it() -> None:
    short = make_application("short", retention_days=30)
    long = make_application("long", retention_days=60)
    now = timezone.now()
    old, recent = now - timedelta(days=200), now - timedelta(days=45)
    for moment in (old, recent):
        for spec in TABLES:
            attach_month(connection, spec, month_start(moment))
    old_sessions = [stored_session(app, started_at=old, actions=2) for app in (short, long)]
    for app in (short, long):
        stored_log(app, time=old)
    short_recent = stored_session(short, started_at=recent, actions=2)
    long_recent = stored_session(long, started_at=recent, actions=2)
    stored_log(short, time=recent)
    kept_log = stored_log(long, time=recent)
    old_months = {partition_name(spec, old) for spec in TABLES}
    recent_months = {partition_name(spec, recent) for spec in TABLES}

    dry = retention_run(started_by="cron", dry_run=True, now=now)
    assert set(dry.deleted["partitions"]) == old_months
    assert old_months <= month_names(ACTIONS) | month_names(LOG_RECORDS)

    run = retention_run(started_by="cron", now=now)

    # The old month: past both retentions, dropped whole; its rows counted per application.
    assert set(run.deleted["partitions"]) == old_months
    assert not old_months & (month_names(ACTIONS) | month_names(LOG_RECORDS))
    # The recent one holds rows "long" keeps: not dropped; "short"'s rows deleted in batches.
    assert recent_months <= month_names(ACTIONS) | month_names(LOG_RECORDS)
    assert run.deleted["log_records"] == {"short": 2, "long": 1}
    assert run.deleted["sessions"] == {"short": 2, "long": 1}
    assert not UserSession.objects.filter(pk__in=[s.pk for s in old_sessions]).exists()
    assert not UserSession.objects.filter(pk=short_recent.pk).exists()
    assert list(UserSession.objects.values_list("pk", flat=True)) == [long_recent.pk]
    assert UserAction.objects.count() == 2
    assert list(LogRecord.objects.values_list("pk", flat=True)) == [kept_log.pk]


@postgresql_only
def test_no_month_is_dropped_while_an_application_keeps_it() -> None:
    make_application("forever", retention_days=3650)
    now = timezone.now()
    old = now - timedelta(days=200)
    for spec in TABLES:
        attach_month(connection, spec, month_start(old))
    assert drop_expired_partitions(now=now) == {"actions": [], "log_records": []}
    assert partition_name(ACTIONS, old) in month_names(ACTIONS)


@postgresql_only
def test_a_table_with_rows_is_converted_both_ways() -> None:
    shop = make_application("shop", retention_days=3650)
    now = timezone.now()
    moments = [now - timedelta(days=100), now, datetime(1980, 5, 1, tzinfo=UTC)]
    sessions = [stored_session(shop, started_at=moment, actions=2) for moment in moments]
    logs = [stored_log(shop, time=moment) for moment in moments]
    before = sorted(UserAction.objects.values_list("pk", "session_id", "seq", "partition_time"))

    for spec in TABLES:
        unpartition_table(connection, spec)
        assert partitions(connection, spec) == []
        partition_table(connection, spec, now=now, months_ahead=1)

    assert sorted(UserAction.objects.values_list("pk", "session_id", "seq", "partition_time")) == (
        before
    )
    assert where(ACTIONS, sessions[0].actions.first().pk) == partition_name(ACTIONS, moments[0])
    assert where(LOG_RECORDS, logs[2].pk) == default_name(LOG_RECORDS)
    assert partition_name(LOG_RECORDS, add_months(month_start(now), 1)) in month_names(LOG_RECORDS)
    # Ids go on from the same sequence, and ingest works on the converted tables.
    later = stored_session(shop, actions=1)
    assert later.actions.get().pk > max(pk for pk, *_ in before)
    assert stored_log(shop).pk > max(log.pk for log in logs)
