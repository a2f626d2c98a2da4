#!/usr/bin/env bash
# pidone-check --image: its overhead over a bare `podman run -d` + `podman stop` (+ `rm`) of the
# same image (median of N), and the CPU pidone-check uses while it watches a running container.
#
#   cargo build --release --workspace --all-targets && bash bench/check-image.sh [N]
#
# As root, with podman (e2e/setup.sh). Builds a FROM scratch image (pidone + graceful) under a
# unique tag and removes it at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF="$ROOT/e2e/containers.conf"
T=${CARGO_TARGET_DIR:-$ROOT/target}/release
N=${1:-10}
TAG=localhost/pidone-check-bench-$$:1
CTX=$(mktemp -d)
trap 'podman rmi -f "$TAG" >/dev/null 2>&1; rm -rf "$CTX"' EXIT
cp "$T/pidone" "$T/examples/graceful" "$CTX/"
cat >"$CTX/Containerfile" <<'CF'
FROM scratch
COPY pidone /usr/local/bin/pidone
COPY graceful /app/graceful
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/pidone","--","/app/graceful"]
CF
podman build --format docker -q -t "$TAG" "$CTX" >/dev/null
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%d\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

bare=() bare_rm=() check=()
for i in $(seq "$N"); do
    t0=$(now)
    podman run -d --name "pcb-$$-$i" "$TAG" >/dev/null
    podman stop -t 10 "pcb-$$-$i" >/dev/null
    t1=$(now)
    podman rm -f "pcb-$$-$i" >/dev/null
    t2=$(now)
    bare+=($(((t1 - t0) / 1000000)))
    bare_rm+=($(((t2 - t0) / 1000000)))
    t0=$(now)
    "$T/pidone-check" --image "$TAG" --ready-log 'graceful: ready' >/dev/null 2>&1
    t1=$(now)
    check+=($(((t1 - t0) / 1000000)))
done
b=$(printf '%s\n' "${bare[@]}" | median)
br=$(printf '%s\n' "${bare_rm[@]}" | median)
c=$(printf '%s\n' "${check[@]}" | median)
echo "median of $N: podman run -d + stop: ${b} ms; + rm: ${br} ms; pidone-check --image: ${c} ms (+$((c - br)) ms over run+stop+rm)"

# CPU while watching: pidone-check's utime+stime (all threads) over 20 s of a 30 s --ready-after.
"$T/pidone-check" --image "$TAG" --ready-after 30s >/dev/null 2>&1 &
pid=$!
sleep 5
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }           # clock ticks, all threads
run_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{n += $1} END {print n}'; } # ns on CPU
c0=$(cpu) n0=$(run_ns)
sleep 20
c1=$(cpu) n1=$(run_ns)
wait "$pid" || true
hz=$(getconf CLK_TCK)
echo "pidone-check CPU while waiting and sampling (20 s): utime+stime $((c1 - c0)) ticks = $(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.2f", 100 * t / hz / 20}')% of one CPU; schedstat $(((n1 - n0) / 1000000)) ms = $(awk -v n=$((n1 - n0)) 'BEGIN {printf "%.2f", n / 1e9 / 20 * 100}')%"
