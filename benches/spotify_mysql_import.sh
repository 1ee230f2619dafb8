#!/usr/bin/env bash
# Spotify explorer on 1M generated rows (20 regions x 250 days x 200 positions, Kaggle data.csv):
#   1. MariaDB import with `stacktop spotify import` (streamed LOAD DATA LOCAL INFILE, indexes
#      built after the load), side by side with the `mariadb` client's own
#      LOAD DATA LOCAL INFILE of the same file into a PK-only table (the physical anchor);
#   2. SQLite import (load-only and total rates);
#   3. every ready-made question on both stores (the "N rows in set (x sec)" line).
#
# Usage: benches/spotify_mysql_import.sh [mysql://root@127.0.0.1:3306/]
#   without a URL an ephemeral mariadbd is started in a temp dir (127.0.0.1, random port) and
#   stopped by PID on exit. SPOTIFY_BENCH_DAYS=50 makes a quicker 200k-row run.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=${1:-}
DAYS=${SPOTIFY_BENCH_DAYS:-250}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin stacktop --example spotify_gen
BIN="$TARGET/release/stacktop"
GEN="$TARGET/release/examples/spotify_gen"
TMP=$(mktemp -d /tmp/spotify-bench.XXXXXX)
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID"
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

ROWS=$("$GEN" "$TMP/data.csv" "$DAYS")
echo "generated $ROWS rows ($(du -h "$TMP/data.csv" | cut -f1)) in $TMP/data.csv"

if [ -z "$URL" ]; then
    command -v mariadbd >/dev/null || { echo "mariadbd missing: apt-get install mariadb-server" >&2; exit 1; }
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mariadb-install-db --no-defaults --datadir="$TMP/db" --auth-root-authentication-method=normal \
        --user="$(id -un)" >"$TMP/install.log" 2>&1
    mariadbd --no-defaults --datadir="$TMP/db" --socket="$TMP/mysqld.sock" --port="$PORT" \
        --bind-address=127.0.0.1 --skip-name-resolve --user="$(id -un)" --local-infile=1 \
        --innodb-buffer-pool-size=1G --skip-log-bin --log-error="$TMP/error.log" &
    PID=$!
    for _ in $(seq 1 300); do
        mariadb --no-defaults -S "$TMP/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.1
    done
    URL="mysql://root@127.0.0.1:$PORT/"
    CLIENT=(mariadb --no-defaults -S "$TMP/mysqld.sock" -uroot --local-infile=1)
    echo "ephemeral mariadbd pid $PID on 127.0.0.1:$PORT"
else
    # mysql://user[:pw]@host:port/ → client flags (password from MYSQL_PWD if needed).
    HP=${URL#mysql://}; HP=${HP%%/*}; U=${HP%%@*}; U=${U%%:*}; H=${HP#*@}
    CLIENT=(mariadb --no-defaults -h "${H%%:*}" -P "${H##*:}" -u "$U" --local-infile=1)
fi
"${CLIENT[@]}" -e 'DROP DATABASE IF EXISTS spotify_bench'

now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1/($3-$2):,.0f} rows/s in {$3-$2:.2f} s')"; }

echo
echo "== MariaDB import, 1 file, $ROWS rows =="
T0=$(now)
"$BIN" --no-user-config spotify import --backend mysql --url "$URL" --database spotify_bench \
    --table top200 "$TMP/data.csv" 2>"$TMP/import.err"
T1=$(now)
echo "stacktop spotify import (LOAD DATA stream + index build): $(rate "$ROWS" "$T0" "$T1")"
grep -o 'rows read.*' "$TMP/import.err" | head -1 || true

"${CLIENT[@]}" spotify_bench -e "CREATE TABLE client_load (
    pos SMALLINT UNSIGNED NOT NULL, track VARCHAR(512) NOT NULL, artist VARCHAR(512) NOT NULL,
    streams INT UNSIGNED, url VARCHAR(100) NOT NULL, list_date DATE NOT NULL,
    country VARCHAR(8) NOT NULL, PRIMARY KEY (country, list_date, pos)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
T0=$(now)
"${CLIENT[@]}" spotify_bench -e "LOAD DATA LOCAL INFILE '$TMP/data.csv' INTO TABLE client_load
    CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''
    LINES TERMINATED BY '\n' IGNORE 1 LINES (pos, track, artist, streams, url, list_date, country)"
T1=$(now)
echo "mariadb client LOAD DATA LOCAL INFILE (raw CSV, PK only, no indexes): $(rate "$ROWS" "$T0" "$T1")"

echo
echo "== SQLite import =="
"$BIN" --no-user-config spotify import --path "$TMP/bench.sqlite3" "$TMP/data.csv" 2>/dev/null

echo
echo "== questions (default parameters, then --country us --from 2017-01-01 --to 2018-01-01) =="
printf '%-16s %22s %22s %22s %22s\n' question "sqlite all" "mariadb all" "sqlite us/2017" "mariadb us/2017"
for q in $("$BIN" spotify questions | cut -d' ' -f1); do
    row=()
    for args in "" "--country us --from 2017-01-01 --to 2018-01-01"; do
        # shellcheck disable=SC2086
        s=$("$BIN" --no-user-config spotify ask "$q" $args --path "$TMP/bench.sqlite3" 2>&1 >/dev/null | tail -1)
        # shellcheck disable=SC2086
        m=$("$BIN" --no-user-config spotify ask "$q" $args --backend mysql --url "$URL" \
            --database spotify_bench 2>&1 >/dev/null | tail -1)
        row+=("$s" "$m")
    done
    printf '%-16s %22s %22s %22s %22s\n' "$q" "${row[0]}" "${row[1]}" "${row[2]}" "${row[3]}"
done
