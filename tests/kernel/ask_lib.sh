# Helpers for the learning-mode tests (t_ask*.sh): source it after setting
# RP_ID; it brings lib.sh, traffic_lib.sh and app_lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/traffic_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/app_lib.sh"
PY=/usr/bin/python3

# ask_setup: the namespaces (rp_setup), child cgroup a of the test's
# cgroup, and CGREL: the test's cgroup as a policy names it.
ask_setup() {
	rp_setup
	rp_child_cgroup a
	CGREL=${RP_CG#$(rp_cgroup2_mount)}
}

# ask_apply: the policy on stdin, written to $POL ($RP_TMP/policy.rules),
# applied to interface A and the test's cgroup.
ask_apply() {
	POL=$RP_TMP/policy.rules
	cat >"$POL"
	local out
	out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
}

# ask_http_servers SECS PORT...: an HTTP server in B on each port for SECS
# seconds, its request log in $RP_TMP/srv-PORT.log; returns once all listen.
ask_http_servers() {
	local secs=$1 p
	shift
	for p in "$@"; do
		rp_bg in_b timeout "$secs" $PY -m http.server -b $RP_B4 "$p" 2>"$RP_TMP/srv-$p.log" >/dev/null
	done
	for p in "$@"; do rp_wait_port "$RP_NS_B" "$p"; done
}

# ask_wait_agent: until `rampart status` shows an agent (bounded).
ask_wait_agent() {
	for _ in $(seq 50); do
		rp_r status 2>/dev/null | grep -q "agent: pid" && return 0
		sleep 0.1
	done
	fail "status does not show the agent: $(rp_r status)"
}

# ask_agent_fifo: `rampart ask --json` in the protected namespace, its
# answers written to fd 7 of this shell (a fifo), what it says in
# $RP_TMP/agent.out; killed by the cleanup.
ask_agent_fifo() {
	mkfifo "$RP_TMP/answers"
	nsenter --net=/run/netns/$RP_NS_A "$RAMPART" --pin-dir "$RP_PIN" --json ask <"$RP_TMP/answers" \
		>"$RP_TMP/agent.out" 2>"$RP_TMP/agent.err" &
	RP_BG_PIDS="$RP_BG_PIDS $!"
	exec 7>"$RP_TMP/answers"
	ask_wait_agent
}

# ask_next_question [SKIP]: the first question line of $RP_TMP/agent.out
# after its first SKIP question lines (waits, bounded).
ask_next_question() {
	local q=""
	for _ in $(seq 100); do
		q=$(grep '"event"' "$RP_TMP/agent.out" | tail -n +$((${1:-0} + 1)) | head -1)
		[ -n "$q" ] && break
		sleep 0.1
	done
	echo "$q"
}
