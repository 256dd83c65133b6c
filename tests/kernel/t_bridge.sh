#!/usr/bin/env bash
# A container host: a bridge with two "containers" (namespaces behind
# veths enslaved to it; nothing attached on the containers' side).  A
# default apply (every interface) succeeds: the bridge judges what comes up
# to the host, its ports judge what the bridge forwards between them.
# Denied, rejected and allowed ports behave as the policy says from a
# container, IPv4 and IPv6, and between containers; a per-cgroup rule for
# a container's processes still works (socket hooks are per cgroup, not
# per network namespace).
set -u
RP_ID=${RP_ID:-br$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
BR=rpbr$RP_ID C1=rpc1$RP_ID C2=rpc2$RP_ID
RP_CLEANUP_EXTRA="$RP_CLEANUP_EXTRA; ip netns del $C1 2>/dev/null; ip netns del $C2 2>/dev/null"
in_c() { local ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }
in_a ip link add "$BR" type bridge
in_a ip addr add 203.0.113.1/24 dev "$BR"
in_a ip -6 addr add 2001:db8:3::1/64 dev "$BR" nodad
in_a ip link set "$BR" up
n=0
for c in $C1 $C2; do
	n=$((n + 1))
	ip netns add "$c"
	ip link add "h$c" netns "$RP_NS_A" type veth peer name eth0 netns "$c"
	in_a ip link set "h$c" master "$BR" up
	in_c "$c" ip link set lo up
	in_c "$c" ip addr add 203.0.113.1$n/24 dev eth0
	in_c "$c" ip -6 addr add 2001:db8:3::1$n/64 dev eth0 nodad
	in_c "$c" ip link set eth0 up
done
# the bridge forwards between its ports once it learned them: settle
in_c $C1 ping -c 1 -W 2 203.0.113.12 >/dev/null || fail "containers cannot reach each other"

rp_child_cgroup c1
CGREL=${RP_CG#$(rp_cgroup2_mount)}
cat > "$RP_TMP/p.rules" <<P
table root default deny {
    deny out cgroup $CGREL/c1 proto tcp remote port 8080
    allow out
    allow in proto tcp local port { 8080, 9000 }
    reject in proto { tcp, udp } local port { 8081, 9001 }
}
P
out=$(rp_apply "$RP_TMP/p.rules" --cgroup "$RP_CG") || fail "default apply on a container host: $out"
echo "$out"
echo "$out" | grep -q "$BR .*tc ingress (tcx), tc egress (tcx)" || fail "bridge not protected: $out"
for c in $C1 $C2; do
	echo "$out" | grep -q "h$c .*bridge port: tc egress (tcx) judges bridged frames" || fail "port h$c: $out"
done
ok "default apply: bridge judged at the bridge, its ports for bridged frames"

for p in 8080 8081 2222; do listen in_a tcp $p; done
listen in_a udp 8081
for p in 9000 9001 9002; do
	nsenter --net=/run/netns/$C2 timeout 60 $RP_TRAFFIC listen tcp $p 55 &
	RP_BG_PIDS="$RP_BG_PIDS $!"
done
for _ in $(seq 50); do in_c $C2 ss -ltnH "sport = :9002" | grep -q . && break; sleep 0.1; done

# a container to the host
expect_c() {
	local want=$1; shift
	local out; out=$(in_c $C1 timeout 10 $RP_TRAFFIC probe "$@")
	[ "${out% *}" = "$want" ] || fail "from $C1: $* : expected $want, got $out"
	ok "container -> $*: $out"
}
for H in 203.0.113.1 2001:db8:3::1; do
	expect_c open tcp $H 8080
	expect_c refused tcp $H 8081
	expect_c refused udp $H 8081
	expect_c timeout tcp $H 2222
done
# container to container, through the bridge only
for H in 203.0.113.12 2001:db8:3::12; do
	expect_c open tcp $H 9000
	expect_c refused tcp $H 9001
	expect_c timeout tcp $H 9002
done
ok "container -> host and container -> container as the policy says"

# the same container's processes in cgroup c1: the socket hook denies
out=$(in_c $C1 sh -c 'echo $$ > "$1/cgroup.procs"; exec timeout 10 '"$RP_TRAFFIC"' probe tcp 203.0.113.1 8080' \
	sh "$RP_CG/c1")
[ "${out% *}" = "error-Operation-not-permitted" ] || fail "cgroup rule in a container: got $out"
ok "per-cgroup rule for a container's process: $out"

rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["counters"]
assert c["drop-reject-failed"] == 0 and c["new-reject"] >= 4, c
' || fail "counters"
echo PASS
