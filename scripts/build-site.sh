#!/usr/bin/env bash
# Builds the web app (WASM client + CSS + static files) into the site directory named in
# Leptos.toml, and the server binary.
#   scripts/build-site.sh [--server-profile debug|release]
# The WASM is always built with the size-optimised `wasm-release` profile and run through
# wasm-opt, so every build (tests included) serves the client users get.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER_PROFILE=debug
while [ $# -gt 0 ]; do
  case "$1" in
    --server-profile) SERVER_PROFILE="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

leptos_value() { sed -n "s/^$1 *= *\"\(.*\)\"/\1/p" Leptos.toml; }
NAME=$(leptos_value output-name)
SITE=$(leptos_value site-root)
PKG=$(leptos_value site-pkg-dir)
TOOLS="$PWD/tools"
export PATH="$TOOLS/node_modules/.bin:$PATH"

echo "==> WASM client"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
rm -rf "$SITE"
mkdir -p "$SITE/$PKG"
cp -r public/. "$SITE/"
cp style/main.css "$SITE/$PKG/$NAME.css"
wasm-bindgen --target web --no-typescript --out-dir "$SITE/$PKG" --out-name "$NAME" \
  target/wasm32-unknown-unknown/wasm-release/frontend.wasm
# npm's binaryen, never Debian's: its wasm-opt 108 emits a module whose hydration fails.
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue \
  "$SITE/$PKG/${NAME}_bg.wasm" -o "$SITE/$PKG/${NAME}_bg.wasm"

echo "==> server ($SERVER_PROFILE)"
if [ "$SERVER_PROFILE" = release ]; then
  cargo build -p server --release
else
  cargo build -p server
fi
