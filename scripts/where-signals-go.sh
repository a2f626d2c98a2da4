#!/usr/bin/env bash
# The measurements behind the README's "Where signals go": the three common process-tree shapes
# under the real pidone as PID 1 of a fresh PID namespace, stopped like `docker stop` does (one
# SIGTERM to PID 1). Each line of output is stamped with the time since that SIGTERM.
# Needs root or user namespaces.
set -euo pipefail
source "$(dirname "$0")/demo-common.sh"
export PATH="$bin/examples:$PATH"

# Prefixes each line with the seconds since $work/t0 was written (blank before).
stamp() {
  local line now t0
  while IFS= read -r line; do
    if [ -s "$work/t0" ]; then
      now=${EPOCHREALTIME/./}
      t0=$(<"$work/t0")
      printf '%5.2fs  %s\n' "$(((now - t0) / 10000))e-2" "$line"
    else
      printf '        %s\n' "$line"
    fi
  done
}


# run READY_FILE PIDONE_ARGS... : starts pidone as PID 1, waits for READY_FILE, sends pidone one
# SIGTERM, waits for it to exit and prints its exit code.
run() {
  local ready=$1 code=0
  shift
  rm -f "$work/t0" "$ready"
  echo "\$ pidone $*" | sed "s| --ready-file [^ ]*||; s|$bin/examples/||g; s|$work/||g"
  "${ns[@]}" "$bin/pidone" "$@" > >(stamp) 2>&1 &
  local launcher=$!
  wait_for "$ready"
  local init
  init=$(pgrep -x -P "$launcher" pidone)
  echo "${EPOCHREALTIME/./}" >"$work/t0"
  kill -TERM "$init"
  wait "$launcher" || code=$?
  wait # the stamping of the last lines
  echo "        (pidone exited $code)"
  echo
}

cat >"$work/entrypoint.sh" <<EOF
#!/bin/sh
# without exec: the shell stays as the main process, the app is its child
echo "entrypoint: starting the app"
graceful --drain 3s --ready-file $work/ready
EOF
cat >"$work/entrypoint-exec.sh" <<EOF
#!/bin/sh
echo "entrypoint: starting the app"
exec graceful --drain 3s --ready-file $work/ready
EOF
cat >"$work/entrypoint-trap.sh" <<EOF
#!/bin/sh
# without exec, with a trap to clean up on SIGTERM: the shell runs it only once the app exits
trap 'echo "entrypoint: got SIGTERM, cleaning up"' TERM
echo "entrypoint: starting the app"
graceful --drain 1s --ready-file $work/ready
EOF
cat >"$work/master.sh" <<EOF
#!/bin/sh
# a master process that, like nginx or gunicorn, forwards SIGTERM to its own workers
graceful --drain 1s --ready-file $work/w1 &
w1=\$!
graceful --drain 1s --ready-file $work/w2 &
w2=\$!
# (it first does some work of its own, 0.2s here, like a master that closes its listeners)
trap 'echo "master: got SIGTERM"; sleep 0.2; echo "master: forwarding it to the workers"; kill -TERM \$w1 \$w2' TERM
while [ ! -e $work/w1 ] || [ ! -e $work/w2 ]; do sleep 0.01; done
touch $work/ready
wait \$w1 \$w2 # returns on the trapped TERM
wait \$w1 \$w2
echo "master: workers stopped, exiting 0"
EOF
chmod +x "$work"/*.sh

echo "### 1. A single process"
run "$work/ready" -- "$bin/examples/graceful" --drain 1s --ready-file "$work/ready"
run "$work/ready" -t 2s -- "$bin/examples/ignore_term" --ready-file "$work/ready"

echo "### 2. A shell entrypoint that starts the app without exec (app drains for 3s)"
run "$work/ready" -- "$work/entrypoint.sh"
run "$work/ready" -g -- "$work/entrypoint.sh"
run "$work/ready" -t 2s -- "$work/entrypoint-trap.sh"
run "$work/ready" -t 2s -g -- "$work/entrypoint-trap.sh"
run "$work/ready" -- "$work/entrypoint-exec.sh"

echo "### 3. A master that forwards SIGTERM to its two workers (each drains for 1s)"
run "$work/ready" -- "$work/master.sh"
run "$work/ready" -g -- "$work/master.sh"
