#!/usr/bin/env bash
# The whole test suite, as the README's quick start runs it: installs what a fresh Debian 12
# machine lacks (as root), then unit + integration tests, the container end-to-end suite, and
# the benchmark smoke run. Each part fails loudly; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "install test dependencies"
bash scripts/setup.sh

step "cargo test (unit, integration, property tests)"
cargo build --release --all-targets
cargo test --release

if [ -f e2e/run.sh ]; then
  step "end-to-end: real containers with podman"
  bash e2e/run.sh
fi

if [ -f bench/run.sh ]; then
  step "benchmark smoke run (fails only on gross regressions)"
  bash bench/run.sh --smoke
fi

step "all tests passed"
