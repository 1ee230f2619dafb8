#!/usr/bin/env bash
# Peak memory of `stacktop spotify import` on hostile CSV input (Trust II): a file with one
# 50 MB line, and a file whose stray `"` leaves a 300 MB remainder inside one quoted field.
# Both must be refused with an error naming the line, within 64 MB of peak RSS.
#
#   bash benches/spotify_csv_memory.sh [LONG_LINE_MB=50] [REMAINDER_MB=300]
#
# Uses $STACKTOP_BIN if set, else target/release/stacktop (built when missing). The files are
# generated into a temporary directory that is removed at the end; stacktop runs with a cleared
# environment and HOME in that directory. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail

LONG_MB=${1:-50}
REST_MB=${2:-300}
LIMIT_KB=$((64 * 1024))

cd "$(dirname "$0")/.."
BIN=${STACKTOP_BIN:-target/release/stacktop}
if [[ ! -x $BIN ]]; then
    cargo build --release --quiet
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "needs /usr/bin/time: apt-get install time" >&2
    exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

header='Position,Track Name,Artist,Streams,URL,Date,Region'
# 10,000 good rows (~1 MB), repeated as needed.
awk 'BEGIN { for (i = 1; i <= 10000; i++)
    printf "%d,Song %d,Artist %d,%d,https://open.spotify.com/track/%022d,2017-01-01,ec\n",
           (i % 200) + 1, i, i, 1000 + i, i }' > "$TMP/block.csv"

# 1) one 50 MB line after 10,000 good rows
{
    echo "$header"
    cat "$TMP/block.csv"
    head -c $((LONG_MB * 1000 * 1000)) /dev/zero | tr '\0' x
    echo
    cat "$TMP/block.csv"
} > "$TMP/long-line.csv"

# 2) a stray quote on line 10,002, then REMAINDER_MB of good rows (one "field" for a CSV reader)
{
    echo "$header"
    cat "$TMP/block.csv"
    echo '1,"Stray quote,Artist,5,https://open.spotify.com/track/x,2017-01-01,ec'
    for _ in $(seq 1 "$REST_MB"); do cat "$TMP/block.csv"; done
} > "$TMP/stray-quote.csv"

run() {
    local name=$1 file=$2
    local size
    size=$(du -m "$file" | cut -f1)
    set +e
    env -i PATH="$PATH" HOME="$TMP" /usr/bin/time -v -o "$TMP/time.txt" \
        "$BIN" --no-user-config spotify --path "$TMP/$name.sqlite3" import "$file" \
        > "$TMP/out.txt" 2> "$TMP/err.txt"
    local code=$?
    set -e
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TMP/time.txt")
    local verdict=ok
    ((rss <= LIMIT_KB)) || verdict="OVER the 64 MB budget"
    printf '%-12s %5d MB input: exit %d, peak RSS %6.1f MB (%s)\n' \
        "$name" "$size" "$code" "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$verdict"
    printf '             error: %s\n' "$(grep -v '^$' "$TMP/err.txt" | tail -1 | cut -c1-200)"
}

run long-line "$TMP/long-line.csv"
run stray-quote "$TMP/stray-quote.csv"
