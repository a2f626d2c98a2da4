#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine. Idempotent; apt only runs when
# something is missing. Needs root (as CI has).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt-missing.sh

apt_install_missing unshare:util-linux ps:procps file:file python3:python3
for part in e2e bench; do
  if [ -f "$part/setup.sh" ]; then bash "$part/setup.sh"; fi
done
