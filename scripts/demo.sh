#!/usr/bin/env bash
# Builds pidone and the example apps, then shows pidone as PID 1 of a fresh PID namespace:
# signal forwarding, zombie reaping, and the grace deadline. Needs root or user namespaces.
set -euo pipefail
source "$(dirname "$0")/demo-common.sh"

# Starts "pidone ARGS..." as PID 1 in the background; sets $init to pidone's pid as seen here.
start() {
  "${ns[@]}" "$bin/pidone" "$@" &
  local launcher=$!
  for _ in $(seq 200); do
    init=$(cat "/proc/$launcher/task/$launcher/children" 2>/dev/null | awk '{print $1}')
    [ -n "$init" ] && return 0
    sleep 0.01
  done
  echo "pidone did not start" >&2
  exit 1
}


echo "### 1. Forwarding: pidone passes signals on; the app drains and exits 0 on SIGTERM"
start -- "$bin/examples/graceful" --drain 300ms --ready-file "$work/ready1"
wait_for "$work/ready1"
kill -HUP "$init"
sleep 0.2
kill -TERM "$init"
wait || true

echo
echo "### 2. Reaping: the app leaves 200 orphans that exit; pidone (PID 1) reaps every one"
"${ns[@]}" "$bin/pidone" --report text -- "$bin/examples/leaky" --zombies 200 --exit-after 500ms || true

echo
echo "### 3. Grace deadline: an app that ignores SIGTERM is killed when --grace (2s) runs out"
start -t 2s -- "$bin/examples/ignore_term" --ready-file "$work/ready3"
wait_for "$work/ready3"
started=$(date +%s%N)
kill -TERM "$init"
wait || true
echo "stopped $(( ($(date +%s%N) - started) / 1000000 )) ms after SIGTERM (exit 137 = 128 + SIGKILL)"
