#!/usr/bin/env bash
# Idle CPU of the shell at a 1 s refresh: runs the release binary in a detached tmux pane
# (80x24, tmux's default TERM), samples utime+stime from /proc/PID/stat over SECONDS
# (default 30) and prints the share of one core. Extra arguments go to stacktop.
#   usage: bash benches/idle_cpu.sh [SECONDS] [stacktop args...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}; shift || true
command -v tmux >/dev/null || { echo "idle_cpu: tmux not found: apt-get install tmux" >&2; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/stacktop
sock=stacktop-idle-$$
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; }
trap cleanup EXIT
tmux -L "$sock" new-session -d -x 80 -y 24 "$bin --no-user-config --refresh 1s $*"
pid=""
for _ in $(seq 1 50); do
  pid=$(pgrep -f -n "^$bin --no-user-config" || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "idle_cpu: stacktop did not start" >&2; exit 1; }
sleep 3 # let start-up settle
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$pid"); s0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks "$pid"); s1=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v rss="$rss" 'BEGIN {
  cpu = (t1 - t0) / hz; wall = s1 - s0;
  printf "idle CPU: %.3f s over %.1f s = %.2f%% of one core; peak RSS %.1f MB\n", cpu, wall, 100 * cpu / wall, rss / 1024 }'
