"""Monthly partitions of the actions and log records on PostgreSQL (``docs/scaling.md``).

Native declarative partitioning (``PARTITION BY RANGE``), managed by the
project itself:

* the migrations ``sessions_app.0012`` and ``logs.0002`` turn the plain tables
  into partitioned ones (``partition_table``), moving their rows;
* ``ensure_partitions`` creates the month partitions from the current month to
  ``RUMVAULT_PARTITION_MONTHS_AHEAD`` months ahead, and moves rows that fell
  into the default partition into a month of their own (within retention);
  a daily django-q2 schedule (migration ``maintenance.0003``) and
  ``manage.py partitions`` run it;
* ``drop_expired_partitions`` (a step of every retention run) detaches and
  drops each month that ended before the retention cutoff of every
  application; what is left past retention is deleted in batches as before.

Every table has a default partition, so an insert never fails for want of a
month. On SQLite, and on a PostgreSQL table that is not partitioned, every
function here does nothing: the tables stay plain and the code above does not
care which.

This module imports no model (migrations import it): tables are named by
their database names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.utils.timezone import now as django_now

logger = logging.getLogger(__name__)

# How long a partition step waits for the lock on a busy table before it gives
# up (for this run; the rows are then handled by the batched deletes, and the
# next run tries again) instead of queueing every reader and writer behind it.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class PartitionedTable:
    """A table partitioned by month on ``key``, an immutable timestamp known at insert."""

    label: str
    table: str
    key: str
    # The column naming the application (directly or through a join), for counts.
    count_sql: str


ACTIONS = PartitionedTable(
    label="actions",
    table="sessions_app_useraction",
    key="partition_time",
    # Actions name their application since sessions_app.0013 (drop_partition runs
    # after every migration, so the column is always there).
    count_sql=(
        "SELECT a.slug, count(*) FROM {partition} r"
        " JOIN sessions_app_application a ON a.id = r.application_id GROUP BY a.slug"
    ),
)
LOG_RECORDS = PartitionedTable(
    label="log_records",
    table="logs_logrecord",
    key="time",
    count_sql=(
        "SELECT a.slug, count(*) FROM {partition} r"
        " JOIN sessions_app_application a ON a.id = r.application_id GROUP BY a.slug"
    ),
)
TABLES = (ACTIONS, LOG_RECORDS)


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    # The month's first instant (UTC); None for the default partition.
    start: datetime | None

    @property
    def end(self) -> datetime | None:
        return None if self.start is None else add_months(self.start, 1)


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, months: int) -> datetime:
    index = month.year * 12 + month.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def months(first: datetime, last: datetime) -> Iterator[datetime]:
    """Every month from ``first``'s to ``last``'s, both included."""
    month, last = month_start(first), month_start(last)
    while month <= last:
        yield month
        month = add_months(month, 1)


def partition_name(spec: PartitionedTable, month: datetime) -> str:
    return f"{spec.table}_p{month:%Y_%m}"


def default_name(spec: PartitionedTable) -> str:
    return f"{spec.table}_default"


_MONTH = re.compile(r"_p(\d{4})_(\d{2})$")


def _ddl(cursor: CursorWrapper, sql: str, params: list[datetime]) -> None:
    """A schema statement with its values written in as literals: PostgreSQL binds
    parameters of queries only, and psycopg binds them on the server when prepared
    statements are on (``DATABASE_PREPARED_STATEMENTS``)."""
    cursor.execute(cursor.db.ops.compose_sql(sql, params))


def is_partitioned(connection: BaseDatabaseWrapper, spec: PartitionedTable) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [_quote(spec.table)]
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions(connection: BaseDatabaseWrapper, spec: PartitionedTable) -> list[Partition]:
    """The table's partitions, months in order, then the default; [] if not partitioned."""
    if not is_partitioned(connection, spec):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relpartbound IS NOT NULL"
            " AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s)",
            [_quote(spec.table)],
        )
        rows = cursor.fetchall()
    found: list[Partition] = []
    default: list[Partition] = []
    for name, is_default in rows:
        if is_default:
            default.append(Partition(name, None))
        elif match := _MONTH.search(name):
            found.append(Partition(name, datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda p: p.start or datetime.min.replace(tzinfo=UTC)) + default


# --- creating months ahead ----------------------------------------------------------------


def ensure_partitions(
    connection: BaseDatabaseWrapper,
    spec: PartitionedTable,
    *,
    now: datetime,
    months_ahead: int,
    keep_since: datetime | None = None,
) -> list[str]:
    """Create the month partitions from ``now``'s month to ``months_ahead`` later; returns
    the names created. Idempotent.

    Rows in the default partition whose month lies between ``keep_since`` (the
    oldest time any application still keeps; ``None``: ``now``) and the last month
    ahead get a partition of their month too, and move into it. What stays in the
    default partition (older, or further ahead) is logged: it is read and
    deleted like any row, only not dropped with a month.
    """
    if not is_partitioned(connection, spec):
        return []
    last = add_months(month_start(now), months_ahead)
    wanted = set(months(now, last))
    first = month_start(keep_since or now)
    wanted |= {m for m in _default_months(connection, spec) if first <= m <= last}
    existing = {p.start for p in partitions(connection, spec)}
    created = []
    for month in sorted(wanted - existing):
        if attach_month(connection, spec, month):
            created.append(partition_name(spec, month))
    left = default_rows(connection, spec)
    if left:
        logger.warning(
            "%s: %d row(s) in the default partition, outside the months kept",
            spec.table,
            left,
            extra={"count": left},
        )
    return created


def _default_months(connection: BaseDatabaseWrapper, spec: PartitionedTable) -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', {_quote(spec.key)} AT TIME ZONE 'UTC')"
            f" FROM {_quote(default_name(spec))}"
        )
        return [value.replace(tzinfo=UTC) for (value,) in cursor.fetchall()]


def default_rows(connection: BaseDatabaseWrapper, spec: PartitionedTable) -> int:
    if not is_partitioned(connection, spec):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_quote(default_name(spec))}")
        (count,) = cursor.fetchone()
    return int(count)


def attach_month(connection: BaseDatabaseWrapper, spec: PartitionedTable, month: datetime) -> bool:
    """Create ``month``'s partition, moving its rows out of the default partition.

    Built beside the table and attached (``ATTACH PARTITION`` locks the table
    only against other schema changes, not against reads and writes; the default
    partition is locked while it is checked). False if a lock was not granted in
    ``LOCK_TIMEOUT``.
    """
    name, default = partition_name(spec, month), default_name(spec)
    start, end = month, add_months(month, 1)
    table, key = _quote(spec.table), _quote(spec.key)
    try:
        with _transaction(connection) as cursor:
            cursor.execute(
                f"CREATE TABLE {_quote(name)}"
                f" (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            # Lets ATTACH skip its scan of the new table; dropped once attached.
            _ddl(
                cursor,
                f"ALTER TABLE {_quote(name)} ADD CONSTRAINT {_quote(name + '_month')}"
                f" CHECK ({key} IS NOT NULL AND {key} >= %s AND {key} < %s)",
                [start, end],
            )
            cursor.execute(
                f"WITH moved AS (DELETE FROM {_quote(default)} WHERE {key} >= %s AND {key} < %s"
                f" RETURNING *) INSERT INTO {_quote(name)} SELECT * FROM moved",
                [start, end],
            )
            _ddl(
                cursor,
                f"ALTER TABLE {table} ATTACH PARTITION {_quote(name)} FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            cursor.execute(f"ALTER TABLE {_quote(name)} DROP CONSTRAINT {_quote(name + '_month')}")
    except _LockNotAvailable:
        logger.warning("%s: lock not granted, %s not created this time", spec.table, name)
        return False
    return True


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dropped:
    name: str
    # Rows per application slug.
    rows: dict[str, int]


def expired_partitions(
    connection: BaseDatabaseWrapper, spec: PartitionedTable, *, cutoff: datetime
) -> list[Partition]:
    """The months that ended at or before ``cutoff``: every row in them is older."""
    return [p for p in partitions(connection, spec) if p.end is not None and p.end <= cutoff]


def drop_partition(
    connection: BaseDatabaseWrapper, spec: PartitionedTable, partition: Partition
) -> Dropped | None:
    """Count the partition's rows per application, detach it and drop it; None if a lock
    was not granted in ``LOCK_TIMEOUT`` (the rows stay, for the batched deletes)."""
    name = _quote(partition.name)
    try:
        with _transaction(connection) as cursor:
            cursor.execute(spec.count_sql.format(partition=name))
            rows = {slug: int(count) for slug, count in cursor.fetchall()}
            # Foreign-key checks still pending for rows written earlier in the same
            # transaction (only in tests) would forbid the drop: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {_quote(spec.table)} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's constraints' own mode
    except _LockNotAvailable:
        logger.warning("%s: lock not granted, %s not dropped this time", spec.table, name)
        return None
    return Dropped(partition.name, rows)


# --- converting a plain table (migrations) --------------------------------------------------


def partition_table(
    connection: BaseDatabaseWrapper, spec: PartitionedTable, *, now: datetime, months_ahead: int
) -> None:
    """Turn the plain table into one partitioned by month on ``spec.key`` (PostgreSQL only).

    Rows move into a partition of their month (months from the oldest row to
    ``months_ahead`` past ``now``'s, at most ten years back; older rows go to the
    default partition). The primary key and every unique constraint gain the
    key (PostgreSQL's rule for partitioned tables; ids still come from one
    sequence, so they stay unique), every other index, check and foreign key is
    made again under its own name. Run inside the migration's transaction.
    """
    if connection.vendor != "postgresql" or is_partitioned(connection, spec):
        return
    _rebuild(connection, spec, partitioned=True, now=now, months_ahead=months_ahead)


def unpartition_table(connection: BaseDatabaseWrapper, spec: PartitionedTable) -> None:
    """The reverse of ``partition_table``: one plain table with the same rows."""
    if not is_partitioned(connection, spec):
        return
    _rebuild(connection, spec, partitioned=False, now=datetime.now(UTC), months_ahead=0)


# A partition further back than this is not made by the conversion: a client's wrong
# clock (a year 1970 timestamp) would otherwise add hundreds of empty months.
MAX_MONTHS_BACK = 121


def _rebuild(
    connection: BaseDatabaseWrapper,
    spec: PartitionedTable,
    *,
    partitioned: bool,
    now: datetime,
    months_ahead: int,
) -> None:
    table, key = spec.table, spec.key
    old = f"{table}_unpartitioned" if partitioned else f"{table}_partitioned"
    with connection.cursor() as cursor:
        constraints, indexes = _definitions(cursor, table)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_quote(table)])
        (old_sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {_quote(table)} RENAME TO {_quote(old)}")
        cursor.execute(
            f"CREATE TABLE {_quote(table)} (LIKE {_quote(old)} INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)"
            + (f" PARTITION BY RANGE ({_quote(key)})" if partitioned else "")
        )
        if partitioned:
            cursor.execute(
                f"SELECT DISTINCT date_trunc('month', {_quote(key)} AT TIME ZONE 'UTC')"
                f" FROM {_quote(old)}"
            )
            last = add_months(month_start(now), months_ahead)
            first = add_months(month_start(now), -MAX_MONTHS_BACK)
            wanted = {m.replace(tzinfo=UTC) for (m,) in cursor.fetchall()}
            wanted = {m for m in wanted if first <= m <= last} | set(months(now, last))
            for month in sorted(wanted):
                _ddl(
                    cursor,
                    f"CREATE TABLE {_quote(partition_name(spec, month))} PARTITION OF"
                    f" {_quote(table)} FOR VALUES FROM (%s) TO (%s)",
                    [month, add_months(month, 1)],
                )
            cursor.execute(
                f"CREATE TABLE {_quote(default_name(spec))} PARTITION OF {_quote(table)} DEFAULT"
            )
        cursor.execute(f"INSERT INTO {_quote(table)} SELECT * FROM {_quote(old)}")
        # The new identity continues where the old one was.
        cursor.execute("SELECT nextval(%s::regclass)", [old_sequence])
        (next_id,) = cursor.fetchone()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in drop_partition
        cursor.execute(f"DROP TABLE {_quote(old)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_quote(table)])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT setval(%s, %s, false)", [sequence, next_id])
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_quote(table + '_id_seq')}")
        for name, kind, columns, definition in constraints:
            if kind in ("p", "u"):
                columns = [c for c in columns if c != key] + ([key] if partitioned else [])
                what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
                definition = f"{what} ({', '.join(_quote(c) for c in columns)})" + (
                    " DEFERRABLE INITIALLY DEFERRED" if "DEFERRABLE" in definition else ""
                )
            cursor.execute(
                f"ALTER TABLE {_quote(table)} ADD CONSTRAINT {_quote(name)} {definition}"
            )
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {_quote(table)}")


def _definitions(
    cursor: CursorWrapper, table: str
) -> tuple[list[tuple[str, str, list[str], str]], list[str]]:
    """The table's primary key, unique and foreign-key constraints (name, kind, columns,
    definition), and its other indexes' ``CREATE INDEX`` statements. Checks are copied
    with the table (``LIKE ... INCLUDING CONSTRAINTS``)."""
    cursor.execute(
        "SELECT c.conname, c.contype,"
        " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),"
        " pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c WHERE c.conrelid = to_regclass(%s) AND c.contype IN ('p', 'u', 'f')"
        " ORDER BY c.contype DESC, c.conname",
        [_quote(table)],
    )
    constraints = [(n, k, list(cols), d) for n, k, cols, d in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indisunique FROM pg_index i"
        " WHERE i.indrelid = to_regclass(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
        "                 AND c.conrelid = i.indrelid)"
        " ORDER BY i.indexrelid",
        [_quote(table)],
    )
    indexes = []
    for definition, unique in cursor.fetchall():
        if unique:
            raise NotImplementedError(f"{table}: a unique index without a constraint")
        # Made on the parent, PostgreSQL makes it on every partition (ONLY would not).
        indexes.append(definition.replace(" ON ONLY ", " ON "))
    return constraints, indexes


class _LockNotAvailable(Exception):
    pass


@contextmanager
def _transaction(connection: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    """A transaction (a savepoint inside one) waiting at most ``LOCK_TIMEOUT`` for a
    lock; a lock not granted in time rolls it back and raises ``_LockNotAvailable``."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            (before,) = cursor.fetchone()
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
            yield cursor
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise _LockNotAvailable from error
        raise


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


# --- the jobs: months ahead, and retention by whole months ------------------------------------


def keep_since(now: datetime) -> datetime | None:
    """The oldest time any application still keeps: ``now`` less the longest
    ``retention_days`` of all applications; None without applications."""
    from sessions_app.models import Application

    days = [a.retention_days for a in Application.objects.only("retention_days_override")]
    return now - timedelta(days=max(days)) if days else None


def partitions_ahead(
    *, now: datetime | None = None, months_ahead: int | None = None, using: str = "default"
) -> dict[str, list[str]]:
    """Every partitioned table's months from now to ``months_ahead`` ahead (default
    ``RUMVAULT_PARTITION_MONTHS_AHEAD``), and months for what the default partition
    holds within retention; the partitions created, per table. Idempotent."""
    now = now or django_now()
    ahead = settings.RUMVAULT_PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    connection = connections[using]
    since = keep_since(now)
    return {
        spec.label: ensure_partitions(
            connection, spec, now=now, months_ahead=ahead, keep_since=since
        )
        for spec in TABLES
    }


def partitions_daily() -> dict[str, list[str]]:
    """The daily schedule's entry point (migration ``maintenance.0003``)."""
    return partitions_ahead()


def drop_expired_partitions(
    *, now: datetime, dry_run: bool = False, using: str = "default"
) -> dict[str, list[Dropped]]:
    """Detach and drop every month of every partitioned table that ended before the
    retention cutoff of every application (``keep_since``): all its rows are past
    their retention, whatever their application. Per table, what was dropped (with
    its rows per application; ``dry_run``: what would be, uncounted).

    Log records are partitioned by their ``time``, the time retention goes by.
    Actions are partitioned by ``partition_time``, which is never earlier than
    their session's ``started_at``: every action of a dropped month belongs to an
    expired session, which the same run deletes (``sessions_app.retention``).
    """
    since = keep_since(now)
    connection = connections[using]
    dropped: dict[str, list[Dropped]] = {}
    for spec in TABLES:
        expired = [] if since is None else expired_partitions(connection, spec, cutoff=since)
        if dry_run:
            dropped[spec.label] = [Dropped(p.name, {}) for p in expired]
            continue
        dropped[spec.label] = [
            done for p in expired if (done := drop_partition(connection, spec, p)) is not None
        ]
    return dropped


def rows_per_application(dropped: list[Dropped]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for partition in dropped:
        for slug, count in partition.rows.items():
            counts[slug] = counts.get(slug, 0) + count
    return counts
