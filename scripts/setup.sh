#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine. Idempotent; apt only runs when
# something is missing. Needs root (as CI has).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v unshare >/dev/null || need+=(util-linux)
command -v ps >/dev/null || need+=(procps)
command -v file >/dev/null || need+=(file)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
for part in e2e bench; do
  if [ -f "$part/setup.sh" ]; then bash "$part/setup.sh"; fi
done
