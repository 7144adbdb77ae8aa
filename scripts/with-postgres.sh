#!/usr/bin/env bash
# Runs a command with PORTCULLIS_TEST_POSTGRES_URL pointing at a throw-away PostgreSQL server on
# loopback, started here from Debian's binaries and deleted afterwards. When the variable is
# already set, the command simply runs against that server.
#   scripts/with-postgres.sh COMMAND [ARGS…]
set -euo pipefail

if [ -n "${PORTCULLIS_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "PostgreSQL is not installed; run scripts/setup.sh --test first" >&2
  exit 1
fi

DIR=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  chown postgres:postgres "$DIR"
  AS=(runuser -u postgres --)
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT

"${AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
# Durability is pointless for a database that is deleted when the tests end.
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null

export PORTCULLIS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "==> throw-away PostgreSQL on 127.0.0.1:$PORT"
"$@"
