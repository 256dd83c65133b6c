#!/usr/bin/env bash
# Installs the Debian packages rampart needs to build and test, when missing.
set -eu
pkgs="clang llvm libbpf-dev libelf-dev zlib1g-dev libcmocka-dev bpftool iproute2
      make gcc pkg-config iputils-ping netcat-openbsd python3 python3-scapy xdp-tools
      jq curl socat python3-pyftpdlib vsftpd libmnl-dev nmap ethtool libmicrohttpd-dev prometheus-node-exporter prometheus bash-completion groff
      clang-format tmux strace iperf3 tcpdump"
# `deps.sh package`: what `make deb` and `make package-test` need in addition
case ${1:-} in
package) pkgs="debhelper dpkg-dev fakeroot lintian debootstrap systemd-container man-db" ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "rampart: missing packages:$missing — run as root or: apt-get install$missing" >&2
	exit 3
fi
echo "rampart: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
