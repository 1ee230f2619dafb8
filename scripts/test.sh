#!/usr/bin/env bash
# The one command that runs every test: installs what the tests need (Debian packages when
# missing, the pinned PostgreSQL 10-18 builds), then runs the whole suite against real
# servers that the tests start themselves on random loopback ports.
#
# With arguments it is `cargo test --locked ARGS...`. Without, it runs in two passes: every
# test except the PostgreSQL version matrix (tests named `<scenario>::pg12` ... `::pg18`,
# `old_majors::pg10_best_effort`), then the matrix alone with more test threads than cores:
# those tests mostly wait on their servers (STACKTOP_PG_TEST_THREADS, default 6).
# STACKTOP_PG_MAJORS=15,18 narrows the matrix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
if [ $# -gt 0 ]; then
  exec cargo test --locked "$@"
fi
# The tests must leave the user's files alone: their XDG directories point at an empty one,
# and anything a test writes there (a default slow log, config, state) fails the run.
xdg=$(mktemp -d)
trap 'rm -rf "$xdg"' EXIT
export XDG_CONFIG_HOME="$xdg/config" XDG_STATE_HOME="$xdg/state" XDG_DATA_HOME="$xdg/data" \
  XDG_CACHE_HOME="$xdg/cache"
cargo test --locked -- --skip ::pg1
cargo test --locked -- ::pg1 --test-threads="${STACKTOP_PG_TEST_THREADS:-6}"
if [ -n "$(find "$xdg" -mindepth 1 -print -quit)" ]; then
  echo "error: tests wrote into the user's XDG directories (not hermetic):" >&2
  find "$xdg" -mindepth 1 >&2
  exit 1
fi
