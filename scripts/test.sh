#!/usr/bin/env bash
# The whole test suite, as the README's quick start runs it: installs what a fresh Debian 12
# machine lacks (as root), then unit + integration tests, the container end-to-end suite, and
# the benchmark smoke run. Each part fails loudly; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step "install test dependencies"
bash scripts/setup.sh

step "cargo build (every package: pidone, pidone-check, the test helpers, the benchmark)"
# `cargo test` builds examples but not the testkit/ package's programs the tests run as children.
cargo build --release --workspace --all-targets

step "cargo test (unit, integration, property tests)"
cargo test --release --workspace 2>&1 | tee -a "$log"

if [ -f e2e/run.sh ]; then
  step "end-to-end: real containers with podman"
  bash e2e/run.sh 2>&1 | tee -a "$log"
fi

if [ -f bench/run.sh ]; then
  step "benchmark smoke run (fails only on gross regressions)"
  bash bench/run.sh --smoke 2>&1 | tee -a "$log"
fi

# One closing line for the whole suite: cargo's own last line is the (empty) doc-test run.
cargo_passed=$(grep -oE '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
e2e_passed=$(grep -cE '^  ok ' "$log" || true)
step "all tests passed"
echo "tests: $((cargo_passed + e2e_passed)) passed, 0 failed"
