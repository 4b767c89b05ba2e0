#!/usr/bin/env bash
# Install the Debian 12 packages racoon2 needs to build, test and demo.
# Idempotent: only missing packages are installed. Must run as root.
set -euo pipefail

PKGS=(
  # build
  meson ninja-build pkg-config gcc clang clang-format libclang-rt-14-dev
  libssl-dev libmnl-dev libcmocka-dev libkrb5-dev
  # Debian package (debian/)
  debhelper dpkg-dev fakeroot lintian
  # test hosts and tools
  openssl iproute2 iputils-ping nftables conntrack tshark iperf3 procps psmisc ike-scan
  # real peers
  strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-standard-plugins
  krb5-kdc krb5-admin-server krb5-user
  # DNS server for the spmd resolver test (tests/netns/spmd_resolver.sh)
  dnsmasq-base
)

# The unprivileged user the daemons' packet-parsing processes run as
# (src/lib/sandbox.h): a system user and group, no home, no login shell.
# Idempotent: nothing happens if it exists.
R2_USER=_racoon2
if ! getent passwd "$R2_USER" >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: user $R2_USER is missing and not root" >&2
    exit 1
  fi
  nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/bin/false
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell "$nologin" --comment "racoon2 unprivileged" "$R2_USER"
  echo "deps.sh: created system user $R2_USER" >&2
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages (${missing[*]}) and not root" >&2
  exit 1
fi

# Package scripts must not start system daemons (charon, krb5kdc) on this host.
created_rc=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_rc=1
fi
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ $created_rc -eq 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0
