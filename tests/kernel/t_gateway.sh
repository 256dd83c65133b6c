#!/usr/bin/env bash
# A gateway (three namespaces: LAN host - gateway - WAN host), forwarding
# on, nftables masquerading the LAN behind the wan address (Kerio's ICS),
# IPv6 routed.  rampart on the gateway with `interface wan` / `interface
# lan`: LAN -> WAN TCP and UDP work (judged `out` as they arrive, tracked
# under the masqueraded tuple as they leave); WAN -> gateway and WAN -> LAN
# new flows time out; LAN -> gateway only what `in on lan` opens (a
# connection to the gateway itself is `in`, never `out`); a WAN packet with
# a LAN source address is judged as WAN; routed packets never borrow a
# gateway listener's identity.  IPv4 and IPv6.
set -u
RP_ID=${RP_ID:-gw$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
. "$(dirname "$0")/gateway_lib.sh"
rp_gateway_setup

cat > "$RP_TMP/gw.rules" <<P
interface wan = $WAN
interface lan = $LAN
addresses lan-hosts = { 192.0.2.0/24, 2001:db8::/64 }
table root default deny {
    allow out local @lan-hosts
    allow in on lan remote @lan-hosts proto tcp local port 8080
    allow out
}
P
out=$(rp_apply "$RP_TMP/gw.rules") || fail "apply on the gateway: $out"
echo "$out"
echo "$out" | grep -q "$WAN .*wan (gateway mode)" || fail "not gateway mode: $out"

for p in 8080 9090; do listen in_a tcp $p 600; done   # the gateway's own services
listen in_a udp 9091 600
for p in 80 9090; do rp_bg_w timeout 125 $RP_TRAFFIC listen tcp $p 120; done
rp_bg_w timeout 125 $RP_TRAFFIC listen udp 53 120
listen in_b tcp 2222 600
for _ in $(seq 50); do in_w ss -lunH "sport = :53" | grep -q . && break; sleep 0.1; done
probe_w() { in_w timeout 10 $RP_TRAFFIC probe "$@"; }
expect_w() { local want=$1; shift; local out; out=$(probe_w "$@")
	[ "${out% *}" = "$want" ] || fail "from the WAN: $* : expected $want, got $out"; ok "WAN host -> $*: $out"; }

for v in 4 6; do
	if [ $v = 4 ]; then WH=$W4 GL=$RP_A4 GW=$G4W LH=$RP_B4; else WH=$W6 GL=$RP_A6 GW=$G6W LH=$RP_B6; fi
	# LAN -> WAN: forwarded, `out` (masqueraded over IPv4)
	expect open in_b tcp $WH 80
	expect open in_b udp $WH 53
	expect open in_b tcp $WH 9090   # a gateway listener on 9090 lends it no identity: still `out`
	# LAN -> the gateway itself: `in`, only what `in on lan` opens
	expect open in_b tcp $GL 8080
	expect timeout in_b tcp $GL 9090
	expect timeout in_b udp $GL 9091
	# WAN -> the gateway, WAN -> LAN: new inbound flows time out
	expect_w timeout tcp $GW 8080
	expect_w timeout tcp $LH 2222
done
# the masqueraded IPv4 flows were judged once, at the LAN side
rp_r --json status | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert c["new-forwarded-judged-at-ingress"] >= 2, c
print("forwarded flows tracked under their masqueraded tuple:", c["new-forwarded-judged-at-ingress"])
' || fail "masqueraded flows"
ok "LAN -> WAN works with nftables masquerade, judged at the LAN side"

# a packet from the WAN side claiming a LAN source: judged as WAN (in on wan)
rule_hits() { rp_r --json rules | python3 -c '
import json, sys
rules = json.load(sys.stdin)["rules"]
print(sum(r["packets"] for r in rules if r["line"] == int(sys.argv[1])))' "$1"; }
before=$(rule_hits 6)
gwmac=$(in_a ip -j link show dev "$WAN" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
in_w /usr/bin/python3 -c '
from scapy.all import Ether, IP, TCP, sendp
import sys
gw, mac = sys.argv[1], sys.argv[2]
for i in range(5):
    sendp(Ether(dst=mac) / IP(src="192.0.2.2", dst=gw) / TCP(sport=40000 + i, dport=8080, flags="S"),
          iface="eth0", verbose=False)
' $G4W "$gwmac" || fail "scapy"
sleep 0.5
[ "$(rule_hits 6)" = "$before" ] || fail "a WAN packet with a LAN source matched \`in on lan\`"
ok "spoofed LAN source on the WAN: judged as WAN, denied"
echo PASS
