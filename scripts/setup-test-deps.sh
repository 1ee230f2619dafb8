#!/usr/bin/env bash
# setup-test-deps.sh -- install the server binaries stacktop's integration tests start
# themselves (PostgreSQL, MariaDB, Varnish). Idempotent and non-interactive: a package is
# installed only when one of its commands is missing, `apt-get update` runs at most once,
# and no system service is started (the tests run private instances on random loopback ports).
#
#   usage: bash scripts/setup-test-deps.sh [--bench]   (as root, or with sudo available)
#
# Packages (Debian 12): postgresql, mariadb-server, mariadb-client, varnish.
# --bench adds what benches/pgtop_refresh.sh compares against (not needed by the tests):
# pgtop (pg_top), pg-activity (pg_activity) and tmux (runs pg_activity in a pane).
set -euo pipefail

BENCH=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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
check mariadb-server "mariadbd + mariadb-install-db"    bash -c 'for c in mariadbd mariadb-install-db; do command -v $c >/dev/null || [ -x /usr/sbin/$c ] || exit 1; done'
check mariadb-client "mariadb client"                   have mariadb
check varnish        "varnishd + varnishlog"            bash -c 'for c in varnishd varnishlog; do command -v $c >/dev/null || [ -x /usr/sbin/$c ] || exit 1; done'
if [ "$BENCH" = 1 ]; then
  check pgtop        "pg_top (benchmark comparison)"    have pg_top
  check pg-activity  "pg_activity (benchmark comparison)" have pg_activity
  check tmux         "tmux (runs pg_activity in a pane)" have tmux
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-test-deps: nothing to do"
  exit 0
fi

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
