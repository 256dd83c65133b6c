#!/usr/bin/env bash
# The terminal agent (issue 10): `rampart ask` in a tmux pane.  curl in a
# child cgroup is held by an `ask` rule; the pane shows the question
# readably (application, remote address, port) and one key answers it:
# `a` (allow once) lets the held connection complete, `D` (deny always)
# refuses the next one at once and writes the rule into the policy file.
set -u
RP_ID=${RP_ID:-at$$}
. "$(dirname "$0")/ask_lib.sh"
command -v tmux >/dev/null || { echo "tmux not installed (make deps)"; exit 77; }
ask_setup
TMUX_SESSION=rampart-ask-$RP_ID
RP_CLEANUP_EXTRA="tmux kill-session -t $TMUX_SESSION 2>/dev/null; $RP_CLEANUP_EXTRA"

ask_apply <<P
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080-8081
}
P
ask_http_servers 60 8080 8081

tmux new-session -d -s "$TMUX_SESSION" -x 200 -y 50 \
	"nsenter --net=/run/netns/$RP_NS_A $RAMPART --pin-dir $RP_PIN ask; sleep 30"
pane() { tmux capture-pane -p -t "$TMUX_SESSION"; }
# wait_pane TEXT: until the pane shows TEXT (bounded)
wait_pane() {
	for _ in $(seq 300); do
		pane | grep -q -- "$1" && return 0
		sleep 0.1
	done
	fail "the pane never showed '$1': $(pane)"
}
wait_pane "answering the questions"
ask_wait_agent

curl_a() {
	in_cg "$RP_CG/a" timeout 20 curl -v -sS -o /dev/null --max-time 15 "http://$RP_B4:$1/" 2>"$RP_TMP/curl-$1.err"
}

# allow once with `a`
(curl_a 8080; echo $? >"$RP_TMP/c1") &
CPID=$!
wait_pane "question 1"
p=$(pane)
echo "$p"
echo "$p" | grep -q "/usr/bin/curl" || fail "the question does not name the application"
echo "$p" | grep -q "remote $RP_B4 port 8080" || fail "the question does not name the remote end"
echo "$p" | grep -q "\[a\] allow once" || fail "the question does not offer the answers"
tmux send-keys -t "$TMUX_SESSION" a
wait $CPID
[ "$(cat "$RP_TMP/c1")" = 0 ] || fail "allow once by key: curl failed: $(cat "$RP_TMP/curl-8080.err")"
wait_pane "question 1: allow once"
ok "terminal: the question names app, remote and port; key a allowed it"

# deny always with `D`: refused at once, and a rule in the file
(curl_a 8081; echo $? >"$RP_TMP/c2") &
CPID=$!
wait_pane "question 2"
tmux send-keys -t "$TMUX_SESSION" D
wait $CPID
grep -q "Connection refused" "$RP_TMP/curl-8081.err" || fail "deny always by key: $(cat "$RP_TMP/curl-8081.err")"
wait_pane "question 2: deny always, rule written at $POL:4"
grep -q "^    deny out app /usr/bin/curl proto tcp remote $RP_B4 port 8081$" "$POL" || fail "no learned rule: $(cat "$POL")"
ok "terminal: key D refused the connection and wrote the rule"
# the learned rule decides now: no question, EPERM at once
curl_a 8081
grep -q "Operation not permitted" "$RP_TMP/curl-8081.err" || fail "the learned deny rule: $(cat "$RP_TMP/curl-8081.err")"
pane | grep -q "question 3" && fail "a question for a connection the learned rule decides"
ok "terminal: the learned rule decides without a question"
echo PASS
