#!/usr/bin/env bash
# Listening and inbound connections by application (issue 4): bind denied
# for one application (EPERM at once); inbound TCP connections and UDP
# datagrams judged at XDP with the identity of the listening socket's owner
# (recorded by the bind hook): accepted for one owner, dropped for another;
# owners survive a re-apply (renumbered) and disappear when the socket closes.
set -u
RP_ID=${RP_ID:-al$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup srv
app_copy srv-a; app_copy srv-b
SA=$RP_TMP/srv-a SB=$RP_TMP/srv-b

cat > "$RP_TMP/policy.rules" <<P
table root default deny {
    allow event network
    deny event listen app $SB proto tcp local port 9002
    allow event listen
    allow in event accept app $SA proto tcp local port { 9000, 9001 } log
    allow in event receive app $SA proto udp local port 9003
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
echo "$out"

# listening denied for one application, at once
out=$(app_run "$RP_CG/srv" srv-b serve tcp 9002 5)
[ "$out" = eperm ] || fail "srv-b bind 9002: expected eperm, got '$out'"
ok "srv-b cannot listen on 9002 (EPERM)"
app_serve "$RP_CG/srv" srv-a tcp 9000 60 || fail "srv-a 9000"
app_serve "$RP_CG/srv" srv-b tcp 9001 60 || fail "srv-b 9001"
app_serve "$RP_CG/srv" srv-a udp 9003 60 || fail "srv-a udp 9003"
app_serve "$RP_CG/srv" srv-b udp 9004 60 || fail "srv-b udp 9004"

n=$(bpftool -j map dump pinned "$RP_PIN/maps/rp_listeners" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 4 ] || fail "expected 4 owner records, got $n"
ok "4 listening sockets have owner records"

for A in $RP_A4 $RP_A6; do
	expect open in_b tcp $A 9000      # owner srv-a: accepted
	expect timeout in_b tcp $A 9001   # owner srv-b: dropped
	expect open in_b udp $A 9003
	expect timeout in_b udp $A 9004
done

# the log names whose socket the accepted connection went to
rp_r log --json > "$RP_TMP/log.json" || fail "rampart log"
python3 - "$RP_TMP/log.json" "$SA" <<'PY' || fail "log: no accept event naming the owner srv-a"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hits = [e for e in ev if e.get("event") == "accept" and e.get("owner") and e.get("app") == sys.argv[2]
        and e["local"].get("port") == 9000 and e["verdict"] == "allow" and e.get("pid", 0) > 0]
sys.exit(0 if len(hits) >= 2 else 1)   # one for IPv4, one for IPv6
PY
ok "rampart log names the listening socket's owner (app, uid, pid)"

# re-apply: the owners are carried into the new policy (app ids renumbered:
# a new app first in the file shifts srv-a's id)
app_copy other
sed -i "s|^table root default deny {|apps first = { $RP_TMP/other }\ntable root default deny {\n    deny app @first|" "$RP_TMP/policy.rules"
out=$(rp_apply "$RP_TMP/policy.rules") || fail "re-apply: $out"
expect open in_b tcp $RP_A4 9000
expect timeout in_b tcp $RP_A4 9001
ok "owners kept across a re-apply"

# closing the sockets removes their owners
rp_kill_bg
for _ in $(seq 30); do
	n=$(bpftool -j map dump pinned "$RP_PIN/maps/rp_listeners" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" = 0 ] && break
	sleep 0.1
done
[ "$n" = 0 ] || fail "owner records left after the servers exited: $n"
ok "owner records removed when the sockets closed"
# a listener outside the hooked cgroup has no owner: accept not allowed
listen in_a tcp 9000
expect timeout in_b tcp $RP_A4 9000
echo PASS
