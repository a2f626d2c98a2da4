#!/usr/bin/env bash
# Installs what bench/run.sh needs on a fresh Debian 12 machine (run as root, as CI does).
# Idempotent: apt only runs when something is missing.
#   tini       -> /usr/bin/tini-static (and the dynamic /usr/bin/tini)
#   dumb-init  -> /usr/bin/dumb-init (Debian ships only a dynamically linked build)
#   catatonit  -> /usr/bin/catatonit (static)
#   file       -> the linkage check in run.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/apt-missing.sh"

apt_install_missing tini-static:tini dumb-init:dumb-init catatonit:catatonit file:file
