#!/usr/bin/env bash
# The load benchmark: what Portcullis adds to direct calls, and its memory.
#   scripts/bench.sh            full run (3 loads x 3 concurrencies x 2 rounds, 5 s each: ~5 minutes)
#   scripts/bench.sh --quick    one short round, under a minute
#   scripts/bench.sh keys       the key cache at scale: 100,000 keys, two instances sharing a
#                               throw-away PostgreSQL, 100 key changes (about 2 minutes)
# Extra arguments go to portcullis-bench (`--help` lists them). Builds both binaries in release
# mode and installs the oha load generator (pinned) into target/bench-tools the first time.
# On a machine with two or more cores the gateway runs on CPU 0 and the mock upstream with
# the load generators on CPU 1, so the figures are ratios that carry from machine to machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo build --release -p server -p portcullis-bench" >&2
cargo build --release --locked --quiet -p server -p portcullis-bench

mkdir -p target/bench
if [ "${1:-}" = keys ]; then
  shift
  exec scripts/with-postgres.sh target/release/portcullis-bench keys --json target/bench/keys.json "$@"
fi

OHA_VERSION=1.16.0
OHA=target/bench-tools/bin/oha
if [ "$("$OHA" --version 2>/dev/null | awk '{ print $2 }')" != "$OHA_VERSION" ]; then
  echo "==> cargo install oha $OHA_VERSION (once; a few minutes)" >&2
  cargo install oha --version "$OHA_VERSION" --locked --quiet --root target/bench-tools
fi

PIN=()
ARGS=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  PIN=(taskset -c 1)
  ARGS=(--gateway-cpu 0)
else
  echo "warning: fewer than two cores (or no taskset): running unpinned; figures are not comparable" >&2
fi
exec "${PIN[@]}" target/release/portcullis-bench --oha "$OHA" --json target/bench/latest.json \
  "${ARGS[@]}" "$@"
