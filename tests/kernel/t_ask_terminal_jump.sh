#!/usr/bin/env bash
# "Handle as" a table in the terminal agent (issue 10): `rampart ask` in a
# tmux pane; curl in a child cgroup is held by an `ask` rule.  `j` then the
# table's digit answers "jump TABLE" once, `J` then the digit for good
# (the rule is written before the ask rule; table web denies 8081: the
# held connection is refused at once).  The tables offered are those a
# jump may go to (not root).
set -u
RP_ID=${RP_ID:-tj$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
. "$(dirname "$0")/ask_lib.sh"
ask_begin

POL=$RP_TMP/policy.rules
cat > "$POL" <<P
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080-8081
}
table web default continue {
    allow out proto tcp remote port 8080
    deny out proto tcp remote port 8081
}
P
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
ask_servers $RP_B4 8080 8081
ask_tmux_agent

# `j` `1`: handle as table web, once
ask_curl_bg c8080 "http://$RP_B4:8080/"
ask_wait_pane "question 1"
ask_pane | grep -q "\[j\] handle as a table  \[J\] always" || fail "the question does not offer the tables: $(ask_pane)"
ask_key j
ask_wait_pane "handle as which table?"
p=$(ask_pane)
echo "$p"
echo "$p" | grep "handle as which table" | grep -q "\[1\] web" || fail "table web is not offered"
echo "$p" | grep "handle as which table" | grep -q "root" && fail "root is offered (a jump to it is a cycle)"
ask_key 1
ask_connected "j 1"
ask_wait_pane "question 1: jump web once"
ok "terminal: j 1 handled the question as table web (allowed, $ASK_T s)"

# `J` `1`: handle as table web, always: web denies 8081, refused at once
ask_curl_bg c8081 "http://$RP_B4:8081/"
ask_wait_pane "question 2"
ask_key J
ask_wait_pane "handle as which table, always?"
t_ans=$(date +%s.%N)
ask_key 1
ask_held_end
grep -q "Connection refused" "$RP_TMP/c8081.err" || fail "J 1: curl was not refused: $(cat "$RP_TMP/c8081.err")"
after=$(/usr/bin/python3 -c "print(round($ASK_END - $t_ans, 3))")
ask_lt "$after" 1.0 || fail "J 1: curl was refused only $after s after the key"
ask_wait_pane "question 2: jump web always, rule written at $POL:4"
cat "$POL"
sed -n 4p "$POL" | grep -q "^    jump web out app /usr/bin/curl proto tcp remote $RP_B4 port 8081$" || fail "no learned rule at line 4"
ask_curl c8081 "http://$RP_B4:8081/" >/dev/null
grep -q "Operation not permitted" "$RP_TMP/c8081.err" || fail "the learned jump: $(cat "$RP_TMP/c8081.err")"
ask_pane | grep -q "question 3" && fail "a question for a connection the learned rule decides"
ok "terminal: J 1 refused 8081 as table web does ($after s after the key), wrote 'jump web' at $POL:4; the next curl was denied without a question"
echo PASS
