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
#     unload + apply (no agent: ask-default deny) the learned rule still
#     decides (8080 connects; 8082, not learned, is denied)
# (t_ask_terminal_jump.sh: `jump` always to a table that denies.)
set -u
RP_ID=${RP_ID:-aj$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
. "$(dirname "$0")/ask_lib.sh"
ask_begin

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

# --- answers that cannot be applied: an error, the question stays open ---
ask_held c8080 "$(url 8080)"
[ "$(ask_jq "$ASK_Q" "(d['event'], d['remote'], d['remote_port'], d['app'])")" = \
	"('connect', '$RP_B4', 8080, '/usr/bin/curl')" ] || fail "question: $ASK_Q"
# error ANSWER-MEMBERS N TEXT: the Nth result for the question is an error saying TEXT
error() {
	ask_say "$ASK_ID" "$1"
	local r
	r=$(ask_result "$ASK_ID" "$2")
	[ "$(ask_jq "$r" "'applied' in d")" = False ] && ask_jq "$r" "d['error']" | grep -q "$3" ||
		fail "{$1}: not an error saying '$3': $r"
	echo "$r"
}
error '"verdict": "jump nosuch", "remember": "once"' 0 "no table .nosuch."
error '"verdict": "jump mail", "remember": "always"' 1 "table mail decides nothing"
error '"verdict": "jump root"' 2 "cycle"
rp_r status | grep -q "open questions: 1" || fail "the question did not stay open: $(rp_r status | grep ask)"
[ "$(grep -c "jump" "$POL")" = 0 ] || fail "an error answer changed the file"
ok "jump to an unknown table, to one that decides nothing, to root: errors; the question stays open"

# --- jump web once ---
ask_applied '"verdict": "jump web", "remember": "once"' 3
[ "$(ask_jq "$ASK_R" "d['rule']")" = "$POL:4" ] || fail "jump web once: $ASK_R"
ask_connected "jump web once (8080)"
ask_lt "$ASK_T" 4 || fail "jump web once: curl took $ASK_T s"
[ "$(ask_requests 8080)" = 1 ] || fail "jump web once: the server saw $(ask_requests 8080) requests"
ok "jump web once: table web allowed the held connection to 8080 ($ASK_T s)"

ask_held c8081 "$(url 8081)" 1
ask_refused_now '"verdict": "jump web"'
[ "$(ask_requests 8081)" = 0 ] || fail "jump web once (8081): the server saw a request"
ok "jump web once: table web denied the held connection to 8081, refused $ASK_AFTER s after the answer"

ask_held c8082 "$(url 8082)" 2
ask_applied '"verdict": "jump web"'
ask_connected "jump web once (8082, by cgroup and user)"
ok "jump web once: table web allowed 8082 by the question's cgroup and user ($ASK_T s)"

# --- jump web always ---
sleep 1 # a "once" answer decides its key for 2 s
ask_held c8080 "$(url 8080)" 3
ask_applied '"verdict": "jump web", "remember": "always", "scope": "host-port"'
[ "$(ask_jq "$ASK_R" "d['rule']")" = "$POL:5" ] || fail "jump web always: $ASK_R"
ask_connected "jump web always (8080)"
cat "$POL"
sed -n 4p "$POL" | grep -q "^    # learned .* from question $ASK_ID (jump web always, scope host-port)$" || fail "no comment at line 4"
sed -n 5p "$POL" | grep -q "^    jump web out app /usr/bin/curl proto tcp remote $RP_B4 port 8080$" || fail "learned rule not at line 5"
sed -n 6p "$POL" | grep -q "^    ask out cgroup" || fail "the ask rule does not follow the learned one"
warn=$(warnings)
[ -n "$warn" ] && [ "$warn" -le "$warn0" ] || fail "check: $warn0 warnings before, now: $("$RAMPART" check "$POL" 2>&1)"
out=$("$RAMPART" explain --policy "$POL" out proto tcp remote $RP_B4 port 8080 app /usr/bin/curl cgroup "$CGREL/a" 2>&1)
echo "$out" | grep -q "$POL:5 .*jump to table web" && echo "$out" | grep -q "^verdict: allow (table web" ||
	fail "explain does not show the learned jump deciding: $out"
ok "jump web always: rule written at $POL:5, check: $warn warning(s), $warn0 before; explain shows table web deciding"
read -r rc t _ <<<"$(ask_curl c8080 "$(url 8080)")"
[ "$rc" = 0 ] || fail "jump web always: the next curl failed: $(cat "$RP_TMP/c8080.err")"
[ "$(ask_questions)" = 4 ] || fail "jump web always: the next curl was asked about"
ok "jump web always: the next curl connected without a question ($t s)"

# --- after unload + apply (no agent: ask-default would deny) ---
ask_agent_stop
rp_r unload >/dev/null || fail "unload"
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "re-apply: $out"
read -r rc t _ <<<"$(ask_curl c8080 "$(url 8080)")"
[ "$rc" = 0 ] || fail "after unload + apply: 8080 (jump web learned) failed: $(cat "$RP_TMP/c8080.err")"
ask_curl c8082 "$(url 8082)" >/dev/null
grep -q "Operation not permitted" "$RP_TMP/c8082.err" || fail "after unload + apply: 8082 (not learned) was not denied"
ok "after unload + apply the learned jump decides: 8080 connects (8082, not learned: ask-default deny)"
echo PASS
