# Helpers for the learning-mode tests (t_ask*.sh; source after lib.sh and
# traffic_lib.sh).

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
