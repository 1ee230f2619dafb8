#!/bin/sh
# Peak RSS of the vlog pipeline (Parser -> Ring(100k) -> Stats) over 1M generated requests,
# for the Varnish 7 and 2.1 formats, with the default detail window (25k newest entries keep
# headers) and with every ring entry keeping its headers. Prints RSS every 100k requests
# (it must stay flat) and the peak (target: under 64 MiB), plus GNU time's max RSS.
# Usage: benches/vlog_memory.sh [requests]
set -eu
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --example vlog_memory
BIN="${CARGO_TARGET_DIR:-target}/release/examples/vlog_memory"
for fmt in v7 v21; do
    for detail in 25000 100000; do
        echo "== $fmt, detail $detail"
        if [ -x /usr/bin/time ]; then
            /usr/bin/time -f "GNU time: max RSS %M KiB, %e s wall, %U s user" "$BIN" "$N" "$fmt" "$detail"
        else
            "$BIN" "$N" "$fmt" "$detail"
        fi
    done
done
