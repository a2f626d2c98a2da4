#!/usr/bin/env bash
# Regenerates link/hot-symbols.txt: the functions pidone runs at start-up, while it forwards a
# signal, reaps and stops (first), then those of the option, logging and error paths. build.rs
# hands the file to the linker (lld's --symbol-ordering-file), which lays those functions out
# side by side at the start of .text. Why: the kernel maps a binary's text in 64 KiB
# fault-around windows, so code run at start-up that is spread over the whole binary makes
# every window resident (idle RSS) and costs a page fault each (start-up time), and a first
# signal after idle walks cold pages (latency). Numbers: BENCHMARKS.md, "Code layout".
#
# Needs root (PID namespaces), valgrind, perf (linux-perf) and util-linux. Run it after a change that adds or
# renames functions on these paths; a stale entry only costs locality, never correctness.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The release build with its symbols (build.rs), so that the tools can name the functions. Only
# that: another profile setting would change the symbols' hashes, and the list would not match.
# The hashes also follow the features cargo unifies over the packages of a build, so each way
# pidone is built gets its own names: `-p pidone` (what one ships, Dockerfile.example), the
# whole workspace (`cargo build --release`, the quick start and the tests), and the benchmark's
# `-p pidone -p pidone-bench`. The list holds all three; a link uses the names it has.
configs=("-p pidone" "--workspace" "-p pidone -p pidone-bench")
bin=$work/target/release/pidone
build() {
  # shellcheck disable=SC2086 # $config is a list of cargo arguments
  PIDONE_KEEP_SYMBOLS=1 cargo build --release $config --target-dir "$work/target" \
    --manifest-path "$root/Cargo.toml" 2>/dev/null
}

# profiled NAME [ENV=VAL...] PIDONE [ARGS...]: pidone as PID 1 of a new PID namespace, profiled.
# Tools: "callgrind" (valgrind; names every function run, but valgrind's CPU has no vDSO and
# its own CPU features, so glibc takes other start-up paths there) or "faults" (native, under
# perf: names the function of every instruction page fault, which fault-around makes only the
# first one of each 64 KiB window; so it runs on a binary already laid out, to catch what the
# callgrind list missed).
tool=callgrind
# Callgrind's extra options, e.g. --toggle-collect to count only inside one function.
collect=()
profiled() {
  local name=$1; shift
  case $tool in
  callgrind)
    unshare --pid --fork --mount-proc \
      valgrind --tool=callgrind "${collect[@]}" --demangle=no --compress-strings=no --compress-pos=no \
      --callgrind-out-file="$work/$name.%p.out" "$@" >/dev/null 2>&1 || true ;;
  faults)
    perf record -q -e page-faults -c 1 -d -o "$work/$name.perf" -- \
      unshare --pid --fork --mount-proc "$@" >/dev/null 2>&1 || true
    perf script -i "$work/$name.perf" --no-demangle -F comm,ip,sym,addr 2>/dev/null \
      > "$work/$name.faults" || true ;;
  esac
}
# Starts a profiled pidone whose command touches $work/NAME.ready once it runs, then sends
# SIGNAL to pidone and waits for the end.
signalled() {
  local name=$1 signal=$2; shift 2
  rm -f "$work/$name.ready"
  profiled "$name" "$@" &
  local launcher=$! tries=0
  until [ -e "$work/$name.ready" ]; do
    sleep 0.05; tries=$((tries + 1))
    [ $tries -lt 600 ] || { echo "profile.sh: $name never got ready" >&2; exit 1; }
  done
  # pidone is PID 1 of the new namespace: the process whose namespace PID is 1.
  local init=""
  for p in $(pgrep -f -- "$bin"); do
    [ "$(awk '/^NSpid/ {print $NF}' "/proc/$p/status")" = 1 ] && init=$p
  done
  kill "-$signal" "$init"
  wait "$launcher" || true
}

# Group 0: the event loop and what it calls, from the wake-up on a signal to the exit: the
# path of a first signal after idle, so the fewest code pages (TLB entries) serve it.
signal_path() {
  collect=(--toggle-collect='*6driver5serve*')
  signalled serve TERM "$bin" -- sh -c "touch $work/serve.ready; exec sleep 100"
  collect=()
}
scenarios() {
# Group 1: what every container runs (no options, as `ENTRYPOINT ["pidone", "--"]`).
profiled start "$bin" -- /bin/true
signalled stop TERM "$bin" -- sh -c "touch $work/stop.ready; exec sleep 100"
signalled cleanup TERM "$bin" -- sh -c \
  "sleep 100 & sleep 100 & trap 'exit 0' TERM; touch $work/cleanup.ready; while :; do sleep 0.1; done"
signalled forward HUP "$bin" -- sh -c \
  "trap 'exit 0' HUP; touch $work/forward.ready; while :; do sleep 0.1; done"
# Group 2: options (clap), logging, the grace deadline and failures.
profiled options "$bin" -g -s -e 3 --grace 2s -- /bin/true
signalled grace TERM "$bin" -vvv -w --grace 1s -- sh -c \
  "trap '' TERM; sleep 0 & touch $work/grace.ready; while :; do sleep 0.1; done"
profiled missing "$bin" -- /nonexistent/command
profiled json env PIDONE_LOG=debug "$bin" --log-format json -- /bin/true
profiled usage "$bin" --gracee 1s -- /bin/true
}

# The scenarios of groups 1 and 2, as merge takes them.
group1=(start stop cleanup forward)
group2=(options grace missing json usage)

# merge GROUP-FILE SCENARIO...: appends to the group's list the functions the scenarios ran
# (callgrind) or faulted in (perf) that no list has yet.
merge() {
  local list=$1; shift
  python3 - "$work" "$bin" "$list" "$@" <<'PY'
import glob, os, re, subprocess, sys
work, binary, out, scenarios = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
defined = set(subprocess.run(["nm", "--defined-only", "-j", binary], capture_output=True,
                             text=True, check=True).stdout.split())
seen = set()
for other in glob.glob(f"{work}/*/group*.txt"):
    seen.update(open(other).read().split())
new = []
def add(name):
    if name in defined and name not in seen:
        seen.add(name); new.append(name)
for scenario in scenarios:
    for path in sorted(glob.glob(f"{work}/{scenario}.*.out")):
        for line in open(path):
            if line.startswith("fn="):
                add(line[3:].strip())
    faults = f"{work}/{scenario}.faults"
    if os.path.exists(faults):
        for line in open(faults):
            # "comm ip sym addr sym": an instruction fetch faults where ip == addr.
            f = line.split()
            hexes = [t for t in f[1:] if re.fullmatch(r"[0-9a-f]+", t)]
            if f and f[0] == "pidone" and len(hexes) >= 2 and hexes[0] == hexes[1]:
                add(f[f.index(hexes[0]) + 1])
if "child" in scenarios:
    # The child's side of fork: it execs before callgrind writes a profile.
    add_all = sorted(s for s in defined if any(k in s for k in (
        "child_setup", "restore_in_child", "tcsetpgrp", "getpgrp", "setpgid", "isatty",
        "tcgetattr", "execvp", "execve", "strchrnul", "_exit")))
    for name in add_all:
        add(name)
# Sorted: the order inside a group hardly matters (the group is laid out as one block), and
# callgrind lists functions in an order of its own that changes from run to run.
new.sort()
with open(out, "a") as f:
    f.writelines(n + "\n" for n in new)
for n in new:
    print(f"  + {n}", file=sys.stderr)
print(len(new))
PY
}
# Group by group over the builds (0 of each, then 1 of each, ...), so that in every link the
# names it has keep their group order.
publish() {
  local g c
  for g in 0 1 2; do
    for c in "${!configs[@]}"; do cat "$work/$c/group$g.txt"; done
  done > "$root/link/hot-symbols.txt"
}

for c in "${!configs[@]}"; do mkdir "$work/$c"; for g in 0 1 2; do : > "$work/$c/group$g.txt"; done; done
for c in "${!configs[@]}"; do
  config=${configs[$c]}
  echo "profile.sh: build $config" >&2
  build
  rm -f "$work"/*.out "$work"/*.faults "$work"/*.perf
  tool=callgrind
  signal_path
  merge "$work/$c/group0.txt" serve >/dev/null
  scenarios
  merge "$work/$c/group1.txt" "${group1[@]}" child >/dev/null
  merge "$work/$c/group2.txt" "${group2[@]}" >/dev/null
  publish
  tool=faults
  for pass in 1 2 3 4 5 6; do
    rm -f "$work"/*.faults
    build
    scenarios
    added=$(( $(merge "$work/$c/group1.txt" "${group1[@]}") +
              $(merge "$work/$c/group2.txt" "${group2[@]}") ))
    publish
    echo "profile.sh: native pass $pass added $added functions" >&2
    [ "$added" -gt 0 ] || break
  done
done
echo "link/hot-symbols.txt: $(wc -l < "$root/link/hot-symbols.txt") functions" >&2
