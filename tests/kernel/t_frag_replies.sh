#!/usr/bin/env bash
# Fragments of every packet the state admits pass (issue 9 item 10), IPv4
# and IPv6, both directions: a small UDP query from the protected host
# answered with 4 000 bytes (an EDNS0-sized DNS answer, fragmented by the
# server), a fragmented datagram to an allowed port and its fragmented
# answer, 5 000-byte pings both ways; a fragmented datagram to a denied
# port does not pass.  Both ingress programs: tc (a veth's default) and XDP.
set -u
RP_ID=${RP_ID:-fr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/attack_lib.sh"
rp_setup

rp_bg in_b timeout 605 $RP_ATTACK udp-server 6000 4000 600
rp_bg in_a timeout 605 $RP_ATTACK udp-server 5353 4000 600
rp_bg in_a timeout 605 $RP_ATTACK udp-server 5354 4000 600
for hook in tc xdp; do
cat > "$RP_TMP/policy.rules" <<P
option ingress-hook $hook
table root default deny {
    allow out
    allow in proto udp local port 5353
    allow in proto icmp icmp-type echo-request
    allow in proto icmpv6 icmp-type echo-request
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A") || fail "apply: $out"
echo "$out" | grep -qi "$hook" || fail "ingress-hook $hook: $out"

for fam in 4 6; do
	A=$RP_A4 B=$RP_B4; [ $fam = 6 ] && A=$RP_A6 B=$RP_B6
	r=$(in_a $RP_ATTACK udp-query "$B" 6000 40 4000)
	[ "$r" = ok ] || fail "$hook IPv$fam: the 4000-byte answer to a query from the protected host: $r"
	ok "$hook IPv$fam: a 4000-byte answer (fragmented) to a 40-byte query from the protected host arrives"
	r=$(in_b $RP_ATTACK udp-query "$A" 5353 3000 4000)
	[ "$r" = ok ] || fail "$hook IPv$fam: a fragmented query to an allowed port and its answer: $r"
	ok "$hook IPv$fam: a fragmented datagram in to an allowed port, and its fragmented answer out"
	r=$(in_b $RP_ATTACK udp-query "$A" 5354 3000 4000)
	[ "$r" = lost ] || fail "$hook IPv$fam: a fragmented datagram to a denied port was answered: $r"
	ok "$hook IPv$fam: a fragmented datagram to a denied port does not pass"
	in_a timeout 5 ping -$fam -c 2 -W 2 -s 5000 "$B" >/dev/null || fail "$hook IPv$fam: 5000-byte ping out"
	in_b timeout 5 ping -$fam -c 2 -W 2 -s 5000 "$A" >/dev/null || fail "$hook IPv$fam: 5000-byte ping in"
	ok "$hook IPv$fam: 5000-byte pings both ways"
done
done
[ "$(rp_counter pass-fragment)" -gt 0 ] || fail "no fragment counted as passed"
