# A streaming replica of the cluster of .ci/postgres.sh (source that first and
# start it). Sourced by .ci/run (and usable by hand): replica_start,
# replica_stop, $REPLICA_URL.
#
# A hot standby made by pg_basebackup -R: it follows the primary over the
# replication protocol and answers read-only queries, as a production replica
# does (docs/operations.md, "Read replica"). The replica tests
# (tests/config/test_replica.py) reach it through TEST_DATABASE_REPLICA_URL.

REPLICA_PORT=${REPLICA_PORT:-$((POSTGRES_PORT + 2))}  # +1 is PgBouncer's (.ci/pgbouncer.sh)
REPLICA_DIR=${REPLICA_DIR:-$(mktemp -d /tmp/rumvault-replica.XXXXXX)}
REPLICA_URL="postgres://rumvault@127.0.0.1:${REPLICA_PORT}/rumvault"
export REPLICA_PORT REPLICA_DIR REPLICA_URL

_primary_psql() {
  _as_owner "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -qAt "$@"
}

replica_start() {
  # The primary as .ci/postgres.sh makes it already streams: initdb's defaults are
  # wal_level=replica and max_wal_senders=10, and its pg_hba.conf lets loopback
  # replication connections in with the cluster's own method (trust). Checked, not assumed.
  local level senders
  level=$(_primary_psql -c "SHOW wal_level") || return 1
  senders=$(_primary_psql -c "SHOW max_wal_senders") || return 1
  if [ "$level" = minimal ] || [ "$senders" -lt 1 ]; then
    echo "the primary cannot stream: wal_level=$level max_wal_senders=$senders" >&2
    return 1
  fi
  # The lag test pauses and resumes replay on the replica as the application's role;
  # a standby is read-only, so the grant is made on the primary and streams over. A
  # function's grants belong to each database: template1's go to the test database.
  local database
  for database in rumvault template1; do
    _primary_psql -d "$database" -c "GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(),
      pg_wal_replay_resume() TO rumvault" || return 1
  done
  if [ "$(id -u)" = 0 ]; then chown postgres "$REPLICA_DIR"; fi
  if [ ! -f "$REPLICA_DIR/data/PG_VERSION" ]; then
    # -R writes primary_conninfo and standby.signal: the copy starts as a standby.
    _as_owner "$POSTGRES_BIN/pg_basebackup" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres \
      -D "$REPLICA_DIR/data" -R -X stream -c fast || return 1
  fi
  _as_owner "$POSTGRES_BIN/pg_ctl" -D "$REPLICA_DIR/data" status >/dev/null 2>&1 && return 0
  # -w waits until the standby is consistent and accepts read-only connections.
  _as_owner "$POSTGRES_BIN/pg_ctl" -D "$REPLICA_DIR/data" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $REPLICA_PORT -k $REPLICA_DIR -c fsync=off" \
    -l "$REPLICA_DIR/server.log" start >/dev/null || return 1
  local recovering
  recovering=$(_as_owner "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -qAt \
    -c "SELECT pg_is_in_recovery()") || return 1
  [ "$recovering" = t ] || { echo "the replica is not in recovery" >&2; return 1; }
}

replica_stop() {
  [ -d "$REPLICA_DIR/data" ] &&
    _as_owner "$POSTGRES_BIN/pg_ctl" -D "$REPLICA_DIR/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$REPLICA_DIR"
}
