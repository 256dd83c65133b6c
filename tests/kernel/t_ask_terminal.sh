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
ask_begin

ask_apply <<P
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080-8081
}
P
ask_servers $RP_B4 8080 8081

ask_tmux_agent

curl_a() {
	in_cg "$RP_CG/a" timeout 20 curl -v -sS -o /dev/null --max-time 15 "http://$RP_B4:$1/" 2>"$RP_TMP/curl-$1.err"
}

# allow once with `a`
(curl_a 8080; echo $? >"$RP_TMP/c1") &
CPID=$!
ask_wait_pane "question 1"
p=$(ask_pane)
echo "$p"
echo "$p" | grep -q "/usr/bin/curl" || fail "the question does not name the application"
echo "$p" | grep -q "remote $RP_B4 port 8080" || fail "the question does not name the remote end"
echo "$p" | grep -q "\[a\] allow once" || fail "the question does not offer the answers"
ask_key a
wait $CPID
[ "$(cat "$RP_TMP/c1")" = 0 ] || fail "allow once by key: curl failed: $(cat "$RP_TMP/curl-8080.err")"
ask_wait_pane "question 1: allow once"
ok "terminal: the question names app, remote and port; key a allowed it"

# deny always with `D`: refused at once, and a rule in the file
(curl_a 8081; echo $? >"$RP_TMP/c2") &
CPID=$!
ask_wait_pane "question 2"
ask_key D
wait $CPID
grep -q "Connection refused" "$RP_TMP/curl-8081.err" || fail "deny always by key: $(cat "$RP_TMP/curl-8081.err")"
ask_wait_pane "question 2: deny always, rule written at $POL:4"
grep -q "^    deny out app /usr/bin/curl proto tcp remote $RP_B4 port 8081$" "$POL" || fail "no learned rule: $(cat "$POL")"
ok "terminal: key D refused the connection and wrote the rule"
# the learned rule decides now: no question, EPERM at once
curl_a 8081
grep -q "Operation not permitted" "$RP_TMP/curl-8081.err" || fail "the learned deny rule: $(cat "$RP_TMP/curl-8081.err")"
ask_pane | grep -q "question 3" && fail "a question for a connection the learned rule decides"
ok "terminal: the learned rule decides without a question"
echo PASS
