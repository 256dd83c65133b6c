#!/usr/bin/env bash
# Boot protection (docs/operations.md): with no policy at all, `rampart boot` blocks all
# new inbound traffic (TCP, UDP, ICMP; IPv4 and IPv6) while outbound
# connections and their replies work, DHCP answers reach the client,
# neighbour discovery works, and an interface created after `rampart boot`
# gets no inbound TCP/UDP connection either (the namespace's SK_LOOKUP hook).
set -u
RP_ID=${RP_ID:-bb$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

out=$(rp_r boot --timeout 60) || fail "boot: $out"
echo "$out"
echo "$out" | grep -q "SK_LOOKUP" || fail "boot without --iface should hook the namespace: $out"
expect_mode boot boot
st=$(rp_r --json status)
echo "$st" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["policy"] is None, d["policy"]
assert d["netns_hook"] and d["netns_hook"]["prog_id"] > 0, d["netns_hook"]
assert 50 <= d["boot"]["timeout_left_s"] <= 60, d["boot"]
assert d["boot"]["after_timeout"] == "open"
assert sorted(a["hook"] for a in d["attachments"]) == ["tc-egress", "tc-ingress"], d["attachments"]
' || fail "status --json in boot: $st"
armed=$(rp_boot_timer_field armed_ns) || fail "cannot read the boot timer map"
[ "$armed" -gt 0 ] || fail "the boot timer is not armed ($armed)"
[ "$(rp_boot_timer_field opened)" = 0 ] || fail "the boot timer fired already"
ok "the boot timer is armed in the kernel"

listen in_a tcp 8080 600
listen in_a udp 5353 600
listen in_a udp 68 600
listen in_a udp 546 600
listen in_b tcp 7000 600
listen in_b udp 7001 600

for A in $RP_A4 $RP_A6; do
	expect timeout in_b tcp $A 8080
	expect timeout in_b udp $A 5353
	ping_expect lost in_b $A
done
for B in $RP_B4 $RP_B6; do
	expect open in_a tcp $B 7000       # outbound: the replies come back by state
	expect open in_a udp $B 7001
	ping_expect ok in_a $B
done
dhcp_reply_expect open in_b $RP_A4 4
dhcp_reply_expect open in_b $RP_A6 6

st=$(rp_r --json status)
echo "$st" | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert c["drop-boot-inbound"] >= 6, c["drop-boot-inbound"]
assert c["new-boot-outbound"] >= 6, c["new-boot-outbound"]
assert c["pass-boot-dhcp"] >= 2, c["pass-boot-dhcp"]
assert c["pass-neighbour-discovery"] >= 1, c["pass-neighbour-discovery"]
' || fail "counters in boot: $st"
ok "counters: inbound dropped, outbound allowed, DHCP and neighbour discovery passed"

# an interface that appears after `rampart boot`: no XDP there, the
# namespace's SK_LOOKUP program fails the socket lookup of new inbound
# connections, so the kernel refuses them (RST / ICMP port unreachable)
# instead of dropping them silently
rp_late_iface
for A in $RP_A4L $RP_A6L; do
	expect refused in_b tcp $A 8080
	expect refused in_b udp $A 5353
done
for B in $RP_B4L $RP_B6L; do
	expect open in_a tcp $B 7000
	expect open in_a udp $B 7001
done
dhcp_reply_expect open in_b $RP_A4L 4
# documented limit: the kernel itself answers ICMP echo on a late interface
ping_expect ok in_b $RP_A4L
drops=$(rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["netns_hook"]["dropped"])')
[ "$drops" -ge 4 ] || fail "the SK_LOOKUP hook counted $drops drops, expected >= 4"
ok "late interface: inbound TCP/UDP refused by the namespace hook ($drops drops), outbound works"
# loopback is never blocked
expect open in_a tcp 127.0.0.1 8080
expect open in_a tcp ::1 8080

out=$(rp_r unload) || fail "unload: $out"
[ -e "$RP_PIN" ] && fail "pin dir still there after unload"
expect open in_b tcp $RP_A4L 8080
expect open in_b tcp $RP_A4 8080
echo PASS
