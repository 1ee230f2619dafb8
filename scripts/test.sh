#!/usr/bin/env bash
# The one command that runs every test: installs what the tests need from Debian packages
# when missing (postgresql, mariadb-server, varnish), then runs the whole suite against
# real servers that the tests start themselves on random loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
cargo test --locked "$@"
