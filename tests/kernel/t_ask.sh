#!/usr/bin/env bash
# Learning mode (issue 10, docs/ask.md), end to end with real programs:
# curl inside a child cgroup of namespace A, HTTP servers (python3 -m
# http.server, one log line per request) in the peer namespace, and the
# agent `rampart ask --json` on a pipe (a coprocess of this shell).
#   - no agent: ask-default at once (connect does not wait)
#   - allow once after 0.5 s: the held connection completes (< 2.5 s), the
#     server saw exactly one connection
#   - deny once: curl fails with "connection refused" < 1 s after the answer
#   - no answer: ask-default after ask-timeout
#   - allow always: the rule is written just before the ask rule, the file
#     still checks without warnings, explain shows it deciding, a second
#     curl gets no question, and it still decides after unload + apply
#   - inbound: a SYN from the peer to a local listener is asked about;
#     allow: the peer's connection completes after one retransmission
#   - a second agent is told who answers
#   - status shows the agent and the open questions; log records them
set -u
RP_ID=${RP_ID:-ak$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin

ask_apply <<P
option ask-timeout 4
table root default deny {
    allow event network
    allow event listen
    allow in proto tcp local port 8000
    ask out cgroup $CGREL proto tcp remote port 8080-8089
    ask in proto tcp local port 9090
}
P

ask_servers $RP_B4 8080 8081 8082 8083 8084 8085

# curl_a PORT: curl inside the cgroup in A; prints "EXIT SECONDS END"
curl_a() { ask_curl "curl-$1" "http://$RP_B4:$1/"; }

# --- no agent: ask-default (deny) at once ---
read -r rc t _ <<<"$(curl_a 8080)"
[ "$rc" != 0 ] || fail "no agent: curl succeeded"
ask_lt "$t" 1.0 || fail "no agent: curl waited $t s (ask-default must apply at once)"
grep -q "Operation not permitted" "$RP_TMP/curl-8080.err" || fail "no agent: not EPERM: $(cat "$RP_TMP/curl-8080.err")"
ok "no agent: ask-default (deny: EPERM) at once ($t s)"

# --- the agent on a pipe ---
coproc AGENT { exec nsenter --net=/run/netns/$RP_NS_A "$RAMPART" --pin-dir "$RP_PIN" --json ask 2>"$RP_TMP/agent.err"; }
AG_PID=$AGENT_PID
RP_CLEANUP_EXTRA="kill $AG_PID 2>/dev/null; $RP_CLEANUP_EXTRA"
ask_wait_agent
ok "status shows the agent"

# a second agent is told who holds the pin dir
out=$(in_a timeout 5 "$RAMPART" --pin-dir "$RP_PIN" --json ask 2>&1 </dev/null)
rc=$?
[ $rc = 3 ] && echo "$out" | grep -q "another agent (pid [0-9]*)" || fail "second agent: rc $rc: $out"
ok "second agent refused: $out"

# next_line [SECONDS]: the agent's next output line (fails after SECONDS)
next_line() {
	local line
	read -r -t "${1:-10}" line <&"${AGENT[0]}" || fail "the agent said nothing within ${1:-10} s"
	echo "$line"
}

# --- allow once after 0.5 s ---
(curl_a 8080 >"$RP_TMP/c1") &
CPID=$!
q=$(next_line)
echo "question: $q"
[ "$(ask_jq "$q" "(d['event'], d['direction'], d['proto'], d['remote'], d['remote_port'], d['app'], d['cgroup'])")" = \
	"('connect', 'out', 'tcp', '$RP_B4', 8080, '/usr/bin/curl', '$CGREL/a')" ] || fail "question fields: $q"
ask_jq "$q" "d['rule']" | grep -q "policy.rules:6$" || fail "question rule: $q"
[ "$(ask_jq "$q" "sorted(d)")" = "['app', 'cgroup', 'direction', 'event', 'id', 'pid', 'proto', 'remote', 'remote_port', 'rule', 'uid', 'user']" ] ||
	fail "question members: $q"
id=$(ask_jq "$q" "d['id']")
rp_r status | grep -q "open questions: 1" || fail "status does not show the open question: $(rp_r status)"
sleep 0.5
echo "{\"id\": $id, \"verdict\": \"allow\", \"remember\": \"once\"}" >&"${AGENT[1]}"
a=$(next_line)
[ "$(ask_jq "$a" "(d['id'], d['applied'], d['rule'])")" = "($id, True, '$POL:6')" ] || fail "answer result: $a"
wait $CPID
read -r rc t _ <"$RP_TMP/c1"
[ "$rc" = 0 ] || fail "allow once: curl failed ($rc): $(cat "$RP_TMP/curl-8080.err")"
ask_lt "$t" 2.5 || fail "allow once: curl took $t s"
[ "$(ask_requests 8080)" = 1 ] || fail "allow once: the server saw $(ask_requests 8080) requests"
ok "allow once: curl completed in $t s, one connection at the server"

# --- deny once: connection refused at once ---
(curl_a 8081 >"$RP_TMP/c2") &
CPID=$!
q=$(next_line)
id=$(ask_jq "$q" "d['id']")
sleep 0.5
t_ans=$(date +%s.%N)
echo "{\"id\": $id, \"verdict\": \"deny\", \"remember\": \"once\"}" >&"${AGENT[1]}"
a=$(next_line)
[ "$(ask_jq "$a" "d.get('applied')")" = True ] || fail "deny result: $a"
wait $CPID
t_end=$(date +%s.%N)
read -r rc t _ <"$RP_TMP/c2"
grep -q "Connection refused" "$RP_TMP/curl-8081.err" || fail "deny: curl did not see connection refused ($rc): $(cat "$RP_TMP/curl-8081.err")"
after=$($PY -c "print(round($t_end - $t_ans, 3))")
ask_lt "$after" 1.0 || fail "deny: curl failed only $after s after the answer"
[ "$(ask_requests 8081)" = 0 ] || fail "deny: the server saw a request"
ok "deny once: connection refused $after s after the answer"

# --- no answer: ask-default after ask-timeout (4 s) ---
(curl_a 8082 >"$RP_TMP/c3") &
CPID=$!
q=$(next_line)
id=$(ask_jq "$q" "d['id']")
a=$(next_line 10)
[ "$(ask_jq "$a" "d['id']")" = "$id" ] && ask_jq "$a" "d['error']" | grep -q "ask-timeout" || fail "timeout: $a"
wait $CPID
read -r rc t _ <"$RP_TMP/c3"
[ "$rc" != 0 ] || fail "timeout: curl succeeded"
ask_lt 3.5 "$t" && ask_lt "$t" 6 || fail "timeout: curl ended after $t s (ask-timeout 4)"
ok "no answer: ask-default after $t s ($a)"

# --- allow always: a rule in the file ---
(curl_a 8083 >"$RP_TMP/c4") &
CPID=$!
q=$(next_line)
id=$(ask_jq "$q" "d['id']")
echo "{\"id\": $id, \"verdict\": \"allow\", \"remember\": \"always\", \"scope\": \"host-port\"}" >&"${AGENT[1]}"
a=$(next_line 30)
[ "$(ask_jq "$a" "(d.get('applied'), d.get('rule'))")" = "(True, '$POL:7')" ] || fail "always: $a"
wait $CPID
read -r rc t _ <"$RP_TMP/c4"
[ "$rc" = 0 ] || fail "always: the held curl failed"
cat "$POL"
sed -n 7p "$POL" | grep -q "^    allow out app /usr/bin/curl proto tcp remote $RP_B4 port 8083$" || fail "learned rule not at line 7"
sed -n 6p "$POL" | grep -q "^    # learned .* from question $id (allow always, scope host-port)$" || fail "no comment at line 6"
sed -n 8p "$POL" | grep -q "^    ask out cgroup" || fail "the ask rule does not follow the learned one"
out=$("$RAMPART" check "$POL" 2>&1) || fail "check: $out"
echo "$out" | grep -q " 0 warnings" || fail "check warns: $out"
out=$("$RAMPART" explain --policy "$POL" out proto tcp remote $RP_B4 port 8083 app /usr/bin/curl cgroup "$CGREL/a" 2>&1)
echo "$out" | grep -q "$POL:7" || fail "explain does not show the learned rule: $out"
ok "always: rule written at $POL:7, checks, explain shows it"
read -r rc t _ <<<"$(curl_a 8083)"
[ "$rc" = 0 ] || fail "always: the second curl failed"
read -r -t 2 line <&"${AGENT[0]}" && fail "always: a question for the second curl: $line"
ok "always: second curl decided without a question ($t s)"

# --- inbound: a SYN from the peer to a local listener ---
rp_bg in_a sh -c "echo \$\$ > $RP_CG/a/cgroup.procs && exec timeout 60 $PY -m http.server -b $RP_A4 9090" 2>/dev/null
rp_wait_port "$RP_NS_A" 9090
t0=$(date +%s.%N)
(in_b timeout 20 curl -sS -o /dev/null --max-time 15 "http://$RP_A4:9090/" 2>"$RP_TMP/curl-in.err"; echo $? >"$RP_TMP/c5") &
CPID=$!
q=$(next_line)
[ "$(ask_jq "$q" "(d['event'], d['direction'], d['local_port'], d['remote'], d['iface'])")" = \
	"('accept', 'in', 9090, '$RP_B4', '$RP_IF_A')" ] || fail "inbound question: $q"
id=$(ask_jq "$q" "d['id']")
sleep 0.3
echo "{\"id\": $id, \"verdict\": \"allow\", \"remember\": \"once\"}" >&"${AGENT[1]}"
next_line >/dev/null
wait $CPID
t=$($PY -c "print(round($(date +%s.%N) - $t0, 3))")
[ "$(cat "$RP_TMP/c5")" = 0 ] || fail "inbound: the peer's curl failed: $(cat "$RP_TMP/curl-in.err")"
ask_lt 0.9 "$t" && ask_lt "$t" 2.5 || fail "inbound: the peer's connection took $t s (one retransmission: about 1 s)"
ok "inbound: asked, allowed, the peer connected after one retransmission ($t s)"

# --- the log records each question and its answer ---
log=$(rp_r log)
echo "$log" | grep -q "question $id " || fail "log has no question $id: $log"
echo "$log" | grep -q "answer $id allow" || fail "log has no answer $id: $log"
ok "log records questions and answers"

# --- always survives unload + apply (no agent: ask-default would deny) ---
kill "$AG_PID" 2>/dev/null
wait "$AG_PID" 2>/dev/null
rp_r unload >/dev/null || fail "unload"
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "re-apply: $out"
read -r rc t _ <<<"$(curl_a 8083)"
[ "$rc" = 0 ] || fail "after unload + apply the learned rule does not decide"
read -r rc t _ <<<"$(curl_a 8084)"
[ "$rc" != 0 ] || fail "after unload + apply: 8084 (not learned) was allowed"
ok "the learned rule decides after unload + apply"
echo PASS
