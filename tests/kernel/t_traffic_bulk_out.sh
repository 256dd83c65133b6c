#!/usr/bin/env bash
# Bulk TCP out of the protected host (IPv4 and IPv6): the stack hands tc
# egress large GSO packets whose bytes are mostly outside the linear area;
# they must be judged by the whole packet's length, not dropped as
# malformed.  Every byte must arrive.
set -u
RP_ID=${RP_ID:-tbo$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
printf 'table root default deny {\n    allow out\n}\n' > "$RP_TMP/p.rules"
rp_apply "$RP_TMP/p.rules" --iface "$RP_IF_A" >/dev/null || fail "apply"
port=9100
for dst in $RP_B4 $RP_B6; do
	rp_bg in_b timeout 20 $RP_TRAFFIC stream-server $port 15 > /dev/null
	rp_wait_port $RP_NS_B $port || fail "stream server"
	res=$(in_a timeout 20 $RP_TRAFFIC stream-client $dst $port 4000000 2)
	[ "$res" = "sent 4000000 acked 4000000" ] ||
		fail "bulk TCP to $dst: $res; counters: $(rp_r status | grep -i dropped)"
	ok "4 MB out to $dst"
	port=$((port + 1))
done
echo PASS
