# Sourced by scripts/demo.sh and scripts/where-signals-go.sh: builds pidone and the example
# apps, and sets up what both use to run pidone as PID 1 of a fresh PID namespace.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet --bin pidone --examples
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ns=(unshare --pid --fork --mount-proc --kill-child)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --pid --fork --mount-proc --kill-child)

wait_for() { for _ in $(seq 1000); do [ -e "$1" ] && return 0; sleep 0.01; done; echo "timed out waiting for $1" >&2; exit 1; }
