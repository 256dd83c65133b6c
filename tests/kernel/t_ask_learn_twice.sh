#!/usr/bin/env bash
# "Always" answers to questions that wait side by side (docs/ask.md,
# '"Always": a rule in the file').  A question carries the rule slot of the
# policy it was asked under; an apply before its answer (another "always",
# an operator's edit) moves the ask rule, so the agent judges the question
# again by the policy in force before it writes.
#   - two curls held at once (8084, 8085), both answered allow always: each
#     learned rule sits just below its own comment, both before the ask
#     rule, the file checks, explain shows each deciding, and new curls to
#     both ports get no question (before the fix the second rule landed
#     between the first one's comment and its rule)
#   - a held curl (8086) whose port the operator allows (edit + apply)
#     before the answer: allow always is applied once, nothing is learned,
#     the error names the operator's rule, the file is as the operator left it
set -u
RP_ID=${RP_ID:-al$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin
# the second question waits for the first one's apply: curl waits up to
# 60 s for the retransmission after its answer, the question up to 60 s
ASK_CURL_MAX=60

ask_apply <<P
option ask-timeout 60
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080-8089
}
P
ask_servers $RP_B4 8084 8085 8086
ask_agent_fifo
url() { echo "http://$RP_B4:$1/"; }

# --- two questions waiting at once, answered always one after the other ---
ask_curl_bg c8084 "$(url 8084)"
P1=$ASK_CPID
q1=$(ask_next_question 0)
[ -n "$q1" ] || fail "no question for 8084"
ask_curl_bg c8085 "$(url 8085)"
P2=$ASK_CPID
q2=$(ask_next_question 1)
[ -n "$q2" ] || fail "no question for 8085"
id1=$(ask_jq "$q1" "d['id']")
id2=$(ask_jq "$q2" "d['id']")
port1=$(ask_jq "$q1" "d['remote_port']")
port2=$(ask_jq "$q2" "d['remote_port']")
[ "$port1 $port2" = "8084 8085" ] || fail "questions: $q1 / $q2"
ASK_ID=$id1 ask_applied '"verdict": "allow", "remember": "always"'
r1=$ASK_R
ASK_ID=$id2 ask_applied '"verdict": "allow", "remember": "always"'
r2=$ASK_R
echo "results: $r1 / $r2"
cat "$POL"
wait $P1 $P2
for p in 8084 8085; do
	read -r rc _ <"$RP_TMP/c$p.res"
	[ "$rc" = 0 ] || fail "always ($p): the held curl failed: $(cat "$RP_TMP/c$p.err")"
done
# each comment is directly above its rule; both rules precede the ask rule
learned() { grep -n "$1" "$POL" | cut -d: -f1; }
c1=$(learned "from question $id1 ") c2=$(learned "from question $id2 ")
l1=$(learned "allow out app /usr/bin/curl proto tcp remote $RP_B4 port 8084$")
l2=$(learned "allow out app /usr/bin/curl proto tcp remote $RP_B4 port 8085$")
la=$(learned "^    ask out cgroup")
[ -n "$c1" ] && [ -n "$c2" ] && [ -n "$l1" ] && [ -n "$l2" ] || fail "learned rules or comments missing"
[ "$l1" = $((c1 + 1)) ] || fail "question $id1: comment at line $c1, rule at line $l1"
[ "$l2" = $((c2 + 1)) ] || fail "question $id2: comment at line $c2, rule at line $l2"
[ "$l1" -lt "$la" ] && [ "$l2" -lt "$la" ] || fail "a learned rule follows the ask rule (line $la)"
[ "$(ask_jq "$r1" "d['rule']")" = "$POL:$l1" ] && [ "$(ask_jq "$r2" "d['rule']")" = "$POL:$l2" ] ||
	fail "the results name other lines: $r1 / $r2"
out=$("$RAMPART" check "$POL" 2>&1) || fail "check: $out"
echo "$out" | grep -q " 0 warnings" || fail "check warns: $out"
for p in 8084 8085; do
	out=$("$RAMPART" explain --policy "$POL" out proto tcp remote $RP_B4 port $p app /usr/bin/curl cgroup "$CGREL/a" 2>&1)
	echo "$out" | grep -q "$POL:$(learned "port $p$")" || fail "explain ($p) does not show the learned rule: $out"
done
ok "two questions answered always: rules at lines $l1 and $l2, each below its comment, before the ask rule (line $la)"
n=$(ask_questions)
for p in 8084 8085; do
	read -r rc _ <<<"$(ask_curl "again$p" "$(url $p)")"
	[ "$rc" = 0 ] || fail "a new curl to $p failed: $(cat "$RP_TMP/again$p.err")"
done
sleep 0.5
[ "$(ask_questions)" = "$n" ] || fail "a question for a learned port: $(tail -2 "$RP_TMP/agent.out")"
ok "new curls to 8084 and 8085: no question"

# --- the operator allows the port while the question waits ---
ask_held c8086 "$(url 8086)" "$n"
sed -i "s|^    ask out cgroup|    allow out proto tcp remote port 8086\n&|" "$POL"
cp "$POL" "$RP_TMP/operator.rules"
opline=$(learned "^    allow out proto tcp remote port 8086$")
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "operator's apply: $out"
ask_say "$ASK_ID" '"verdict": "allow", "remember": "always"'
r=$(ask_result "$ASK_ID")
echo "result: $r"
[ "$(ask_jq "$r" "'applied' in d")" = False ] || fail "a rule was learned although the policy no longer asks: $r"
ask_jq "$r" "d['error']" | grep -q "nothing learned.*$POL:$opline \[root\] decides (allow)" ||
	fail "the error does not name the operator's rule ($POL:$opline): $r"
cmp -s "$POL" "$RP_TMP/operator.rules" || fail "the file changed: $(diff "$RP_TMP/operator.rules" "$POL")"
ask_connected "operator's allow (8086)"
[ "$(ask_requests 8086)" = 1 ] || fail "8086: the server saw $(ask_requests 8086) requests"
ok "operator allowed 8086 before the answer: answered once, nothing learned ($(ask_jq "$r" "d['error']"))"
