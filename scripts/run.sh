#!/usr/bin/env bash
# Builds Portcullis in release mode and runs it with its web UI on the embedded SQLite default
# (./data/portcullis.db), at http://127.0.0.1:3000. Arguments are passed to `portcullis`.
#   scripts/run.sh [serve options…]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-site.sh --server-profile release
exec target/release/portcullis serve "$@"
