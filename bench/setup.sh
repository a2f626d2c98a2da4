#!/usr/bin/env bash
# Installs what bench/run.sh needs on a fresh Debian 12 machine (run as root, as CI does).
# Idempotent: apt only runs when something is missing.
#   tini       -> /usr/bin/tini-static (and the dynamic /usr/bin/tini)
#   dumb-init  -> /usr/bin/dumb-init (Debian ships only a dynamically linked build)
#   catatonit  -> /usr/bin/catatonit (static)
#   file       -> the linkage check in run.sh
set -euo pipefail

need=()
command -v tini-static >/dev/null || need+=(tini)
command -v dumb-init >/dev/null || need+=(dumb-init)
command -v catatonit >/dev/null || need+=(catatonit)
command -v file >/dev/null || need+=(file)
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
