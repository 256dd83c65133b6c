# Helpers for the learning-mode tests (t_ask*.sh): source it after setting
# RP_ID; it brings lib.sh, traffic_lib.sh and app_lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/traffic_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/app_lib.sh"
PY=/usr/bin/python3

# ask_apply: the policy on stdin, written to $POL ($RP_TMP/policy.rules),
# applied to interface A and the test's cgroup.
ask_apply() {
	POL=$RP_TMP/policy.rules
	cat >"$POL"
	local out
	out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
}

# ask_wait_status TEXT: until `rampart status` shows TEXT (bounded; 1 when
# it never does).
ask_wait_status() {
	for _ in $(seq 50); do
		rp_r status 2>/dev/null | grep -q "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ask_wait_agent: until `rampart status` shows an agent (bounded).
ask_wait_agent() { ask_wait_status "agent: pid" || fail "status does not show the agent: $(rp_r status)"; }

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
# namespace; prints "EXIT SECONDS END" (END: date +%s.%N when it ended),
# its messages in $RP_TMP/NAME.err.  It gives up after ASK_CURL_MAX seconds
# (15; more for a test whose answer comes late in a question).
ask_curl() {
	local t0 t1 rc max=${ASK_CURL_MAX:-15}
	t0=$(date +%s.%N)
	in_cg "$RP_CG/a" timeout $((max + 5)) curl -v -sS -o /dev/null --max-time "$max" "$2" 2>"$RP_TMP/$1.err"
	rc=$?
	t1=$(date +%s.%N)
	echo "$rc $(/usr/bin/python3 -c "print(round($t1 - $t0, 3))") $t1"
}

# ask_lt A B: A < B (decimal numbers).
ask_lt() { /usr/bin/python3 -c "import sys; sys.exit(0 if $1 < $2 else 1)"; }

# ask_since T0: seconds since T0 (date +%s.%N).
ask_since() { /usr/bin/python3 -c "print(round($(date +%s.%N) - $1, 3))"; }

# ask_agent_stop: ends the input of the agent of ask_agent_fifo (it exits)
# and waits until the kernel knows nobody answers.
ask_agent_stop() {
	exec 7>&-
	ask_wait_status "no agent" || fail "the agent did not go: $(rp_r status | grep ask)"
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

# ask_begin: the namespaces (rp_setup) and the child cgroup $RP_CG/a whose
# programs the tests' policies ask about ($CGREL: its parent as the
# policy names it).
ask_begin() {
	rp_setup
	rp_child_cgroup a
	CGREL=${RP_CG#$(rp_cgroup2_mount)}
}

# ask_curl_bg NAME URL: ask_curl NAME URL in the background;
# ask_held_end waits for it: ASK_RC, ASK_T (seconds), ASK_END.
ask_curl_bg() {
	ASK_NAME=$1
	(ask_curl "$1" "$2" >"$RP_TMP/$1.res") &
	ASK_CPID=$!
}

# ask_held NAME URL [SKIP]: ask_curl_bg NAME URL, held by the question the
# agent shows after SKIP earlier ones: ASK_Q (its line), ASK_ID.
ask_held() {
	ask_curl_bg "$1" "$2"
	ASK_Q=$(ask_next_question "${3:-0}")
	[ -n "$ASK_Q" ] || fail "no question for curl $2"
	echo "question: $ASK_Q"
	ASK_ID=$(ask_jq "$ASK_Q" "d['id']")
}
ask_held_end() {
	wait "$ASK_CPID"
	read -r ASK_RC ASK_T ASK_END <"$RP_TMP/$ASK_NAME.res"
}

# ask_applied MEMBERS [SKIP]: answers question ASK_ID, asserts the agent
# applied it (its result after SKIP earlier ones for ASK_ID): ASK_R.
ask_applied() {
	ask_say "$ASK_ID" "$1"
	ASK_R=$(ask_result "$ASK_ID" "${2:-0}")
	[ "$(ask_jq "$ASK_R" "d.get('applied')")" = True ] || fail "answer {$1} to question $ASK_ID: $ASK_R"
}

# ask_refused_now MEMBERS: answers question ASK_ID so that its held curl
# is refused: "connection refused" less than 1 s after the answer (not at
# a retransmission).  ASK_AFTER: how long after.
ask_refused_now() {
	local t_ans
	t_ans=$(date +%s.%N)
	ask_applied "$1"
	ask_held_end
	ASK_AFTER=$(/usr/bin/python3 -c "print(round($ASK_END - $t_ans, 3))")
	grep -q "Connection refused" "$RP_TMP/$ASK_NAME.err" ||
		fail "{$1}: curl did not see connection refused: $(cat "$RP_TMP/$ASK_NAME.err")"
	ask_lt "$ASK_AFTER" 1.0 || fail "{$1}: curl was refused only $ASK_AFTER s after the answer"
}

# ask_connected WHAT: the held curl (ask_held_end) completed.
ask_connected() {
	ask_held_end
	[ "$ASK_RC" = 0 ] || fail "$1: curl failed ($ASK_RC): $(cat "$RP_TMP/$ASK_NAME.err")"
}
