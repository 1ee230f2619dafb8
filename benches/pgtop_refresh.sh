#!/usr/bin/env bash
# pgtop refresh benchmark (method of shared/reference/pgtop.md §6, reduced to what runs unattended):
# an ephemeral PostgreSQL (max_connections=620, pg_stat_statements), N active pg_sleep backends
# held by pgbench, then the stacktop pg core (examples/pg_bench.rs: the real collector + the
# view's row selection/classification, no drawing) for REFRESHES refreshes at a 1 s interval.
# Reports client CPU per refresh, RSS, statements and pg_stat_activity scans per refresh, new
# sessions. If pg_top (Debian `pgtop`) / pg_activity (Debian `pg-activity`) are installed, they are
# measured in the same conditions (pg_top in batch mode; pg_activity in a 200x50 tmux pane).
# Install them with: bash scripts/setup-test-deps.sh --bench
# usage: bash benches/pgtop_refresh.sh [N=500] [REFRESHES=60]      (run as root)
set -euo pipefail
N=${1:-500}
REFRESHES=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/postgres" ] || { echo "install Debian package postgresql (bash scripts/setup-test-deps.sh)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --example pg_bench >&2)
EX="$TARGET/release/examples/pg_bench"

DIR=$(mktemp -d /tmp/pgtop-bench.XXXXXX)
chown postgres: "$DIR"; chmod 755 "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PGPID=""; LOADPID=""
cleanup() {
  [ -n "$LOADPID" ] && kill "$LOADPID" 2>/dev/null || true
  if [ -n "$PGPID" ]; then
    kill -INT "$PGPID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$PGPID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups"
$AS_PG "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync --locale=C >/dev/null
cat >> "$DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 620
shared_buffers = 64MB
fsync = off
synchronous_commit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
track_activity_query_size = 2048
client_connection_check_interval = 0
EOF
(cd "$DIR" && exec setsid $AS_PG "$BIN/postgres" -D "$DIR/data" >"$DIR/log" 2>&1) &
PGPID=$!
for _ in $(seq 1 100); do "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.2; done
PSQL=("$BIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
"${PSQL[@]}" -c "CREATE EXTENSION pg_stat_statements; CREATE ROLE loadgen LOGIN;
  CREATE ROLE stk LOGIN SUPERUSER; CREATE ROLE pgt LOGIN SUPERUSER; CREATE ROLE pga LOGIN SUPERUSER;"

echo "SELECT pg_sleep(900);" > "$DIR/sleep.sql"
"$BIN/pgbench" -n -c "$N" -j 4 -T 900 -f "$DIR/sleep.sql" -h 127.0.0.1 -p "$PORT" -U loadgen postgres >"$DIR/pgbench.log" 2>&1 &
LOADPID=$!
for i in $(seq 1 300); do
  A=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE usename='loadgen' AND state='active'")
  [ "$A" -ge "$N" ] && break
  [ "$i" -eq 300 ] && { echo "only $A of $N backends active" >&2; exit 1; }
  sleep 0.2
done
echo "load: $A active pg_sleep backends" >&2

sessions() { "${PSQL[@]}" -c "SELECT sum(sessions) FROM pg_stat_database"; }
# statements per refresh and pg_stat_activity scans per refresh for a role
stmt_stats() {
  "${PSQL[@]}" -c "SELECT coalesce(sum(calls),0) || ' ' || coalesce(sum(calls) FILTER (WHERE query ILIKE '%pg_stat_activity%' AND query NOT ILIKE '%pg_attribute%'),0)
    || ' ' || round(coalesce(sum(total_exec_time) FILTER (WHERE query ILIKE '%pg_stat_activity%' AND query NOT ILIKE '%pg_attribute%'),0)::numeric, 1)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '$1'"
}
report() { # label role refreshes cpu_s rss_kb sessions_before sessions_after [extra json]
  read -r calls scans exec_ms <<<"$(stmt_stats "$2")"
  python3 - "$@" "$calls" "$scans" "$exec_ms" <<'PY'
import json, sys
label, role, refr, cpu, rss, s0, s1, extra, calls, scans, exec_ms = sys.argv[1:12]
refr = max(float(refr), 1)
d = {"tool": label, "refreshes": int(float(refr)), "client_cpu_ms_per_refresh": round(float(cpu) * 1000 / refr, 2),
     "rss_mb": round(int(rss) / 1024, 1), "sql_stmts_per_refresh": round(int(calls) / refr, 2),
     "pg_stat_activity_scans_per_refresh": round(int(scans) / refr, 2),
     "server_exec_ms_per_refresh": round(float(exec_ms) / refr, 2), "new_sessions": int(s1) - int(s0) - 1}
if extra: d.update(json.loads(extra))
print(json.dumps(d))
PY
}

# --- stacktop pg core ---
"${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
S0=$(sessions)
OUT=$("$EX" "host=127.0.0.1 port=$PORT user=stk dbname=postgres sslmode=disable" "$REFRESHES" 1000)
S1=$(sessions)
CPU=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['cpu_ms_per_refresh']*d['refreshes']/1000)" "$OUT")
RSS=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['hwm_kb'])" "$OUT")
# (the one-off column detection at connect reads pg_attribute, not the view: not counted as a scan)
report "stacktop pg core" stk "$REFRESHES" "$CPU" "$RSS" "$S0" "$S1" "$OUT"

# --- pg_top batch mode (Debian package pgtop), same window ---
if command -v pg_top >/dev/null; then
  "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
  S0=$(sessions)
  T=$(bash -c "pg_top -b -s 1 -x $REFRESHES -h 127.0.0.1 -p $PORT -U pgt -d postgres >/dev/null 2>&1; times" | tail -1)
  S1=$(sessions)
  CPU=$(python3 -c "import re,sys; v=[float(m[0])*60+float(m[1]) for m in re.findall(r'(\d+)m([\d.]+)s', sys.argv[1])]; print(sum(v))" "$T")
  report "pg_top $(dpkg-query -W -f '${Version}' pgtop 2>/dev/null) batch" pgt "$REFRESHES" "$CPU" 0 "$S0" "$S1" '{"rss_mb":null}'
fi

# --- pg_activity (Debian package pg-activity) in a 200x50 tmux pane ---
if command -v pg_activity >/dev/null && command -v tmux >/dev/null; then
  "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
  S0=$(sessions)
  SESS="pgabench$$"
  tmux new-session -d -s "$SESS" -x 200 -y 50 \
    "bash -c 'timeout -s INT $((REFRESHES + 2)) pg_activity -h 127.0.0.1 -p $PORT -U pga -d postgres --refresh 1 >/dev/null 2>&1; times > $DIR/pga.times; cat /proc/self/status > /dev/null'"
  for _ in $(seq 1 $((REFRESHES * 2 + 40))); do [ -s "$DIR/pga.times" ] && break; sleep 0.5; done
  tmux kill-session -t "$SESS" 2>/dev/null || true
  S1=$(sessions)
  T=$(tail -1 "$DIR/pga.times" 2>/dev/null || echo "0m0s 0m0s")
  CPU=$(python3 -c "import re,sys; v=[float(m[0])*60+float(m[1]) for m in re.findall(r'(\d+)m([\d.]+)s', sys.argv[1])]; print(sum(v))" "$T")
  # refreshes = calls of its most frequent pg_stat_activity statement (the list query)
  R=$("${PSQL[@]}" -c "SELECT coalesce(max(calls),0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid=s.userid
       WHERE r.rolname='pga' AND query ILIKE '%pg_stat_activity%'")
  report "pg_activity $(dpkg-query -W -f '${Version}' pg-activity 2>/dev/null) tmux" pga "$R" "$CPU" 0 "$S0" "$S1" '{"rss_mb":null}'
fi
