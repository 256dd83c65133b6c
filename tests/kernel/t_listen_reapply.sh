#!/usr/bin/env bash
# A listen() without bind() is judged by the sock_ops hook, which cannot
# fail the call: the owner record says "refused" and nothing reaches the
# port.  That mark follows the policy (issue 9, item 4): it carries the
# generation and the mode it was judged under, and apply judges the listen
# again with the new policy.
#  - refused under v1, reachable after `apply` of v2 (which allows the
#    listen), unreachable again after `apply` of v1 (allowed under v2, v1
#    denies it);
#  - `rampart stop` (mode open): reachable; `apply` again (enforcing):
#    refused again;
#  - a listener opened during `stop` (the hooks judge nothing then) is
#    refused by the next `apply`;
#  - a listener the policies allow stays reachable throughout.
# Real sockets (app.py, copies of python3) in a child cgroup, real traffic
# from the peer namespace.
set -u
RP_ID=${RP_ID:-lr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup srv
for a in lsn lsn-ok; do app_copy $a; done
SL=$RP_TMP/lsn

cat > "$RP_TMP/v1.rules" <<P
table root default deny {
    allow event network
    deny event listen app $SL log
    allow event listen
    allow in event accept proto tcp
}
P
cat > "$RP_TMP/v2.rules" <<P
table root default deny {
    allow event network
    allow event listen
    allow in event accept proto tcp
}
P
apply() { out=$(rp_apply "$RP_TMP/$1.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply $1: $out"; }

# listen APP: `listen-auto` (listen() without bind()) in the test's cgroup
# in the background; its port in $port
listen() {
	local log=$RP_TMP/$1.out
	: > "$log"
	nsenter --net=/run/netns/$RP_NS_A sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$RP_CG/srv" \
		timeout 60 "$RP_TMP/$1" "$RP_APP_PY" listen-auto 60 >"$log" 2>&1 &
	RP_BG_PIDS="$RP_BG_PIDS $!"
	for _ in $(seq 100); do
		[ -s "$log" ] && break
		sleep 0.1
	done
	local first; first=$(head -1 "$log")
	port=${first#listening }
	[ "${first%% *}" = listening ] && [ "$port" -gt 0 ] || fail "$1 listen(): $first"
}

apply v1
listen lsn; p1=$port
listen lsn-ok; pok=$port
expect timeout in_b tcp $RP_A4 "$p1"
expect open in_b tcp $RP_A4 "$pok"
ok "v1: the listener of $SL is refused (port $p1), the other one reachable"

apply v2
expect open in_b tcp $RP_A4 "$p1"
expect open in_b tcp $RP_A6 "$p1"
ok "v2 allows the listen: the listener refused under v1 is reachable"

apply v1
expect timeout in_b tcp $RP_A4 "$p1"
expect timeout in_b tcp $RP_A6 "$p1"
expect open in_b tcp $RP_A4 "$pok"
ok "v1 again: the listener allowed under v2 is refused"

rp_r stop >/dev/null || fail "rampart stop"
expect open in_b tcp $RP_A4 "$p1"
listen lsn; p2=$port
expect open in_b tcp $RP_A4 "$p2"
ok "stop (mode open): the refused listener and one opened meanwhile are reachable"

apply v1
expect timeout in_b tcp $RP_A4 "$p1"
expect timeout in_b tcp $RP_A4 "$p2"
expect open in_b tcp $RP_A4 "$pok"
ok "apply after stop: both listeners of $SL are refused, the other one reachable"
echo PASS
