# A throwaway PostgreSQL cluster in a temporary directory, on loopback only.
# Sourced by .ci/run (and usable by hand): postgres_start, postgres_stop,
# postgres_pause / postgres_resume (for the fault test), $POSTGRES_URL.

POSTGRES_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
POSTGRES_PORT=${POSTGRES_PORT:-54329}
POSTGRES_DIR=${POSTGRES_DIR:-$(mktemp -d /tmp/rumvault-pg.XXXXXX)}
POSTGRES_URL="postgres://rumvault@127.0.0.1:${POSTGRES_PORT}/rumvault"
export POSTGRES_BIN POSTGRES_PORT POSTGRES_DIR POSTGRES_URL

# initdb refuses to run as root; the cluster belongs to the 'postgres' system user then.
_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  [ -n "$POSTGRES_BIN" ] || { echo "PostgreSQL is not installed" >&2; return 1; }
  if [ "$(id -u)" = 0 ]; then chown postgres "$POSTGRES_DIR"; fi
  if [ ! -f "$POSTGRES_DIR/data/PG_VERSION" ]; then
    _as_owner "$POSTGRES_BIN/initdb" -D "$POSTGRES_DIR/data" -U postgres \
      --auth=trust --encoding=UTF8 --no-instructions >/dev/null || return 1
  fi
  postgres_resume || return 1
  _as_owner "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -qAt -c \
    "SELECT 1 FROM pg_roles WHERE rolname='rumvault'" | grep -q 1 ||
    _as_owner "$POSTGRES_BIN/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -q \
      -c "CREATE ROLE rumvault LOGIN CREATEDB" -c "CREATE DATABASE rumvault OWNER rumvault" ||
      return 1
}

# Stop the server but keep the data, as when the database "goes away".
postgres_pause() {
  _as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null
}

postgres_resume() {
  _as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" status >/dev/null 2>&1 && return 0
  _as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $POSTGRES_DIR -c fsync=off" \
    -l "$POSTGRES_DIR/server.log" start >/dev/null
}

postgres_stop() {
  postgres_pause 2>/dev/null
  rm -rf "$POSTGRES_DIR"
}
