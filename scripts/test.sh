#!/usr/bin/env bash
# Runs every check: formatting, lints, the unit and integration tests on SQLite and on a
# throw-away PostgreSQL server, and the browser tests against the real server.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
# A CI run builds everything once from scratch: incremental state would only cost disk (GBs).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
step() { echo; echo "==> $* ($((SECONDS - START)) s)"; }

step setup
scripts/setup.sh --test

step "cargo fmt --check"
cargo fmt --all -- --check

step "build: WASM client and server"
scripts/build-site.sh

# Right after the build: the test build below relinks the binary with test-only features.
step "tests: browser (Playwright, Chromium)"
(cd end2end && npx playwright test)

# Lint each feature set on its own: `ssr` and `hydrate` must never be unified.
step "clippy: server, app (ssr) and the load benchmark"
cargo clippy -p server -p app -p portcullis-bench --features app/testing --all-targets --locked -- -D warnings
step "clippy: frontend (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown --profile wasm-release --locked -- -D warnings

step "tests: app, server and the benchmark's own, SQLite and PostgreSQL"
scripts/with-postgres.sh cargo test -p app -p server -p portcullis-bench --features app/testing --locked

step "all checks passed"
