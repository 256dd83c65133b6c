#!/usr/bin/env bash
# `make demo`: rampart's main job on the embedded default policy.
# Checks the shipped default policy and shows how it judges typical events.
set -eu
cd "$(dirname "$0")/.."
R=./rampart
P=policy/default.rules

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "rampart demo: the shipped default policy ($P)"
step $R check $P
step $R explain --policy $P out proto tcp remote 198.51.100.80 port 443 app /usr/bin/curl
step $R explain --policy $P in proto tcp remote 203.0.113.9 port 40000 local port 22
step $R explain --policy $P in proto udp remote 192.0.2.1 port 67 local 255.255.255.255 port 68
step $R explain --policy $P in proto icmpv6 icmp-type router-advertisement remote fe80::1
step $R explain --policy $P --json in proto tcp on lo remote 127.0.0.1 port 40000 local port 22
echo
echo "The Jetico tutorial's tables (policy/examples/jetico.rules), Event 2:"
step $R explain --policy policy/examples/jetico.rules event network app /usr/bin/firefox
