# Sourced by scripts/setup.sh and bench/setup.sh (fresh Debian 12, as root).
# apt_install_missing COMMAND:PACKAGE...: installs the packages whose command is not on PATH,
# so that a setup run on a ready machine never touches apt.
apt_install_missing() {
  local need=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
}
