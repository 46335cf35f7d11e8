#!/usr/bin/env bash
# Unpack Debian's rsyslog with its RELP modules into a private root, for tests and benchmarks that need a
# real RELP sender (omrelp). Debian's rsyslog package conflicts with syslog-ng-core (both are the system
# log daemon), so it is downloaded and unpacked with dpkg -x instead of installed; nothing is started.
#
#   scripts/rsyslog_private.sh [ROOT]     default ROOT: ~/.cache/netobs/rsyslog
#
# Run it as root or as a user apt-get download works for; it prints ROOT on its last line. Tests find the
# root at $NETOBS_RSYSLOG_ROOT or the default place (tests/rsyslog.py).
set -euo pipefail

ROOT=${1:-${NETOBS_RSYSLOG_ROOT:-$HOME/.cache/netobs/rsyslog}}
PACKAGES=(rsyslog rsyslog-relp librelp0 libestr0 libfastjson4 liblognorm5)
MODULES=usr/lib/x86_64-linux-gnu/rsyslog

if [[ -x $ROOT/usr/sbin/rsyslogd && -f $ROOT/$MODULES/omrelp.so ]]; then
    echo "$ROOT"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download drops privileges to _apt, which cannot write a directory made by mktemp as root.
chmod 0755 "$work"
if ! apt-get download -q "${PACKAGES[@]}" </dev/null; then
    echo "apt-get download failed: refreshing the package lists and trying again" >&2
    apt-get update -q </dev/null
    apt-get download -q "${PACKAGES[@]}" </dev/null
fi
mkdir -p "$ROOT.tmp"
for deb in ./*.deb; do
    dpkg -x "$deb" "$ROOT.tmp"
done
rm -rf "$ROOT"
mv "$ROOT.tmp" "$ROOT"
echo "$ROOT"
