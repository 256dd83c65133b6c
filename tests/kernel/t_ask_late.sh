#!/usr/bin/env bash
# An agent that answers after the question timed out (it ran late: a
# loaded machine, a stopped process).  The kernel has given the question
# ask-default at its own timeout; the late answer changes nothing, but the
# flows the question held get that verdict at once, so the agent's sweep
# removes them a few seconds later instead of leaving them until
# RP_ASK_HELD_TTL_NS (130 s) for a packet that never comes (t_ask_burst
# failed on a loaded machine with "held flows left").
set -u
RP_ID=${RP_ID:-az$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin

ask_apply <<P
option ask-timeout 2
table root default deny {
    allow event network
    ask out cgroup $CGREL
}
P
ask_agent_fifo
AGENT=${RP_BG_PIDS##* }
entries() { bpftool -j map dump pinned "$RP_PIN/maps/$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# one datagram out of the cgroup: a question, its flow held
in_cg "$RP_CG/a" timeout 10 $PY -c '
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (sys.argv[1], 20000))' $RP_B4 ||
	fail "the datagram was not sent"
q=$(ask_next_question)
[ -n "$q" ] || fail "no question for the datagram"
kill -STOP "$AGENT"
[ "$(entries rp_ask_held)" -ge 1 ] || { kill -CONT "$AGENT"; fail "the question holds no flow"; }
ok "a question for the datagram, its flow held; the agent stopped"

# past the kernel's ask-timeout (2 s): the agent's own expiry comes late
sleep 3
kill -CONT "$AGENT"
ok "the agent continues 3 s later, after the kernel's timeout"

# decided at the late answer, the held flow goes with the agent's sweep
# (ask-timeout + 10 s after it was held); undecided it would stay 130 s
for _ in $(seq 30); do
	[ "$(entries rp_ask_held)" = 0 ] && break
	sleep 1
done
[ "$(entries rp_ask_held)" = 0 ] || fail "held flows left 30 s after the late answer: $(entries rp_ask_held)"
[ "$(entries rp_ask)" = 0 ] || fail "questions left: $(entries rp_ask)"
ok "the late answer decided the held flow (ask-default) and the agent's sweep removed it"
echo PASS
