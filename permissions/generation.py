"""The policy generation: whether a principal's cached snapshot is still true.

A principal's snapshot (fieldsets, applications, grants:
``permissions.selectors.principal_snapshot``) was read on every request, one
query that PostgreSQL spends longer planning (0.25 ms) than running, about
0.7 ms of a 7 ms page in all. It is now kept per process with the value of
``PolicyGeneration`` it was read at, and used while that value stands.

Database triggers on every table the snapshot reads set a new value inside the
writing transaction, whatever writes (the ORM, the admin, raw SQL, a bulk
update, TRUNCATE on PostgreSQL), so the request after a revocation reads a new
value, reads the snapshot again, and the revocation takes effect as before.

The new value is random, not the old one plus one: a rolled-back change would
hand its number on to the next change, and a snapshot cached inside the
rolled-back transaction would come back as true for a different state.

Fail closed: snapshots are cached only where every trigger is in place
(checked once per process and database) and the generation row exists. SQLite
drops a table's triggers when a migration rebuilds the table, so the triggers
are installed again after every ``migrate`` (and a test-database flush), and
the value is set anew.

One cost: on PostgreSQL two transactions that change grants at once queue on
the generation row (a row lock until commit); grants change rarely.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Subquery

from permissions.models import PolicyGeneration

TRIGGER = "permissions_policy_changed"
_TABLE = PolicyGeneration._meta.db_table
_SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")

# Which (database alias, database name) have every trigger in place (see ``ready``).
_READY: dict[tuple[str, str], bool] = {}


def _sqlite_trigger(table: str, event: str) -> str:
    return f"{TRIGGER}_{table}_{event.lower()}"


def install(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> None:
    """Put the triggers on ``tables`` (idempotent) and start a new generation."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A 53-bit random number: all that random() (a double) carries.
            # Names from constants and models' _meta; nothing from a request.
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$"  # noqa: S608
                f" BEGIN UPDATE {quote(_TABLE)}"
                " SET value = floor(random() * 9007199254740992)::bigint;"
                " RETURN NULL; END $$"
            )
            for table in tables:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {TRIGGER}"
                    f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quote(table)}"
                    f" FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
                )
        elif connection.vendor == "sqlite":
            for table in tables:
                for event in _SQLITE_EVENTS:
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {quote(_sqlite_trigger(table, event))}"  # noqa: S608
                        f" AFTER {event} ON {quote(table)}"
                        f" BEGIN UPDATE {quote(_TABLE)} SET value = random(); END"
                    )
        else:  # no triggers, no cache: every request reads its snapshot
            return
    PolicyGeneration.objects.using(connection.alias).update_or_create(
        pk=1, defaults={"value": secrets.randbits(53)}
    )
    # Checked here rather than on a request: migrate (or the test run's database
    # set-up) pays the catalogue query, not the first request of a process.
    forget(connection)
    ready(connection, tables)


def installed(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> bool:
    """Whether every table of ``tables`` has its enabled trigger(s)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE t.tgname = %s AND t.tgenabled <> 'D'",
                [TRIGGER],
            )
            present = {name for (name,) in cursor.fetchall()}
            return all(table in present for table in tables)
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {name for (name,) in cursor.fetchall()}
            return all(
                _sqlite_trigger(table, event) in present
                for table in tables
                for event in _SQLITE_EVENTS
            )
    return False


def ready(connection: BaseDatabaseWrapper, tables: Iterable[str]) -> bool:
    """``installed``, asked once per process and database (it is a catalogue query)."""
    key = (connection.alias, str(connection.settings_dict["NAME"]))
    if key not in _READY:
        _READY[key] = installed(connection, tables)
    return _READY[key]


def forget(connection: BaseDatabaseWrapper | None = None) -> None:
    """Ask ``installed`` again next time (after triggers were put in place or removed)."""
    if connection is None:
        _READY.clear()
        return
    _READY.pop((connection.alias, str(connection.settings_dict["NAME"])), None)


def value_sql(connection: BaseDatabaseWrapper) -> str:
    """A scalar subquery of the current value (NULL where the row is missing)."""
    quote = connection.ops.quote_name
    return f"(SELECT {quote('value')} FROM {quote(_TABLE)} WHERE {quote('id')} = 1)"  # noqa: S608


def current() -> Subquery:
    """The current value as an expression, to read with another query (the API token's)."""
    return Subquery(PolicyGeneration.objects.filter(pk=1).values("value")[:1])
