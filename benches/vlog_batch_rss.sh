#!/bin/sh
# Peak RSS of `stacktop vlog --batch` (text and --json) reading generated varnishlog text on
# stdin: the Varnish 7 lab capture (tests/fixtures/varnish/varnish7-request.log, 215 requests
# of `-g request` text) repeated until N requests have been printed. Nothing is kept per
# request in batch mode, so the peak must stay flat (target: at most 32 MiB) whatever N and
# the format. Prints, per format and size: requests printed, peak RSS (GNU time) and wall time.
#
# Usage: benches/vlog_batch_rss.sh [N...]        (default: 1000000 4000000)
#        STACKTOP_BIN=path/to/stacktop benches/vlog_batch_rss.sh 200000   (skip the build)
set -eu
cd "$(dirname "$0")/.."
FIXTURE=tests/fixtures/varnish/varnish7-request.log
if [ -z "${STACKTOP_BIN:-}" ]; then
    cargo build --release --bin stacktop
    STACKTOP_BIN="${CARGO_TARGET_DIR:-target}/release/stacktop"
fi
[ -x /usr/bin/time ] || { echo "needs GNU time (Debian package: time)" >&2; exit 1; }
[ "$#" -gt 0 ] || set -- 1000000 4000000
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for n in "$@"; do
    copies=$(( n / 215 + 1 ))
    for fmt in text json; do
        flag=""
        [ "$fmt" = json ] && flag="--json"
        # The generator is a shell loop of cat: its own memory is not measured.
        i=0
        while [ "$i" -lt "$copies" ]; do cat "$FIXTURE"; i=$((i + 1)); done |
            env -i PATH="$PATH" HOME="$TMP" /usr/bin/time -f "%M %e" -o "$TMP/time" \
                "$STACKTOP_BIN" --no-user-config vlog - --batch $flag --count "$n" \
                >"$TMP/out" 2>"$TMP/err" || true
        printed=$(wc -l <"$TMP/out")
        [ "$fmt" = text ] || printed=$(grep -c '^{' "$TMP/out" || true)
        read -r rss secs <"$TMP/time"
        printf '%-4s %9s requests: peak RSS %6.1f MiB, %6.1f s\n' \
            "$fmt" "$printed" "$(echo "$rss / 1024" | bc -l)" "$secs"
        tail -n 1 "$TMP/err"
    done
done
