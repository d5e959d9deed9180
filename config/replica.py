"""Reads of sessions, actions and log records from a streaming replica, when it is fresh.

With ``DATABASE_REPLICA_URL`` set, the settings add the ``replica`` alias and
install ``ReplicaRouter`` (docs/operations.md, "Read replica"). The rule, fail
closed: everything reads and writes the primary, except a read that

* is of a session, an action or a log record (``REPLICA_MODELS``): never a
  grant, a fieldset, a token, an audit record or anything the policy is made of,
  so a revocation takes effect at the next request whatever the replica lags;
* happens in a request whose read layer said so (``allow_replica_reads``:
  ``sessions_app.reads.Reader`` does, after building the request's policy, for
  the list, search, detail and log reads of the API, the dashboard and the admin);
* happens outside any transaction on the primary (an ``atomic`` block reads
  what it writes), and before the request wrote anything through the ORM
  (a request reads its own writes);
* finds the replica at most ``DATABASE_REPLICA_MAX_LAG_SECONDS`` behind
  (``replica_lag``, checked at most once a second per process).

Ingest, data-subject requests, jobs and commands never ask, so they never read
the replica; neither does anything outside a request.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

if TYPE_CHECKING:  # config.settings imports this module: nothing here may need the apps
    from collections.abc import Callable

    from django.db.models import Model
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("rumvault.replica")

REPLICA = "replica"
# By label, not by class: config.settings imports this module, before any model exists.
REPLICA_MODELS = frozenset(
    {"sessions_app.usersession", "sessions_app.useraction", "logs.logrecord"}
)

# A lag check is one round trip to the replica. Once a second per process costs
# the replica nothing, and a decision is at most this much older than its check.
LAG_CHECK_SECONDS = 1.0
# An unreachable replica is not tried again for this long: each try can wait
# DATABASE_CONNECT_TIMEOUT seconds, which no request should pay every second.
UNREACHABLE_RETRY_SECONDS = 10.0

# The replica's staleness in seconds, as the replica itself can tell it.
# - Not a standby at all (promoted, or a URL that names a primary): NULL, never used.
# - Everything received is replayed and the WAL receiver is streaming: 0. The age
#   of the last replayed transaction would grow on an idle primary, where the
#   replica is as fresh as it can be. (A receiver's status is shown to roles with
#   pg_read_all_stats only; to others it is NULL, and a running receiver counts.)
# - Otherwise, the age of the last replayed transaction: an upper bound of what
#   is missing (with no receiver, the replica cannot know what it misses; a
#   stopped stream then counts as ever more stale, never as fresh). No replayed
#   transaction yet: infinitely stale.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN NULL
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
        AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'
                    OR status IS NULL)
        THEN 0
    ELSE COALESCE(
        EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8,
        'Infinity'::float8
    )
END
"""


def replica_database(url_config: dict[str, Any], primary: dict[str, Any]) -> dict[str, Any]:
    """The ``replica`` alias: the URL's server, the primary's connection handling.

    Connection age, health checks, timeouts and the pooling switches
    (``DISABLE_SERVER_SIDE_CURSORS``) are the primary's. In the test suite the
    alias reads the test database under its test name (``MIRROR``): the
    replica's copy of what the primary made, created there by replication.
    """
    options = {**primary.get("OPTIONS", {}), **url_config.get("OPTIONS", {})}
    return {
        **primary,
        **url_config,
        "OPTIONS": options,
        "TEST": {"MIRROR": DEFAULT_DB_ALIAS},
    }


# --- the request's scope -------------------------------------------------------------


@dataclass
class _Scope:
    allowed: bool = False  # the read layer built the policy and reads sessions, actions, logs
    wrote: bool = False  # the request wrote through the ORM: it reads the primary from then on


_scope: ContextVar[_Scope | None] = ContextVar("rumvault_replica_scope", default=None)


class ReplicaScopeMiddleware:
    """A fresh scope per request, closed when it ends.

    Without it nothing may read the replica (no scope: the primary). A worker
    thread serves request after request: the scope is reset, never carried over.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _scope.set(_Scope())
        try:
            return self.get_response(request)
        finally:
            _scope.reset(token)


def allow_replica_reads() -> None:
    """From now on in this request, reads of ``REPLICA_MODELS`` may go to the replica.

    Called by the read layer only, after it built the request's policy from the
    primary. No request scope (a command, a job): nothing changes.
    """
    scope = _scope.get()
    if scope is not None:
        scope.allowed = True


# --- freshness -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    fresh: bool
    until: float  # time.monotonic() after which the answer is checked again


_last_check: _Check | None = None


def replica_lag() -> float | None:
    """Seconds the replica is behind (``LAG_SQL``); None if it is not a standby."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])


def replica_is_fresh() -> bool:
    """Whether the replica is within ``DATABASE_REPLICA_MAX_LAG_SECONDS``, checked at most
    once every ``LAG_CHECK_SECONDS`` per process. Unreachable or not a standby: no."""
    global _last_check
    now = time.monotonic()
    check = _last_check
    if check is not None and now < check.until:
        return check.fresh
    limit = settings.DATABASE_REPLICA_MAX_LAG_SECONDS
    try:
        lag = replica_lag()
    except DatabaseError as error:
        # The exception's class only: its text may carry the server's address and user.
        logger.warning(
            "read replica unavailable, reading the primary",
            extra={"error": type(error).__name__},
        )
        _last_check = _Check(fresh=False, until=now + UNREACHABLE_RETRY_SECONDS)
        return False
    fresh = lag is not None and lag <= limit
    # Logged when the answer changes, not at every check (once a second per process).
    if check is None or fresh != check.fresh:
        if lag is None:
            logger.warning("read replica is not a standby, reading the primary")
        elif not fresh:
            logger.info("read replica behind, reading the primary", extra={"lag_seconds": lag})
        elif check is not None:
            logger.info("read replica fresh again, reading it", extra={"lag_seconds": lag})
    _last_check = _Check(fresh=fresh, until=now + LAG_CHECK_SECONDS)
    return fresh


def forget_replica_check() -> None:
    """Check the replica again at the next read (tests; after reconfiguring it)."""
    global _last_check
    _last_check = None


# --- the router --------------------------------------------------------------------------


def may_read_replica(model: type[Model]) -> bool:
    """The rule of the module docstring, all but freshness: no query, no replica needed."""
    if model._meta.label_lower not in REPLICA_MODELS:
        return False
    scope = _scope.get()
    if scope is None or not scope.allowed or scope.wrote:
        return False
    # Inside a transaction on the primary: it may read what it wrote, and must see
    # rows as of its own snapshot, not the replica's.
    return not connections[DEFAULT_DB_ALIAS].in_atomic_block


class ReplicaRouter:
    """Installed only with a replica (``DATABASE_REPLICA_URL``). None means the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if may_read_replica(model) and replica_is_fresh():
            return REPLICA
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        # Every write goes to the primary (None); the request's later reads too.
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both aliases hold the same rows: a row read from one may refer to the other's.
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        return True if {obj1._state.db, obj2._state.db} <= aliases else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A standby is read-only; it gets its schema from the primary's WAL.
        return False if db == REPLICA else None
