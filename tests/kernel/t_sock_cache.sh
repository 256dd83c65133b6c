#!/usr/bin/env bash
# Cached verdicts follow the policy and the mode (issue 9, item 4): a
# connected UDP socket's connect() was judged and allowed at the socket;
# its later flows pass tc egress on that judgement only while the
# generation and the mode it was made under are in force.
#   - allowed under v1, denied under v2: the socket's next flow (after its
#     conntrack entry idled out) is judged again and dropped;
#   - after `shutdown`: dropped at once;
#   - connected while stopped (mode open, nothing judged): denied once a
#     policy that denies it is applied;
#   - judged again, the caller keeps its identity: an app rule that still
#     allows it goes on allowing it (no allow turns into a break).
set -u
RP_ID=${RP_ID:-sc$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup a
app_copy app-a
app_copy app-b
A=$RP_TMP/app-a
UDP_TO=2 # udp-timeout of the policies: one idle timeout

policy() { # policy FILE ALLOW-RULES...
	local f=$1
	shift
	{
		echo "option udp-timeout $UDP_TO"
		echo "apps web = { $A }"
		echo "table root default deny {"
		echo "    allow event network"
		for r in "$@"; do echo "    $r"; done
		echo "}"
	} >"$f"
}
policy "$RP_TMP/v1.rules" "allow out app @web proto udp remote port 5353"
policy "$RP_TMP/v2.rules" "allow out app @web proto udp remote port 5354"

listen in_b udp 5353 110

# session NAME APP: a connected UDP socket of APP to the peer's 5353,
# driven through a fifo; session_send NAME prints what one datagram got
session() {
	local name=$1 app=$2
	mkfifo "$RP_TMP/$name.in"
	nsenter --net=/run/netns/$RP_NS_A sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$RP_CG/a" \
		timeout 100 "$RP_TMP/$app" "$RP_APP_PY" session $RP_B4 5353 <"$RP_TMP/$name.in" >"$RP_TMP/$name.out" &
	RP_BG_PIDS="$RP_BG_PIDS $!"
	eval "exec {fd_$name}>\"\$RP_TMP/\$name.in\""
	for _ in $(seq 50); do
		[ -s "$RP_TMP/$name.out" ] && break
		sleep 0.1
	done
	[ "$(head -1 "$RP_TMP/$name.out")" = ready ] || fail "session $name: $(cat "$RP_TMP/$name.out")"
}
session_send() {
	local name=$1 n fd
	n=$(wc -l <"$RP_TMP/$name.out")
	eval "fd=\$fd_$name"
	echo >&"$fd"
	for _ in $(seq 40); do
		[ "$(wc -l <"$RP_TMP/$name.out")" -gt "$n" ] && break
		sleep 0.1
	done
	tail -1 "$RP_TMP/$name.out"
}
session_expect() { # session_expect WANT NAME WHAT
	local got
	got=$(session_send "$2")
	[ "$got" = "$1" ] || fail "$3: expected $1, got '$got'"
	ok "$3 -> $got"
}
counter() {
	rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$1"
}
idle() { sleep $((UDP_TO + 2)); } # the flow's conntrack entry idles out

out=$(rp_apply "$RP_TMP/v1.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply v1: $out"

# 1. allowed under v1, denied under v2 within one idle timeout
session s1 app-a
session_expect open s1 "v1: connected UDP socket of the allowed app"
rj0=$(counter sock-rejudged)
out=$(rp_apply "$RP_TMP/v2.rules") || fail "apply v2: $out"
idle
session_expect timeout s1 "v2 (denies it), one idle timeout later"
rj1=$(counter sock-rejudged)
[ "$rj1" -gt "$rj0" ] || fail "sock-rejudged did not count the stale judgement ($rj0 -> $rj1)"
ok "sock-rejudged $rj0 -> $rj1"

# 2. judged again as the same caller: v1 allows the app again
out=$(rp_apply "$RP_TMP/v1.rules") || fail "apply v1 again: $out"
idle
session_expect open s1 "v1 again: the app rule allows the re-judged socket"

# 3. shutdown: at once
out=$(rp_r shutdown) || fail "shutdown: $out"
session_expect timeout s1 "right after shutdown"

# 4. connected while stopped (nothing judged), then a policy that denies it
out=$(rp_r stop) || fail "stop: $out"
session s2 app-b
session_expect open s2 "stopped: a socket of an app with no rule"
out=$(rp_apply "$RP_TMP/v1.rules") || fail "apply v1 after stop: $out"
session_expect timeout s2 "v1 applied after stop: the app with no rule"
session_expect open s1 "v1 applied after stop: the allowed app"

rp_r unload >/dev/null || fail "unload"
echo "PASS t_sock_cache"
