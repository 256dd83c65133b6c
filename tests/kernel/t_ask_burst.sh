#!/usr/bin/env bash
# A burst of questions (issue 10): a UDP port scan outward from a cgroup
# (1 000 datagrams: 500 ports, twice) under `ask`, with the JSON agent on a
# pipe answering nothing.  New questions are rate-limited (bursts of 50, 20
# per second) and counted, duplicates are folded into the open question,
# the agent stays responsive (a question raised after the burst is answered
# at once), and once the questions have expired nothing is left behind in
# the question and held-flow maps.
set -u
RP_ID=${RP_ID:-ab$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin

ask_apply <<P
option ask-timeout 3
table root default deny {
    allow event network
    ask out cgroup $CGREL
}
P
ask_servers $RP_B4 8080

ask_agent_fifo

counter() { rp_r metrics | awk -v c="$1" '$0 ~ "counter=\""c"\"" { print $2 }' | head -1; }

t0=$(date +%s.%N)
in_cg "$RP_CG/a" timeout 30 $PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = refused = 0
for rnd in range(2):
    for port in range(20000, 20500):
        try:
            s.sendto(b"x", (sys.argv[1], port)); sent += 1
        except OSError:
            refused += 1
print(sent, refused)' $RP_B4 >"$RP_TMP/scan.out" || fail "the scan did not run"
t1=$(date +%s.%N)
read -r sent refused <"$RP_TMP/scan.out"
secs=$($PY -c "print($t1 - $t0)")
sleep 0.5
questions=$(grep -c '"event"' "$RP_TMP/agent.out")
limited=$(counter ask-rate-limited) folded=$(counter ask-folded) raised=$(counter ask-question)
echo "scan: $sent sent, $refused refused (ask-default) in $secs s; questions $questions (counter $raised), rate-limited $limited, folded $folded"
[ "$questions" -ge 50 ] || fail "fewer questions than the burst allows: $questions"
max=$($PY -c "print(int(50 + 20 * $secs + 25))")
[ "$questions" -le "$max" ] || fail "$questions questions in $secs s (the rate allows about $max)"
[ "$questions" = "$raised" ] || fail "the agent saw $questions questions, the kernel raised $raised"
[ "${limited:-0}" -gt 0 ] || fail "nothing was counted as rate-limited"
[ "${folded:-0}" -gt 0 ] || fail "no duplicate was folded"
[ $((sent + refused)) = 1000 ] || fail "the scan lost datagrams: $sent + $refused"
ok "1 000 datagrams: $questions questions, $limited rate-limited, $folded folded"

# the agent stays responsive: a new question after the burst is answered at once
sleep 1.5 # the rate refills
in_cg "$RP_CG/a" timeout 20 curl -sS -o /dev/null --max-time 15 "http://$RP_B4:8080/" 2>/dev/null &
CPID=$!
for _ in $(seq 100); do
	q=$(grep '"remote_port": 8080' "$RP_TMP/agent.out" | head -1)
	[ -n "$q" ] && break
	sleep 0.1
done
[ -n "$q" ] || fail "no question for the connection after the burst"
id=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$q")
t0=$(date +%s.%N)
echo "{\"id\": $id, \"verdict\": \"allow\"}" >&7
for _ in $(seq 100); do
	grep -q "{\"id\": $id, \"applied\": true" "$RP_TMP/agent.out" && break
	sleep 0.05
done
grep -q "{\"id\": $id, \"applied\": true" "$RP_TMP/agent.out" || fail "no answer result: $(tail -3 "$RP_TMP/agent.out")"
wait $CPID || fail "the connection after the burst failed"
ok "the agent answered a question after the burst ($($PY -c "print(round($(date +%s.%N) - $t0, 2))") s)"

# nothing leaks: the questions expire (ask-timeout 3 s), the agent sweeps
entries() { bpftool -j map dump pinned "$RP_PIN/maps/$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for _ in $(seq 200); do
	[ "$(entries rp_ask)" = 0 ] && [ "$(entries rp_ask_held)" = 0 ] && break
	sleep 0.1
done
[ "$(entries rp_ask)" = 0 ] || fail "questions left: $(entries rp_ask)"
[ "$(entries rp_ask_held)" = 0 ] || fail "held flows left: $(entries rp_ask_held)"
expired=$(grep -c '"error": "not answered within ask-timeout' "$RP_TMP/agent.out")
[ "$expired" = $((questions)) ] || fail "$expired of $questions unanswered questions reported as expired"
ok "nothing left behind; $expired questions expired with ask-default"
echo PASS
