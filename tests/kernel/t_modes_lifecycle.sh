#!/usr/bin/env bash
# The lifecycle modes (docs/operations.md): boot -> apply (enforcing, taking over
# atomically: an outbound stream started during boot completes) ->
# shutdown (lockdown: nothing in or out, an established flow stops) ->
# stop (open: everything passes, programs stay pinned) -> apply
# (enforcing again).  status shows each mode and why it changed.
set -u
RP_ID=${RP_ID:-ml$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

# stop/shutdown with nothing loaded: a system error that says what to do
out=$(rp_r stop 2>&1); [ $? = 3 ] || fail "stop with nothing loaded should exit 3: $out"
echo "$out" | grep -q "nothing is loaded" || fail "stop message: $out"
ok "stop with nothing loaded: exit 3"

cat > "$RP_TMP/p.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port { 8080, 9000 }
}
P

rp_r boot --timeout 60 >/dev/null || fail "boot"
expect_mode boot boot
hook1=$(rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["netns_hook"]["prog_id"])')

# an outbound stream started during boot survives the switch to the policy
rp_bg in_b timeout 30 $RP_TRAFFIC stream-server 9100 20 > "$RP_TMP/boot.count"
rp_wait_port $RP_NS_B 9100 || fail "stream server in B"
rp_bg in_a timeout 30 $RP_TRAFFIC stream-client $RP_B4 9100 3000000 3 > "$RP_TMP/boot.client"
cpid=$!
sleep 1
in1=$(rp_link_prog tci $RP_IF_A)
out=$(rp_apply "$RP_TMP/p.rules") || fail "apply over boot: $out"
echo "$out" | grep -q "replaced the running policy atomically, flows kept" || fail "apply over boot: $out"
in2=$(rp_link_prog tci $RP_IF_A)
[ "$in1" != "$in2" ] || fail "the tc ingress link still runs the boot program"
wait $cpid
grep -q "sent 3000000 acked 3000000" "$RP_TMP/boot.client" || fail "outbound stream across boot -> apply: $(cat "$RP_TMP/boot.client")"
ok "an outbound stream started in boot completed across the apply (every byte acked)"
expect_mode enforcing apply
rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["policy"] and d["policy"]["rules"] == 2, d["policy"]
assert d["netns_hook"]["prog_id"] > 0
' || fail "status after apply over boot"
hook2=$(rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["netns_hook"]["prog_id"])')
ok "namespace hook follows the new configuration (prog $hook1 -> $hook2)"
[ -e "$RP_PIN/maps/rp_boot_timer" ] && fail "the boot timer is still pinned after apply"

listen in_a tcp 8080 600
listen in_a tcp 8082 600
listen in_b tcp 7000 600
expect open in_b tcp $RP_A4 8080
expect timeout in_b tcp $RP_A4 8082
expect open in_a tcp $RP_B4 7000
# in enforcing, on an interface not attached (it appeared later and no
# daemon attached it), the namespace hook judges by the policy: 8080 is
# allowed, 8082 is not (refused: the hook cannot drop silently)
rp_late_iface
expect open in_b tcp $RP_A4L 8080
expect refused in_b tcp $RP_A4L 8082

# shutdown: an established inbound stream stops, nothing new in or out
rp_bg in_a timeout 30 $RP_TRAFFIC stream-server 9000 20 > "$RP_TMP/ld.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server in A"
rp_bg in_b timeout 30 $RP_TRAFFIC stream-client $RP_A4 9000 4000000 4 > "$RP_TMP/ld.client"
cpid=$!
sleep 1
out=$(rp_r shutdown) || fail "shutdown: $out"
echo "$out"
expect_mode lockdown shutdown
expect timeout in_b tcp $RP_A4 8080
expect timeout in_b tcp $RP_A6 8080
expect timeout in_a tcp $RP_B4 7000
expect timeout in_a tcp $RP_B6 7000
ping_expect lost in_a $RP_B4
ping_expect lost in_b $RP_A6
expect refused in_b tcp $RP_A4L 8080      # late interface: the namespace hook refuses inbound
wait $cpid
grep -q "^error" "$RP_TMP/ld.client" || fail "the established stream went on in lockdown: $(cat "$RP_TMP/ld.client")"
ok "the established stream stopped in lockdown: $(cat "$RP_TMP/ld.client")"

# stop: everything passes, the programs stay
out=$(rp_r stop) || fail "stop: $out"
echo "$out"
expect_mode open stop
[ "$(rp_link_prog tci $RP_IF_A)" = "$in2" ] || fail "stop changed the attached program"
expect open in_b tcp $RP_A4 8082
expect open in_b tcp $RP_A6 8082
ping_expect ok in_b $RP_A4
rp_r status | grep -q "by stop" || fail "status text after stop"

out=$(rp_r --json shutdown) || fail "shutdown --json"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["mode"]=="lockdown" and d["previous"]=="open"' ||
	fail "shutdown --json: $out"
out=$(rp_apply "$RP_TMP/p.rules") || fail "apply after lockdown: $out"
expect_mode enforcing apply
expect open in_b tcp $RP_A4 8080
expect timeout in_b tcp $RP_A4 8082
echo PASS
