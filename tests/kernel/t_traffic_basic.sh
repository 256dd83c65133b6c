#!/usr/bin/env bash
# Real traffic through rampart between two namespaces (IPv4 and IPv6):
# allowed flows work, denied ones time out, reject refuses at once (TCP RST,
# UDP ICMP unreachable), replies to outbound connections come back while
# inbound is denied, ping allowed/denied, and `unload` opens everything again.
set -u
RP_ID=${RP_ID:-tb$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

cat > "$RP_TMP/policy.rules" <<'P'
table root default deny {
    allow out                                   comment "our own connections; replies by state"
    allow in proto tcp local port 8080
    reject in proto tcp local port 8081
    allow in proto udp local port 5353
    reject in proto udp local port 5354
    allow in proto icmp icmp-type echo-request  comment "IPv4 ping only"
    deny in log
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A") || fail "apply: $out"
echo "$out"
echo "$out" | grep -q "tc ingress (tcx)" || fail "a veth is judged by tc ingress (keeps GRO/GSO): $out"

for p in 8080 8081 8082; do listen in_a tcp $p; done
for p in 5353 5354 5355; do listen in_a udp $p; done
listen in_b tcp 7000

for A in $RP_A4 $RP_A6; do
	expect open in_b tcp $A 8080       # allowed
	expect refused in_b tcp $A 8081    # reject: RST at once
	expect timeout in_b tcp $A 8082    # deny: silent drop
	expect open in_b udp $A 5353
	expect refused in_b udp $A 5354    # reject: ICMP port unreachable at once
	expect timeout in_b udp $A 5355
done
for B in $RP_B4 $RP_B6; do
	expect open in_a tcp $B 7000       # outbound allowed, the replies come back by state
done
# ... while the same port inbound is denied
listen in_a tcp 7000
expect timeout in_b tcp $RP_A4 7000
ping_expect ok in_b $RP_A4
ping_expect lost in_b $RP_A6           # only IPv4 echo is allowed in
ping_expect ok in_a $RP_B4             # outbound ping and its reply
ping_expect ok in_a $RP_B6

# the kernel counted what it did
st=$(rp_r --json status) || fail "status: $st"
echo "$st" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["mode"] == "enforcing", d["mode"]
' || fail "status --json: $st"

out=$(rp_r unload) || fail "unload: $out"
echo "$out"
[ -e "$RP_PIN" ] && fail "pin dir still there after unload"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] || fail "XDP still attached after unload"
# everything open again: the denied port and IPv6 ping now work
expect open in_b tcp $RP_A4 8082
expect open in_b udp $RP_A6 5355
ping_expect ok in_b $RP_A6
out=$(rp_r unload) || fail "second unload: $out"
[ "$out" = "nothing loaded in $RP_PIN" ] || fail "second unload said: $out"
echo PASS
