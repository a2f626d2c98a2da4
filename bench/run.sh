#!/usr/bin/env bash
# Benchmarks pidone against tini, dumb-init and catatonit, each as PID 1 of a fresh PID
# namespace, with "no init" measured in the same run (see BENCHMARKS.md for what each number
# means and the recorded results).
#
#   bench/run.sh            the whole table (about 20 minutes), Markdown on stdout
#   bench/run.sh --smoke    under a minute; exits 1 only on a gross regression of pidone:
#                           any idle wake-up, a binary over twice bench/baseline.env's size,
#                           idle RSS over the 1 MiB budget, zombies left after reaping.
#                           Timings are printed, never judged.
#
# Further arguments go to the harness, e.g. `bench/run.sh --only startup,latency
# --rounds-scale 0.5` (tests: size,startup,latency,cold,idle,stop,reap; `--cold-idle 5,990,1000`). Needs root (namespaces,
# mounting /proc); run bench/setup.sh first on a fresh machine. The full run also builds
# pidone the other way (static-pie if the default build is static, and vice versa) into
# $TARGET/bench-alt, to compare the two linkages in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
if [ "${1:-}" = --smoke ]; then
  mode=smoke
  shift
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: needs root (new PID and mount namespaces)" >&2
  exit 2
fi

target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac

echo "bench: building (cargo build --release)" >&2
cargo build --release --quiet -p pidone -p pidone-bench --bins
pidone=$target/release/pidone
harness=$target/release/bench_harness
child=$target/release/bench_child

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every init runs from a copy made here: how a binary got into the page cache changes what
# its page faults cost. The linker writes pidone through a mapping, in small pages; a file
# written by cp (or read back from disk, as Debian's inits are) sits in large folios, which
# the kernel maps in fewer, cheaper steps. Measured on the same bytes: start-up overhead
# +745 µs run from target/release, +648 µs from a copy (tini-static +651 µs).
mkdir "$work/bin"
staged() {
  cp "$1" "$work/bin/$2"
  echo "$work/bin/$2"
}

args=(--child "$child" --log "$work/inits.log" --init "pidone=$(staged "$pidone" pidone),--")

if [ "$mode" = smoke ]; then
  recorded=$(sed -n 's/^PIDONE_RECORDED_SIZE=//p' bench/baseline.env)
  "$harness" --smoke --recorded-size "$recorded" "${args[@]}" "$@"
  exit 0 # a failing harness has already ended the script (set -e) with its status
fi

for tool in tini-static dumb-init catatonit; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench/run.sh: $tool not found; run bench/setup.sh (as root) first" >&2
    exit 2
  fi
done

# The same sources linked the other way, for the static vs static-pie comparison.
if file -b "$pidone" | grep -q static-pie; then
  alt_name=pidone-static alt_flags="-C target-feature=+crt-static -C relocation-model=static"
else
  alt_name=pidone-static-pie alt_flags="-C target-feature=+crt-static"
fi
echo "bench: building $alt_name for comparison (RUSTFLAGS='$alt_flags')" >&2
CARGO_TARGET_DIR=$target/bench-alt RUSTFLAGS=$alt_flags cargo build --release --quiet --bin pidone
args+=(--init "$alt_name=$(staged "$target/bench-alt/release/pidone" "$alt_name"),--")
for tool in tini-static dumb-init catatonit; do
  args+=(--init "$tool=$(staged "$(command -v "$tool")" "$tool"),--")
done

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
cat <<INFO
# pidone benchmark run

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)
- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
- pidone: $(git rev-parse --short HEAD 2>/dev/null || echo "?")$(git diff --quiet HEAD -- src Cargo.toml .cargo 2>/dev/null || echo " (modified)"), $(rustc --version)
- tini $(version tini) (tini-static), dumb-init $(version dumb-init), catatonit $(version catatonit) (Debian packages)
- command: bench/run.sh $*

INFO
"$harness" "${args[@]}" "$@"
echo
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
