# PgBouncer in transaction mode in front of the cluster of .ci/postgres.sh
# (source that first). Sourced by .ci/run (and usable by hand):
# pgbouncer_start, pgbouncer_stop, $PGBOUNCER_URL.
#
# Transaction mode hands a server connection to a client for one transaction
# only: rumvault runs behind it with DATABASE_TRANSACTION_POOLING=true
# (docs/operations.md, "Connection pooling").

PGBOUNCER_BIN=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)  # Debian: /usr/sbin
PGBOUNCER_PORT=${PGBOUNCER_PORT:-$((POSTGRES_PORT + 1))}
PGBOUNCER_URL="postgres://rumvault@127.0.0.1:${PGBOUNCER_PORT}/rumvault"
export PGBOUNCER_BIN PGBOUNCER_PORT PGBOUNCER_URL

pgbouncer_start() {
  [ -x "$PGBOUNCER_BIN" ] || { echo "PgBouncer is not installed" >&2; return 1; }
  # Every database of the cluster, loopback only, no passwords (as the cluster itself).
  cat >"$POSTGRES_DIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$POSTGRES_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $POSTGRES_DIR/pgbouncer.users
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = $POSTGRES_DIR/pgbouncer.log
pidfile = $POSTGRES_DIR/pgbouncer.pid
EOF
  printf '"rumvault" ""\n' >"$POSTGRES_DIR/pgbouncer.users"
  _as_owner "$PGBOUNCER_BIN" -d -q "$POSTGRES_DIR/pgbouncer.ini" || return 1
  for _ in $(seq 50); do
    "$POSTGRES_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -d rumvault && return 0
    sleep 0.1
  done
  echo "PgBouncer did not start: $POSTGRES_DIR/pgbouncer.log" >&2
  return 1
}

pgbouncer_stop() {
  [ -f "$POSTGRES_DIR/pgbouncer.pid" ] && kill "$(cat "$POSTGRES_DIR/pgbouncer.pid")" 2>/dev/null
  return 0
}
