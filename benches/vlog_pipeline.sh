#!/bin/sh
# Full collector pipeline (spawned child -> Parser -> channel -> Ring + Stats) against the
# producer alone. Input: the Varnish 7.1 `-g request` capture text repeated 200x (3M lines).
# With varnishlog installed, also `varnishlog -r` on a binary capture: $1, or the 8-session
# fixture concatenated 400x (later copies without their 4-byte `VSL\0` header).
# Usage: benches/vlog_pipeline.sh [capture.bin]
set -eu
cd "$(dirname "$0")/.."
cargo build --release --example vlog_pipeline
BIN="${CARGO_TARGET_DIR:-target}/release/examples/vlog_pipeline"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
i=0
while [ $i -lt 200 ]; do cat tests/fixtures/varnish/varnish7-request.log; i=$((i+1)); done > "$TMP/big.log"
echo "input: $(wc -l < "$TMP/big.log") lines"
echo "== producer alone: cat > /dev/null"; /usr/bin/time -f "%e s" cat "$TMP/big.log" > /dev/null
echo "== pipeline: cat"; "$BIN" cat "$TMP/big.log"
if command -v varnishlog > /dev/null; then
    CAP="${1:-}"
    if [ -z "$CAP" ]; then
        CAP="$TMP/cap.bin"
        SRC=tests/fixtures/varnish/varnish7-first8sessions.bin
        { cat "$SRC"; i=1; while [ $i -lt 400 ]; do tail -c +5 "$SRC"; i=$((i+1)); done; } > "$CAP"
    fi
    echo "capture: $(varnishlog -g request -r "$CAP" | wc -l) lines of -g request text"
    echo "== producer alone: varnishlog -r > /dev/null"; /usr/bin/time -f "%e s wall, %U s user" varnishlog -g request -r "$CAP" > /dev/null
    echo "== pipeline: varnishlog -r"; "$BIN" varnishlog -g request -r "$CAP"
fi
