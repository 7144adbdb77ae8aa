#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Portcullis needs; each step is skipped when
# its tool is already there.
#   scripts/setup.sh          the WASM target, wasm-bindgen and wasm-opt
#   scripts/setup.sh --test   also Chromium, PostgreSQL, the Playwright packages and a Python
#                             virtualenv with the official openai and anthropic packages (target/sdk-venv)
set -euo pipefail
cd "$(dirname "$0")/.."

TEST=false
[ "${1:-}" = --test ] && TEST=true

SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo)
APT_UPDATED=false
apt_install() {
  if [ "$APT_UPDATED" = false ]; then
    "${SUDO[@]}" apt-get update -qq
    APT_UPDATED=true
  fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
WANT=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
HAVE=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$HAVE" != "$WANT" ]; then
  echo "==> cargo install wasm-bindgen-cli $WANT"
  # Its lockfile wants crates newer than our rustc accepts; let cargo pick compatible ones.
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo install wasm-bindgen-cli --version "$WANT" --quiet
fi

if [ ! -x tools/node_modules/.bin/wasm-opt ]; then
  echo "==> npm ci (tools: binaryen)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$TEST" = true ]; then
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> apt-get install chromium"
    apt_install chromium
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "==> apt-get install postgresql"
    apt_install postgresql
  fi
  # The official SDK, for the compatibility test; pinned, in a virtualenv under target/.
  if ! cmp -s tools/requirements-sdk.txt target/sdk-venv/requirements.txt; then
    echo "==> python3 -m venv target/sdk-venv; pip install -r tools/requirements-sdk.txt"
    rm -rf target/sdk-venv
    python3 -m venv target/sdk-venv
    target/sdk-venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-sdk.txt
    cp tools/requirements-sdk.txt target/sdk-venv/requirements.txt
  fi
  # Real coding agents the suite drives through the gateway; pinned, under tools/agents.
  if ! cmp -s tools/agents/package-lock.json tools/agents/node_modules/.installed-lock.json; then
    echo "==> npm ci (tools/agents: Claude Code, Codex CLI)"
    (cd tools/agents && npm ci --no-audit --no-fund --loglevel=error &&
      cp package-lock.json node_modules/.installed-lock.json)
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    echo "==> npm ci (end2end: Playwright)"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
