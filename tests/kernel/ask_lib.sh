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

# ask_jq LINE EXPR: a Python expression over the JSON object d of LINE.
ask_jq() { /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }

# ask_say ID MEMBERS: an answer to question ID on the agent's pipe (fd 7
# of ask_agent_fifo), e.g. ask_say 3 '"verdict": "jump web"'.
ask_say() { echo "{\"id\": $1, $2}" >&7; }

# ask_result ID [SKIP]: the agent's result line for question ID (applied
# or error) after its first SKIP ones (waits, bounded).
ask_result() {
	local r=""
	for _ in $(seq 300); do
		r=$(grep -v '"event"' "$RP_TMP/agent.out" | grep "^{\"id\": $1, " | tail -n +$((${2:-0} + 1)) | head -1)
		[ -n "$r" ] && break
		sleep 0.1
	done
	echo "$r"
}

# ask_questions: how many questions the agent has shown.
ask_questions() { grep -c '"event"' "$RP_TMP/agent.out"; }

# ask_servers HOST PORT...: an HTTP server (python3 -m http.server: one log
# line per request, in $RP_TMP/srv-PORT.log) on HOST:PORT in the peer
# namespace for each PORT, killed by the cleanup.
ask_servers() {
	local host=$1 p; shift
	for p in "$@"; do
		rp_bg in_b timeout 120 /usr/bin/python3 -m http.server -b "$host" "$p" 2>"$RP_TMP/srv-$p.log" >/dev/null
	done
	for p in "$@"; do rp_wait_port "$RP_NS_B" "$p" || fail "no HTTP server on $host port $p"; done
}

# ask_requests PORT: the requests the server on PORT answered.
ask_requests() { grep -c '"GET / ' "$RP_TMP/srv-$1.log"; }

# ask_curl NAME URL: curl inside the child cgroup $RP_CG/a of the protected
# namespace; prints "EXIT SECONDS", its messages in $RP_TMP/NAME.err.
ask_curl() {
	local t0 rc
	t0=$(date +%s.%N)
	in_cg "$RP_CG/a" timeout 20 curl -v -sS -o /dev/null --max-time 15 "$2" 2>"$RP_TMP/$1.err"
	rc=$?
	echo "$rc $(/usr/bin/python3 -c "print(round($(date +%s.%N) - $t0, 3))")"
}

# ask_lt A B: A < B (decimal numbers).
ask_lt() { /usr/bin/python3 -c "import sys; sys.exit(0 if $1 < $2 else 1)"; }

# ask_since T0: seconds since T0 (date +%s.%N).
ask_since() { /usr/bin/python3 -c "print(round($(date +%s.%N) - $1, 3))"; }

# ask_agent_stop: ends the input of the agent of ask_agent_fifo (it exits)
# and waits until the kernel knows nobody answers.
ask_agent_stop() {
	exec 7>&-
	for _ in $(seq 50); do
		rp_r status 2>/dev/null | grep -q "no agent" && return 0
		sleep 0.1
	done
	fail "the agent did not go: $(rp_r status | grep ask)"
}

# ask_tmux_agent: the terminal agent `rampart ask` in a detached tmux
# session (killed by the cleanup), once it shows it answers.
ask_tmux_agent() {
	command -v tmux >/dev/null || { echo "tmux not installed (make deps)"; exit 77; }
	ASK_TMUX=rampart-ask-$RP_ID
	RP_CLEANUP_EXTRA="tmux kill-session -t $ASK_TMUX 2>/dev/null; $RP_CLEANUP_EXTRA"
	tmux new-session -d -s "$ASK_TMUX" -x 200 -y 50 \
		"nsenter --net=/run/netns/$RP_NS_A $RAMPART --pin-dir $RP_PIN ask; sleep 30"
	ask_wait_pane "answering the questions"
	ask_wait_agent
}

# ask_pane: what the agent's pane shows.  ask_key KEY: a key pressed there.
ask_pane() { tmux capture-pane -p -t "$ASK_TMUX"; }
ask_key() { tmux send-keys -t "$ASK_TMUX" "$1"; }

# ask_wait_pane TEXT: until the pane shows TEXT (bounded).
ask_wait_pane() {
	for _ in $(seq 300); do
		ask_pane | grep -q -- "$1" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1': $(ask_pane)"
}
