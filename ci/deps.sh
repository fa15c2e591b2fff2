#!/bin/sh
# deps.sh - installs the Debian 12 packages the build, tests and CI need.
# Idempotent and quiet when everything is present; needs root (or sudo).
set -eu
PKGS="build-essential make pkg-config libpcap-dev libcjson-dev libcunit1-dev lcov valgrind nodejs npm tcpdump"
# The runner's operator surface: its HTTP endpoint and systemd notifications.
PKGS="$PKGS libmicrohttpd-dev libsystemd-dev"
# The browser test of the status page (large: about 100 MB with its libraries).
PKGS="$PKGS chromium curl"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# A machine may carry Node from another source (nodesource): node + npm on PATH is enough.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -vxE 'nodejs|npm' | tr '\n' ' ')
fi
missing=$(echo "$missing" | xargs)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps.sh: missing packages: $missing" >&2
    echo "deps.sh: run this script as root (or install sudo) to install them" >&2
    exit 1
fi
echo "deps.sh: installing $missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
