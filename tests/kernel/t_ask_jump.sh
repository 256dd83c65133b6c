#!/usr/bin/env bash
# "Handle as" a table (issue 10, SPEC 3.5, docs/ask.md): a question answered
# `jump TABLE` gets the verdict that table gives the event, once or always.
# curl inside a child cgroup is held by an `ask` rule; table `web` allows
# tcp port 8080 and denies 8081; the JSON agent answers on a pipe.
#   - `jump nosuch`, a table that decides nothing (it continues), root (a
#     cycle): an error, the question stays open, the file unchanged
#   - `jump web` once: the held connection to 8080 completes; to 8081 it is
#     refused at once (connection refused); table web judges by all the
#     question carries (8082: allowed for the cgroup and user)
#   - `jump web` always: `jump web ...` is written just before the ask rule,
#     the file checks with no new warnings, explain shows table web
#     deciding through it, the next connect gets no question, and after
#     unload + apply (no agent: ask-default deny) the learned rules still
#     decide (8080 connects, 8081 EPERM; 8082, not learned, denied)
set -u
RP_ID=${RP_ID:-aj$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
. "$(dirname "$0")/ask_lib.sh"
rp_setup
rp_child_cgroup a
CGREL=${RP_CG#$(rp_cgroup2_mount)}

POL=$RP_TMP/policy.rules
cat > "$POL" <<P
option ask-timeout 10
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080-8089
}
table web default continue {
    allow out proto tcp remote port 8080
    deny out proto tcp remote port 8081
    allow out cgroup $CGREL/a user root proto tcp remote port 8082
}
table mail default continue {
    allow out proto tcp remote port 25
}
P
warnings() { "$RAMPART" check "$POL" 2>&1 | sed -n 's/.* \([0-9]*\) warnings\?$/\1/p'; }
warn0=$(warnings)
[ -n "$warn0" ] || fail "check: $("$RAMPART" check "$POL" 2>&1)"
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
ask_servers $RP_B4 8080 8081 8082
ask_agent_fifo
url() { echo "http://$RP_B4:$1/"; }

# --- an unknown table: an error, the question stays open; then jump web once ---
(ask_curl c8080 "$(url 8080)" >"$RP_TMP/c1") &
CPID=$!
q=$(ask_next_question)
[ "$(ask_jq "$q" "(d['event'], d['remote'], d['remote_port'], d['app'])")" = \
	"('connect', '$RP_B4', 8080, '/usr/bin/curl')" ] || fail "question: $q"
id=$(ask_jq "$q" "d['id']")
ask_say "$id" '"verdict": "jump nosuch", "remember": "once"'
r=$(ask_result "$id")
[ "$(ask_jq "$r" "'applied' in d")" = False ] && ask_jq "$r" "d['error']" | grep -q "nosuch" ||
	fail "jump to an unknown table: $r"
ask_say "$id" '"verdict": "jump mail", "remember": "always"'
r=$(ask_result "$id" 1)
ask_jq "$r" "d['error']" | grep -q "table mail decides nothing" || fail "jump to a table that decides nothing: $r"
ask_say "$id" '"verdict": "jump root"'
r=$(ask_result "$id" 2)
ask_jq "$r" "d['error']" | grep -q "cycle" || fail "jump to root: $r"
rp_r status | grep -q "open questions: 1" || fail "the question did not stay open: $(rp_r status | grep ask)"
grep -q "mail" "$POL" && [ "$(grep -c "jump" "$POL")" = 0 ] || fail "an error answer changed the file"
ok "jump nosuch, a table that decides nothing, root: errors ($r); the question stays open"
ask_say "$id" '"verdict": "jump web", "remember": "once"'
r=$(ask_result "$id" 3)
[ "$(ask_jq "$r" "(d.get('applied'), d.get('rule'))")" = "(True, '$POL:4')" ] || fail "jump web once: $r"
wait $CPID
read -r rc t <"$RP_TMP/c1"
[ "$rc" = 0 ] || fail "jump web once (8080): curl failed ($rc): $(cat "$RP_TMP/c8080.err")"
ask_lt "$t" 3 || fail "jump web once: curl took $t s"
[ "$(ask_requests 8080)" = 1 ] || fail "jump web once: the server saw $(ask_requests 8080) requests"
ok "jump web once: table web allowed the held connection to 8080 ($t s)"

(ask_curl c8081 "$(url 8081)" >"$RP_TMP/c2") &
CPID=$!
q=$(ask_next_question 1)
id=$(ask_jq "$q" "d['id']")
[ "$(ask_jq "$q" "d['remote_port']")" = 8081 ] || fail "question: $q"
t_ans=$(date +%s.%N)
ask_say "$id" '"verdict": "jump web"'
r=$(ask_result "$id")
[ "$(ask_jq "$r" "d.get('applied')")" = True ] || fail "jump web once (8081): $r"
wait $CPID
after=$(ask_since "$t_ans")
grep -q "Connection refused" "$RP_TMP/c8081.err" || fail "jump web once (8081): not refused: $(cat "$RP_TMP/c8081.err")"
ask_lt "$after" 1.0 || fail "jump web once (8081): refused only $after s after the answer"
[ "$(ask_requests 8081)" = 0 ] || fail "jump web once (8081): the server saw a request"
ok "jump web once: table web denied the held connection to 8081, refused $after s after the answer"

# table web judges by all the question carries (here: cgroup and user)
(ask_curl c8082 "$(url 8082)" >"$RP_TMP/c5") &
CPID=$!
q=$(ask_next_question 2)
id=$(ask_jq "$q" "d['id']")
ask_say "$id" '"verdict": "jump web"'
r=$(ask_result "$id")
[ "$(ask_jq "$r" "d.get('applied')")" = True ] || fail "jump web once (8082): $r"
wait $CPID
read -r rc t <"$RP_TMP/c5"
[ "$rc" = 0 ] || fail "jump web once (8082, by cgroup and user): curl failed ($rc): $(cat "$RP_TMP/c8082.err")"
ok "jump web once: table web allowed 8082 by the question's cgroup and user ($t s)"

# --- jump web always ---
sleep 1 # a "once" answer decides its key for 2 s
(ask_curl c8080 "$(url 8080)" >"$RP_TMP/c3") &
CPID=$!
q=$(ask_next_question 3)
id=$(ask_jq "$q" "d['id']")
[ "$(ask_jq "$q" "d['remote_port']")" = 8080 ] || fail "question: $q"
ask_say "$id" '"verdict": "jump web", "remember": "always", "scope": "host-port"'
r=$(ask_result "$id")
[ "$(ask_jq "$r" "(d.get('applied'), d.get('rule'))")" = "(True, '$POL:5')" ] || fail "jump web always: $r"
wait $CPID
read -r rc t <"$RP_TMP/c3"
[ "$rc" = 0 ] || fail "jump web always: the held curl failed: $(cat "$RP_TMP/c8080.err")"
cat "$POL"
sed -n 4p "$POL" | grep -q "^    # learned .* from question $id (jump web always, scope host-port)$" || fail "no comment at line 4"
sed -n 5p "$POL" | grep -q "^    jump web out app /usr/bin/curl proto tcp remote $RP_B4 port 8080$" || fail "learned rule not at line 5"
sed -n 6p "$POL" | grep -q "^    ask out cgroup" || fail "the ask rule does not follow the learned one"
warn=$(warnings)
[ -n "$warn" ] && [ "$warn" -le "$warn0" ] || fail "check: $warn0 warnings before, now: $("$RAMPART" check "$POL" 2>&1)"
out=$("$RAMPART" explain --policy "$POL" out proto tcp remote $RP_B4 port 8080 app /usr/bin/curl cgroup "$CGREL/a" 2>&1)
echo "$out" | grep -q "$POL:5 .*jump to table web" && echo "$out" | grep -q "^verdict: allow (table web" ||
	fail "explain does not show the learned jump deciding: $out"
ok "jump web always: rule written at $POL:5, check ($warn warnings, $warn0 before), explain shows table web deciding"
read -r rc t <<<"$(ask_curl c8080 "$(url 8080)")"
[ "$rc" = 0 ] || fail "jump web always: the next curl failed: $(cat "$RP_TMP/c8080.err")"
n=$(ask_questions)
[ "$n" = 4 ] || fail "jump web always: the next curl was asked about ($n questions)"
ok "jump web always: the next curl connected without a question ($t s)"

# jump web always, scope port, for 8081: refused now and from now on
(ask_curl c8081 "$(url 8081)" >"$RP_TMP/c4") &
CPID=$!
q=$(ask_next_question 4)
id=$(ask_jq "$q" "d['id']")
ask_say "$id" '"verdict": "jump web", "remember": "always", "scope": "port"'
r=$(ask_result "$id")
[ "$(ask_jq "$r" "(d.get('applied'), d.get('rule'))")" = "(True, '$POL:7')" ] || fail "jump web always (8081): $r"
wait $CPID
grep -q "Connection refused" "$RP_TMP/c8081.err" || fail "jump web always (8081): $(cat "$RP_TMP/c8081.err")"
sed -n 7p "$POL" | grep -q "^    jump web out app /usr/bin/curl proto tcp remote port 8081$" || fail "learned rule not at line 7"
read -r rc t <<<"$(ask_curl c8081 "$(url 8081)")"
grep -q "Operation not permitted" "$RP_TMP/c8081.err" || fail "the learned jump for 8081: $(cat "$RP_TMP/c8081.err")"
[ "$(ask_questions)" = 5 ] || fail "8081 asked about after the learned rule"
ok "jump web always (scope port): 8081 refused, then denied by the learned rule without a question"

# --- after unload + apply (no agent: ask-default would deny) ---
ask_agent_stop
rp_r unload >/dev/null || fail "unload"
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "re-apply: $out"
read -r rc t <<<"$(ask_curl c8080 "$(url 8080)")"
[ "$rc" = 0 ] || fail "after unload + apply: 8080 (jump web learned) failed: $(cat "$RP_TMP/c8080.err")"
read -r rc t <<<"$(ask_curl c8081 "$(url 8081)")"
grep -q "Operation not permitted" "$RP_TMP/c8081.err" || fail "after unload + apply: 8081: $(cat "$RP_TMP/c8081.err")"
read -r rc t <<<"$(ask_curl c8082 "$(url 8082)")"
grep -q "Operation not permitted" "$RP_TMP/c8082.err" || fail "after unload + apply: 8082 (not learned) was not denied"
ok "after unload + apply the learned jumps decide: 8080 connects, 8081 denied, 8082 (ask-default) denied"
echo PASS
