#!/usr/bin/env bash
# pgtop refresh benchmark (method of shared/reference/pgtop.md §6, reduced to what runs unattended):
# an ephemeral PostgreSQL of the chosen major (max_connections = backends + 40,
# pg_stat_statements), N backends held by pgbench (pg_sleep, plus lock chains on request), then
# stacktop's pgtop (examples/pg_bench.rs: the real collector, the snapshot applied to the pgtop
# view through the app, and the whole screen drawn by the real render into a 200x50 buffer) for
# REFRESHES refreshes at a 1 s interval. If pg_top (Debian `pgtop`) / pg_activity (Debian
# `pg-activity`) are installed, they are measured in the same run against the same server
# (pg_top in batch mode; pg_activity drawing in a 200x50 tmux pane).
# Install them with: bash scripts/setup-test-deps.sh --bench (also installs the majors).
#
# Figures per tool (one JSON line each): client CPU per refresh (user+sys CPU time of the
# process, not wall time: the figure does not depend on other load on the machine; stacktop's is
# steady state after the first refresh, `total_cpu_ms_per_refresh` includes its start-up like
# the others'), peak RSS, SQL statements and pg_stat_activity scans per refresh (from
# pg_stat_statements, by role), new sessions (PostgreSQL 14+: pg_stat_database.sessions).
#
# usage (as root): bash benches/pgtop_refresh.sh [OPTIONS] [N] [REFRESHES]
#   --major M          PostgreSQL major: 12-18 from the pinned builds that
#                      scripts/setup-test-deps.sh installs under $STACKTOP_PG_MAJORS_DIR
#                      (default /var/cache/stacktop-test/pg-majors); default (or env
#                      STACKTOP_BENCH_MAJOR): Debian's packaged PostgreSQL (15 on Debian 12)
#   --backends N       backends (default 500), all active in pg_sleep unless --lock-chains
#   --lock-chains L    L of the N backends in lock chains of three (L/3 chains): an
#                      idle-in-transaction holder of a row lock, a waiter that holds a row lock
#                      of its own and waits for the holder's, and a waiter behind that one
#   --refreshes R      refreshes per tool (default 60)
#   --rss-minutes M    RSS over time: stacktop only, M minutes of 1 s refreshes, RSS sampled
#                      every minute (`rss_samples_kb`); pg_top and pg_activity are not run
#   --only-stacktop    do not run pg_top and pg_activity
#   --wrap 'CMD ARGS'  run stacktop's side under CMD, e.g. --wrap 'valgrind --tool=callgrind
#                      --callgrind-out-file=/tmp/cg.out' --only-stacktop (its CPU figures are then
#                      the wrapper's)
# Client programs (psql, pgbench) are Debian's for every major.
set -euo pipefail
N=500; REFRESHES=60; WRAP=(); MAJOR=${STACKTOP_BENCH_MAJOR:-}; CHAINS=0; RSS_MIN=0; OTHERS=1; POS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --major) MAJOR=${2:?--major needs a value}; shift 2 ;;
    --backends) N=${2:?}; shift 2 ;;
    --lock-chains) CHAINS=${2:?}; shift 2 ;;
    --refreshes) REFRESHES=${2:?}; shift 2 ;;
    --rss-minutes) RSS_MIN=${2:?}; shift 2 ;;
    --only-stacktop) OTHERS=0; shift ;;
    --wrap) read -r -a WRAP <<<"${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    -*) echo "pgtop_refresh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) POS+=("$1"); shift ;;
  esac
done
[ ${#POS[@]} -ge 1 ] && N=${POS[0]}
[ ${#POS[@]} -ge 2 ] && REFRESHES=${POS[1]}
for v in "$N" "$REFRESHES" "$CHAINS" "$RSS_MIN" ${MAJOR:+"$MAJOR"}; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "pgtop_refresh: not a number: $v" >&2; exit 2; }
done
[ "$CHAINS" -le "$N" ] || { echo "pgtop_refresh: --lock-chains $CHAINS > --backends $N" >&2; exit 2; }
RSS_EVERY=0
if [ "$RSS_MIN" -gt 0 ]; then REFRESHES=$((RSS_MIN * 60)); RSS_EVERY=60; OTHERS=0; fi
CHAIN_N=$((CHAINS / 3))                 # chains of three
SLEEPERS=$((N - CHAIN_N * 3))

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEB_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$DEB_BIN/psql" ] && [ -x "$DEB_BIN/pgbench" ] || { echo "install Debian package postgresql (bash scripts/setup-test-deps.sh)" >&2; exit 1; }
if [ -n "$MAJOR" ]; then
  SRV_BIN=${STACKTOP_PG_MAJORS_DIR:-/var/cache/stacktop-test/pg-majors}/node_modules/pg$MAJOR/native/bin
  if [ ! -x "$SRV_BIN/postgres" ] && [ -x "/usr/lib/postgresql/$MAJOR/bin/postgres" ]; then SRV_BIN=/usr/lib/postgresql/$MAJOR/bin; fi
  [ -x "$SRV_BIN/postgres" ] || { echo "PostgreSQL $MAJOR not found in $SRV_BIN: run bash scripts/setup-test-deps.sh" >&2; exit 1; }
else
  SRV_BIN=$DEB_BIN
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release --example pg_bench >&2)
EX="$TARGET/release/examples/pg_bench"
ulimit -n 65536 2>/dev/null || true

DIR=$(mktemp -d /tmp/pgtop-bench.XXXXXX)
chown postgres: "$DIR"; chmod 755 "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PGPID=""; LOADPIDS=()
cleanup() {
  for p in "${LOADPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$PGPID" ]; then
    kill -INT "$PGPID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$PGPID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
AS_PG="setpriv --reuid=postgres --regid=postgres --init-groups"
$AS_PG "$SRV_BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync --locale=C >/dev/null
SRV_MAJOR=$(cut -d. -f1 "$DIR/data/PG_VERSION")
cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = $((N + 40))
shared_buffers = 64MB
fsync = off
synchronous_commit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
track_activity_query_size = 2048
CONF
[ "$SRV_MAJOR" -ge 14 ] && echo "client_connection_check_interval = 0" >> "$DIR/data/postgresql.conf"
(cd "$DIR" && exec setsid $AS_PG "$SRV_BIN/postgres" -D "$DIR/data" >"$DIR/log" 2>&1) &
PGPID=$!
for _ in $(seq 1 100); do "$DEB_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.2; done
PSQL=("$DEB_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
VERSION=$("${PSQL[@]}" -c "SHOW server_version")
"${PSQL[@]}" -c "CREATE EXTENSION pg_stat_statements; CREATE ROLE loadgen LOGIN;
  CREATE ROLE lockhold LOGIN; CREATE ROLE lockwait LOGIN; CREATE ROLE lockwait2 LOGIN;
  CREATE ROLE stk LOGIN SUPERUSER; CREATE ROLE pgt LOGIN SUPERUSER; CREATE ROLE pga LOGIN SUPERUSER;"

PGBENCH=("$DEB_BIN/pgbench" -n -h 127.0.0.1 -p "$PORT")
wait_for() { # wait_for WHAT WANT SQL : polls SQL (a count) until it reaches WANT
  local got i
  for i in $(seq 1 600); do
    got=$("${PSQL[@]}" -c "$3")
    [ "$got" -ge "$2" ] && return 0
    [ "$i" -eq 600 ] && { echo "only $got of $2 $1" >&2; tail -5 "$DIR"/*.log >&2; exit 1; }
    sleep 0.2
  done
}
if [ "$SLEEPERS" -gt 0 ]; then
  echo "SELECT pg_sleep(1800);" > "$DIR/sleep.sql"
  "${PGBENCH[@]}" -c "$SLEEPERS" -j 4 -t 1 -f "$DIR/sleep.sql" -U loadgen postgres >"$DIR/pgbench.log" 2>&1 &
  LOADPIDS+=($!)
  wait_for "active pg_sleep backends" "$SLEEPERS" "SELECT count(*) FROM pg_stat_activity WHERE usename='loadgen' AND state='active'"
fi
if [ "$CHAIN_N" -gt 0 ]; then
  "${PSQL[@]}" -c "CREATE TABLE bench_locks (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
    INSERT INTO bench_locks (id) SELECT g FROM generate_series(1, $CHAIN_N) g
      UNION ALL SELECT 100000 + g FROM generate_series(1, $CHAIN_N) g;
    GRANT SELECT, UPDATE ON bench_locks TO lockhold, lockwait, lockwait2;"
  # client-side \sleep inside the transaction: the holder is idle in transaction, holding the row
  printf '%s\n' '\set id :client_id + 1' 'BEGIN;' 'UPDATE bench_locks SET v = v + 1 WHERE id = :id;' \
    '\sleep 1800 s' 'END;' > "$DIR/hold.sql"
  printf '%s\n' '\set id :client_id + 1' '\set own :client_id + 100001' 'BEGIN;' \
    'UPDATE bench_locks SET v = v + 1 WHERE id = :own;' 'UPDATE bench_locks SET v = v + 1 WHERE id = :id;' 'END;' > "$DIR/wait1.sql"
  printf '%s\n' '\set own :client_id + 100001' 'UPDATE bench_locks SET v = v + 1 WHERE id = :own;' > "$DIR/wait2.sql"
  "${PGBENCH[@]}" -c "$CHAIN_N" -j 2 -t 1 -f "$DIR/hold.sql" -U lockhold postgres >"$DIR/hold.log" 2>&1 &
  LOADPIDS+=($!)
  wait_for "idle-in-transaction lock holders" "$CHAIN_N" "SELECT count(*) FROM pg_stat_activity WHERE usename='lockhold' AND state='idle in transaction'"
  "${PGBENCH[@]}" -c "$CHAIN_N" -j 2 -t 1 -f "$DIR/wait1.sql" -U lockwait postgres >"$DIR/wait1.log" 2>&1 &
  LOADPIDS+=($!)
  wait_for "first waiters" "$CHAIN_N" "SELECT count(*) FROM pg_stat_activity WHERE usename='lockwait' AND wait_event_type='Lock'"
  "${PGBENCH[@]}" -c "$CHAIN_N" -j 2 -t 1 -f "$DIR/wait2.sql" -U lockwait2 postgres >"$DIR/wait2.log" 2>&1 &
  LOADPIDS+=($!)
  wait_for "second waiters" "$CHAIN_N" "SELECT count(*) FROM pg_stat_activity WHERE usename='lockwait2' AND wait_event_type='Lock'"
fi
LOAD=$("${PSQL[@]}" -c "SELECT count(*) FILTER (WHERE state='active' AND wait_event_type IS DISTINCT FROM 'Lock') || ' active, '
  || count(*) FILTER (WHERE wait_event_type='Lock') || ' waiting on a lock, '
  || count(*) FILTER (WHERE state='idle in transaction') || ' idle in transaction'
  FROM pg_stat_activity WHERE usename IN ('loadgen','lockhold','lockwait','lockwait2')")
echo "PostgreSQL $VERSION ($SRV_BIN); load: $LOAD" >&2

if [ "$SRV_MAJOR" -ge 14 ]; then
  sessions() { "${PSQL[@]}" -c "SELECT sum(sessions) FROM pg_stat_database"; }
else
  sessions() { echo 0; } # pg_stat_database.sessions is new in 14
fi
EXEC_COL=total_exec_time; [ "$SRV_MAJOR" -lt 13 ] && EXEC_COL=total_time
# statements per refresh and pg_stat_activity scans per refresh for a role
stmt_stats() {
  "${PSQL[@]}" -c "SELECT coalesce(sum(calls),0) || ' ' || coalesce(sum(calls) FILTER (WHERE query ILIKE '%pg_stat_activity%' AND query NOT ILIKE '%pg_attribute%'),0)
    || ' ' || round(coalesce(sum($EXEC_COL) FILTER (WHERE query ILIKE '%pg_stat_activity%' AND query NOT ILIKE '%pg_attribute%'),0)::numeric, 1)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '$1'"
}
# runs a command and prints the CPU seconds (user+sys) and peak RSS (kB) of it and its children
measure() { python3 -c 'import resource,subprocess,sys
subprocess.run(sys.argv[2:], stdout=(subprocess.DEVNULL if sys.argv[1] == "quiet" else None))
r = resource.getrusage(resource.RUSAGE_CHILDREN); print(r.ru_utime + r.ru_stime, r.ru_maxrss)' "$@"; }
report() { # label role refreshes cpu_s rss_kb sessions_before sessions_after [extra json]
  read -r calls scans exec_ms <<<"$(stmt_stats "$2")"
  python3 - "$@" "$calls" "$scans" "$exec_ms" "$SRV_MAJOR" "$VERSION" "$N" "$CHAINS" <<'PY'
import json, sys
label, role, refr, cpu, rss, s0, s1, extra, calls, scans, exec_ms, major, version, n, chains = sys.argv[1:16]
refr = max(float(refr), 1)
d = {"tool": label, "pg": version, "backends": int(n), "lock_chain_backends": int(chains),
     "refreshes": int(float(refr)), "client_cpu_ms_per_refresh": round(float(cpu) * 1000 / refr, 2),
     "rss_mb": round(int(rss) / 1024, 1), "sql_stmts_per_refresh": round(int(calls) / refr, 2),
     "pg_stat_activity_scans_per_refresh": round(int(scans) / refr, 2),
     "server_exec_ms_per_refresh": round(float(exec_ms) / refr, 2),
     "new_sessions": int(s1) - int(s0) - 1 if int(major) >= 14 else None}
if extra: d.update(json.loads(extra))
print(json.dumps(d))
PY
}

# --- stacktop: collector + pgtop view + drawing at 200x50 ---
"$EX" "host=127.0.0.1 port=$PORT user=stk dbname=postgres sslmode=disable" 1 10 >/dev/null # warm the page cache
"${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
S0=$(sessions)
OUT=$(python3 -c 'import resource,subprocess,sys
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(out[:-1] + ", \"total_cpu_s\": %.3f}" % (r.ru_utime + r.ru_stime))' \
  ${WRAP[@]+"${WRAP[@]}"} "$EX" "host=127.0.0.1 port=$PORT user=stk dbname=postgres sslmode=disable" "$REFRESHES" 1000 "$RSS_EVERY")
S1=$(sessions)
CPU=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['cpu_ms_per_refresh']*d['refreshes']/1000)" "$OUT")
RSS=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['hwm_kb'])" "$OUT")
EXTRA=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); d['total_cpu_ms_per_refresh']=round(d.pop('total_cpu_s')*1000/d['refreshes'],2); d.pop('tool'); print(json.dumps(d))" "$OUT")
# (the one-off column detection at connect reads pg_attribute, not the view: not counted as a scan)
report "stacktop pgtop (collector + view + draw 200x50)" stk "$REFRESHES" "$CPU" "$RSS" "$S0" "$S1" "$EXTRA"
[ "$OTHERS" = 1 ] || exit 0

# --- pg_top batch mode (Debian package pgtop), same server ---
if command -v pg_top >/dev/null; then
  "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
  S0=$(sessions)
  read -r CPU RSS <<<"$(measure quiet pg_top -b -s 1 -x "$REFRESHES" -h 127.0.0.1 -p "$PORT" -U pgt -d postgres)"
  S1=$(sessions)
  report "pg_top $(dpkg-query -W -f '${Version}' pgtop 2>/dev/null) batch" pgt "$REFRESHES" "$CPU" "$RSS" "$S0" "$S1" '{}'
else
  echo "pg_top not installed: bash scripts/setup-test-deps.sh --bench" >&2
fi

# --- pg_activity (Debian package pg-activity) drawing in a 200x50 tmux pane ---
if command -v pg_activity >/dev/null && command -v tmux >/dev/null; then
  "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
  S0=$(sessions)
  SESS="pgabench$$"
  cat > "$DIR/pga.sh" <<SH
python3 -c 'import resource,subprocess,sys
subprocess.run(sys.argv[1:])
r = resource.getrusage(resource.RUSAGE_CHILDREN); open("$DIR/pga.out.tmp", "w").write("%s %s\n" % (r.ru_utime + r.ru_stime, r.ru_maxrss))' \
  timeout --foreground -k 5 -s INT $((REFRESHES + 2)) pg_activity -h 127.0.0.1 -p $PORT -U pga -d postgres --refresh 1
mv "$DIR/pga.out.tmp" "$DIR/pga.out"
SH
  tmux new-session -d -s "$SESS" -x 200 -y 50 "bash $DIR/pga.sh"
  for _ in $(seq 1 $((REFRESHES * 2 + 60))); do [ -s "$DIR/pga.out" ] && break; sleep 0.5; done
  tmux kill-session -t "$SESS" 2>/dev/null || true
  S1=$(sessions)
  read -r CPU RSS < "$DIR/pga.out" || { CPU=0; RSS=0; echo "pg_activity did not finish" >&2; }
  # refreshes = calls of its most frequent pg_stat_activity statement (the list query)
  R=$("${PSQL[@]}" -c "SELECT coalesce(max(calls),0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid=s.userid
       WHERE r.rolname='pga' AND query ILIKE '%pg_stat_activity%'")
  report "pg_activity $(dpkg-query -W -f '${Version}' pg-activity 2>/dev/null) tmux 200x50" pga "$R" "$CPU" "$RSS" "$S0" "$S1" '{}'
else
  echo "pg_activity/tmux not installed: bash scripts/setup-test-deps.sh --bench" >&2
fi
