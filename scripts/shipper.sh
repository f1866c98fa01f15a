#!/usr/bin/env bash
# Installs one real log shipper from Debian for the shipper tests: `scripts/shipper.sh install rsyslog|syslog-ng`.
# rsyslog and syslog-ng cannot be installed together (each package removes the other), so the tests install the
# one they run just before running it. Nothing is started: the tests run the shipper in the foreground themselves.
set -euo pipefail

case "${1:-} ${2:-}" in
  "install rsyslog") packages=(rsyslog rsyslog-elasticsearch) ;;
  "install syslog-ng") packages=(syslog-ng-core syslog-ng-mod-http syslog-ng-scl) ;;
  *) echo "usage: $0 install rsyslog|syslog-ng" >&2; exit 2 ;;
esac

installed() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

if installed; then
  exit 0
fi
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
echo "installing ${packages[*]} (apt)..." >&2
# policy-rc.d answers 101 ("not allowed") to the packages' scripts: the system daemon is not started.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
installed
