#!/usr/bin/env bash
# The sweeper follows the table across every kind of apply (issue 9 item
# 3): conntrack-size 1000 -> 2000 -> 1000 with one-shot UDP flows in
# between (flows whose key never comes back, so only the sweeper can remove
# them): every entry expires on time in the table that is in force, and new
# flows succeed afterwards.
set -u
RP_ID=${RP_ID:-cr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/attack_lib.sh"
rp_setup

# one_shots N PORT0: N datagrams out, each from its own port, never answered
one_shots() {
	in_a python3 -c '
import socket, sys
for i in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", int(sys.argv[2]) + i))
    s.sendto(b"x", (sys.argv[3], 9))
    s.close()
' "$1" "$2" "$RP_B4"
}

# longer than an apply takes on a loaded machine, so the flows are still
# there to be copied
UDP_TIMEOUT=45

size_policy() {
	cat > "$RP_TMP/policy.rules" <<P
option conntrack-size $1
option udp-timeout $UDP_TIMEOUT
table root default deny {
    allow out
}
P
	out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" 2>&1) || fail "apply conntrack-size $1: $out"
	cap=$(rp_r status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack"]["capacity"])')
	[ "$cap" = "$1" ] || fail "conntrack-size $1: capacity $cap"
}

size_policy 1000
one_shots 100 20000
size_policy 2000
echo "$out" | grep -q "[1-9][0-9]* flows copied" || fail "the resize did not copy the flows: $out"
one_shots 100 21000
size_policy 1000
one_shots 100 22000
last=$(date +%s)
read -r est half <<< "$(rp_ct_usage)"
[ $((est + half)) -ge 100 ] || fail "the one-shot flows are not tracked: $est established, $half half-open"
ok "conntrack-size 1000 -> 2000 -> 1000 with one-shot flows in between: $((est + half)) tracked"

# a sweep every 5 s: all gone within the timeout and two sweeps after the
# last flow, with no packet of theirs to find them
while [ $(( $(date +%s) - last )) -lt $((UDP_TIMEOUT + 12)) ]; do
	read -r est half <<< "$(rp_ct_usage)"
	[ $((est + half)) = 0 ] && break
	sleep 1
done
secs=$(( $(date +%s) - last ))
[ $((est + half)) = 0 ] || fail "${secs}s after the last flow $est + $half entries are left: nothing sweeps the table in force"
[ "$(rp_counter conntrack-expired)" -ge 300 ] || fail "expired: $(rp_counter conntrack-expired), not 300"
ok "every entry expired and was swept ${secs}s after the last flow (udp-timeout $UDP_TIMEOUT s, sweeps every 5 s)"

rp_bg in_b timeout 605 $RP_ATTACK udp-server 6000 100 600
listen in_b tcp 7000
sleep 0.3
[ "$(in_a $RP_ATTACK udp-query "$RP_B4" 6000 10 100)" = ok ] || fail "a new UDP flow after the resizes"
expect open in_a tcp $RP_B4 7000
ok "new flows succeed after the timeouts"
