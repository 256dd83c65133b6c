#!/usr/bin/env bash
# Killing the daemon (issue 9, fault injection): `rampart daemon` is
# SIGKILLed 100 times, each time after a random delay of up to 3 s (on a
# quiet machine kills land in every step of its start-up apply), while
# the peer sprays datagrams at a denied port and streams TCP to an allowed
# one.  Not one denied datagram reaches the protected host, the stream
# never stalls for a second and every byte is acked, and afterwards the
# policy is in force (mode enforcing, its rules listed, the verdicts hold).
set -u
RP_ID=${RP_ID:-fd$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup
KILLS=${RP_KILLS:-100}

POL=$RP_TMP/policy.rules
printf 'table root default deny {\n    allow out\n    allow in proto tcp local port 9000\n}\n' >"$POL"
out=$(rp_apply "$POL" --iface "$RP_IF_A") || fail "apply: $out"

SECS=$((KILLS * 2 + 20))
rp_bg in_a timeout $((SECS + 10)) $RP_TRAFFIC count 5999 $((SECS + 5)) >"$RP_TMP/count"
rp_bg in_a timeout $((SECS + 10)) $RP_TRAFFIC stream-server 9000 $((SECS + 5)) >"$RP_TMP/s.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server"
rp_bg in_b timeout $((SECS + 10)) $RP_TRAFFIC stream-client $RP_A4 9000 20000000 $SECS stall >"$RP_TMP/s.client"
CPID=$!
rp_bg in_b timeout $((SECS + 10)) $RP_TRAFFIC spray $RP_A4 5999 $SECS 0.01 >"$RP_TMP/spray"
SPID=$!

for i in $(seq "$KILLS"); do
	nsenter --net=/run/netns/$RP_NS_A "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$POL" --iface "$RP_IF_A" \
		>>"$RP_TMP/daemon.out" 2>>"$RP_TMP/daemon.err" &
	D=$!
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", r / 32767 * 3 }')"
	kill -9 $D 2>/dev/null
	wait $D 2>/dev/null
done
ok "$KILLS daemons killed ($(grep -c 'start: applied' "$RP_TMP/daemon.err") had finished their start-up apply)"

wait $CPID
wait $SPID
sleep 1
n=$(cat "$RP_TMP/count" 2>/dev/null)
while [ -z "$n" ]; do sleep 1; n=$(cat "$RP_TMP/count"); done
sent=$(cat "$RP_TMP/spray")
[ "$sent" -gt 1000 ] || fail "the spray sent only $sent datagrams"
[ "$n" = 0 ] || fail "$n of $sent datagrams to the denied port passed"
ok "0 of $sent datagrams to the denied port passed"
grep -q "sent 20000000 acked 20000000" "$RP_TMP/s.client" || fail "stream: $(cat "$RP_TMP/s.client")"
stall=$(sed -n 's/.*max_stall_ms \([0-9]*\).*/\1/p' "$RP_TMP/s.client")
[ "$stall" -lt 1000 ] || fail "the stream stalled for $stall ms"
ok "the allowed stream: every byte acked, longest stall $stall ms"

# afterwards: the policy in force, in full
m=$(rp_mode)
[ "${m% *}" = enforcing ] || fail "mode after the kills: $m"
ok "mode $m"
rules=$(rp_r --json rules) || fail "rules: $rules"
echo "$rules" | python3 -c '
import json, sys
rules = [r for r in json.load(sys.stdin)["rules"] if not r["default"] and not r["helper"]]
assert len(rules) == 2 and "9000" in rules[1]["text"], rules' || fail "rules --json: $rules"
listen in_a tcp 9000
expect open in_b tcp $RP_A4 9000
expect timeout in_b tcp $RP_A4 9001
rp_r unload >/dev/null || fail "unload"
echo "PASS t_fault_daemon"
