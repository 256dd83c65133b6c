#!/usr/bin/env bash
# Learning mode over IPv6 (issue 10, SPEC 3.4): what t_ask.sh shows for
# IPv4, to and from 2001:db8:: addresses.  curl -6 inside a child cgroup,
# HTTP servers in the peer namespace, the JSON agent on a pipe.
#   - allow once: the held connection completes, one connection at the server
#   - deny once: curl fails with "connection refused" < 1 s after the answer
#   - inbound: a SYN from the peer (curl -6) to a local listener is asked
#     about; allow: the peer's connection completes after one retransmission
#   - the log records each question and answer (event, IPv6 ends)
set -u
RP_ID=${RP_ID:-a6$$}
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
    allow event listen
    ask out cgroup $CGREL proto tcp remote port 8080-8089
    ask in proto tcp local port 9090
}
P
out=$(rp_apply "$POL" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
ask_servers $RP_B6 8080 8081
ask_agent_fifo
url() { echo "http://[$RP_B6]:$1/"; }

# --- allow once ---
ask_held c8080 "$(url 8080)"
[ "$(ask_jq "$ASK_Q" "(d['event'], d['direction'], d['proto'], d['remote'], d['remote_port'], d['app'])")" = \
	"('connect', 'out', 'tcp', '$RP_B6', 8080, '/usr/bin/curl')" ] || fail "question fields: $ASK_Q"
sleep 0.5
ask_applied '"verdict": "allow", "remember": "once"'
ask_connected "IPv6 allow once"
ask_lt "$ASK_T" 2.5 || fail "allow once: curl took $ASK_T s"
[ "$(ask_requests 8080)" = 1 ] || fail "allow once: the server saw $(ask_requests 8080) requests"
ok "IPv6 allow once: curl completed in $ASK_T s, one connection at the server"

# --- deny once: connection refused at once ---
ask_held c8081 "$(url 8081)" 1
[ "$(ask_jq "$ASK_Q" "(d['remote'], d['remote_port'])")" = "('$RP_B6', 8081)" ] || fail "question: $ASK_Q"
sleep 0.5
ask_refused_now '"verdict": "deny", "remember": "once"'
[ "$(ask_requests 8081)" = 0 ] || fail "deny: the server saw a request"
ok "IPv6 deny once: connection refused $ASK_AFTER s after the answer"

# --- inbound: a SYN from the peer to a local listener ---
rp_bg in_a sh -c "echo \$\$ > $RP_CG/a/cgroup.procs && exec timeout 60 /usr/bin/python3 -m http.server -b $RP_A6 9090" >/dev/null 2>&1
rp_wait_port "$RP_NS_A" 9090 || fail "no listener on 9090"
t0=$(date +%s.%N)
(in_b timeout 20 curl -sS -o /dev/null --max-time 15 "http://[$RP_A6]:9090/" 2>"$RP_TMP/curl-in.err"; echo $? >"$RP_TMP/c3") &
CPID=$!
q=$(ask_next_question 2)
echo "question: $q"
[ "$(ask_jq "$q" "(d['event'], d['direction'], d['local'], d['local_port'], d['remote'], d['iface'])")" = \
	"('accept', 'in', '$RP_A6', 9090, '$RP_B6', '$RP_IF_A')" ] || fail "inbound question: $q"
ASK_ID=$(ask_jq "$q" "d['id']")
sleep 0.3
ask_applied '"verdict": "allow", "remember": "once"'
wait $CPID
t=$(ask_since "$t0")
[ "$(cat "$RP_TMP/c3")" = 0 ] || fail "inbound: the peer's curl -6 failed: $(cat "$RP_TMP/curl-in.err")"
ask_lt 0.9 "$t" && ask_lt "$t" 2.5 || fail "inbound: the peer's connection took $t s (one retransmission: about 1 s)"
ok "IPv6 inbound: asked, allowed, the peer connected after one retransmission ($t s)"

# --- the log: each question and its answer, with the event and the IPv6 ends ---
log=$(rp_r log)
echo "$log" | grep "question 2 " | grep -q "\[$RP_B6\]:8081 .* connect" || fail "log, question 2: $log"
echo "$log" | grep "answer 2 deny " | grep -q "\[$RP_B6\]:8081 .* connect" || fail "log, answer 2: $log"
echo "$log" | grep "answer $ASK_ID allow " | grep -q ":9090 .* accept" || fail "log, answer $ASK_ID: $log"
ok "log: questions and answers with their event and IPv6 ends"
echo PASS
