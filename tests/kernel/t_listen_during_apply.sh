#!/usr/bin/env bash
# A service that starts listening while `apply` runs keeps its owner: the
# apply copies the owner records into the new rp_listeners when it fills
# the maps, and again after the flip for the owners the old hooks recorded
# in between (seconds: the programs load in between).  Without the second
# copy the listener has no owner under the new policy, and inbound
# connections to it are judged without its application: dropped by a
# policy that admits them by application.
#
# strace holds the apply at the entry of its first link update (the
# switch, after the first copy) for a few seconds; the service starts
# listening in that window.
set -u
RP_ID=${RP_ID:-ld$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
command -v strace >/dev/null || { echo "needs strace"; exit 77; }
rp_setup
rp_child_cgroup srv
app_copy srv-a
SA=$RP_TMP/srv-a

cat >"$RP_TMP/policy.rules" <<P
table root default deny {
    allow event network
    allow event listen
    allow in event accept app $SA proto tcp local port { 9000, 9001 }
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
app_serve "$RP_CG/srv" srv-a tcp 9000 120 || fail "srv-a 9000"
expect open in_b tcp $RP_A4 9000
ok "a listener started before the apply is reachable (owner srv-a)"

apply_cmd="$RAMPART --pin-dir $RP_PIN apply $RP_TMP/policy.rules --iface $RP_IF_A --cgroup $RP_CG"

# the bpf() call that starts the switch, counted on a traced apply
trace=$RP_TMP/trace.txt
in_a strace -qq -e trace=bpf -e signal=none -o "$trace" $apply_cmd >/dev/null || fail "traced apply failed"
SW=$(python3 - "$trace" <<'PY'
import sys
calls = [l for l in open(sys.argv[1]) if l.startswith("bpf(")]
print(next(i for i, c in enumerate(calls) if "BPF_LINK_UPDATE" in c or "BPF_LINK_CREATE" in c) + 1)
PY
)
[ -n "$SW" ] || fail "cannot find the switch in the traced apply"
ok "traced apply: the switch starts at bpf() call #$SW"

# the apply held 10 s at the switch; srv-a starts listening on 9001 meanwhile
# (once strace has written the calls before it: the first copy is done)
HOLD_US=10000000
held=$RP_TMP/held.txt
: >"$held"
in_a strace -qq -o "$held" -e trace=bpf -e signal=none -e inject=bpf:delay_enter=$HOLD_US:when=$SW \
	$apply_cmd >"$RP_TMP/apply.out" 2>&1 &
apid=$!
RP_BG_PIDS="$RP_BG_PIDS $apid"
for _ in $(seq 600); do
	[ "$(grep -c '^bpf(' "$held")" -ge $((SW - 1)) ] && break
	kill -0 $apid 2>/dev/null || break
	sleep 0.1
done
kill -0 $apid 2>/dev/null || fail "the apply finished before the hold: $(cat "$RP_TMP/apply.out")"
[ "$(grep -c '^bpf(' "$held")" -ge $((SW - 1)) ] || fail "the apply did not reach its switch in 60 s"
app_serve "$RP_CG/srv" srv-a tcp 9001 120 || fail "srv-a 9001"
kill -0 $apid 2>/dev/null || fail "the apply was no longer held when srv-a listened (machine too slow?)"
wait $apid || fail "apply: $(cat "$RP_TMP/apply.out")"
ok "srv-a started listening on 9001 while the apply was held at its switch"

for A in $RP_A4 $RP_A6; do
	expect open in_b tcp $A 9001
	expect open in_b tcp $A 9000
done
n=$(bpftool -j map dump pinned "$RP_PIN/maps/rp_listeners" | python3 -c '
import json, sys
print(len(json.load(sys.stdin)))')
[ "$n" = 2 ] || fail "expected 2 owner records after the apply, got $n"
ok "both listeners keep their owner: inbound admitted by application, IPv4 and IPv6"
echo PASS
