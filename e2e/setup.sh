#!/usr/bin/env bash
# Installs what e2e/run.sh needs on a fresh Debian 12 machine, as root: rootful podman with the
# runc runtime, busybox-static (one contrast case runs `sleep` without an init), and
# podman-docker (`docker` as a podman front end: pidone-check's tests drive the docker CLI path
# through /usr/bin/docker).
# Idempotent: apt only runs when a package is missing. Podman's configuration is not touched
# here: run.sh passes its own file through CONTAINERS_CONF (e2e/containers.conf), so the
# machine's /etc/containers stays as it was.
set -euo pipefail

pkgs=(podman runc conmon busybox-static podman-docker)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "[e2e/setup] installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends: runc satisfies podman's "crun | runc", and the rootless helpers
    # (uidmap, slirp4netns, fuse-overlayfs) are not needed as root.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "[e2e/setup] podman, runc, conmon, busybox-static, podman-docker already installed" >&2
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "[e2e/setup] warning: cargo not found; run.sh builds pidone and the examples with it" >&2
fi
