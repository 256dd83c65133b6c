#!/usr/bin/env bash
# A question answered late in its ask-timeout still finds its connection
# waiting (docs/ask.md, "The hold").  curl inside the child cgroup is held
# by an `ask` rule (ask-timeout 30); the JSON agent answers allow once
# 9 s later.  TCP must treat the held SYNs as lost in the network (it
# retransmits at 1, 3, 7, 15 s): the connection completes at the next
# retransmission and the server sees one request.  Held SYNs that TCP took
# for local transmit failures made connect() fail with ETIMEDOUT about
# 6 s into the question.
set -u
RP_ID=${RP_ID:-ah$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin
# curl waits up to 60 s: the answer comes 9 s in, the retransmission it
# decides later still on a loaded machine
ASK_CURL_MAX=60

ask_apply <<P
option ask-timeout 30
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp remote port 8080
}
P
ask_servers $RP_B4 8080
ask_agent_fifo

t0=$(date +%s.%N)
ask_held c8080 "http://$RP_B4:8080/"
sleep 9
held=$(ask_since "$t0")
ask_applied '"verdict": "allow", "remember": "once"'
ask_connected "allow once after $held s"
[ "$(ask_requests 8080)" = 1 ] || fail "the server saw $(ask_requests 8080) requests"
ask_lt 8 "$ASK_T" || fail "curl ended after $ASK_T s, before the answer"
n=$(rp_r status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["counters"]["ask-held"])')
[ "$n" -ge 3 ] || fail "ask-held counts $n held SYNs (the retransmissions at 1, 3, 7 s were held)"
ok "answered allow $held s into the question: curl connected after $ASK_T s ($n SYNs held)"
