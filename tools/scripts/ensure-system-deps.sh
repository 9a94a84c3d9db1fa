#!/usr/bin/env bash
# Installs the system programs the tests use against real peers (etcd, HAProxy, h2load,
# iptables, Chromium, testssl.sh, sslscan, python3-h2), from Debian's packages, when they are missing. Needs root, as CI and
# the development machines have; without root it says what to install and fails, loudly.
set -euo pipefail
declare -A need=(
  [etcd]=etcd-server
  [haproxy]=haproxy
  [h2load]=nghttp2-client
  [iptables]=iptables
  [ip]=iproute2
  [chromium]=chromium
  [openssl]=openssl
  [curl]=curl
  [testssl]=testssl.sh
  [sslscan]=sslscan
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
/usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || missing+=(python3-h2)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${missing[*]} (run as root: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
