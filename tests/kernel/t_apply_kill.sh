#!/usr/bin/env bash
# `apply` killed at random points (issue 9, fault injection): afterwards the
# kernel holds the old or the new policy in full, never a mix, never
# nothing (docs/datapath.md, "Switching").
#
# Two policies that differ on the interface and at the socket hooks:
#   A: inbound tcp 9000 allowed, 9001 denied; the cgroup connects to 8080, not 8081
#   B: the reverse
# Each round starts `rampart apply` of the other policy and SIGKILLs it:
#   - timed: after a random delay spread over an apply's measured run time
#     (the realistic kill: most land while programs load);
#   - injected (two rounds in three): the switch lasts about a millisecond
#     of a several-second apply, so a timer almost never hits it; strace
#     delivers the SIGKILL at the entry of the Nth bpf() call, N drawn
#     from the calls around the switch (measured on a traced apply first):
#     just before it, in the middle of it, after it before the flip, after
#     the flip before the pins are published.
# Then: `rules --json` names exactly A's or B's rules, and inbound
# 9000/9001 and the cgroup's connects to 8080/8081 all match that policy.
# RP_APPLY_KILLS rounds (make test: 9, make stress: 50).
set -u
RP_ID=${RP_ID:-ak$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
command -v strace >/dev/null || { echo "needs strace"; exit 77; }
KILLS=${RP_APPLY_KILLS:-9}
rp_setup
rp_child_cgroup a

policy() { # policy FILE INBOUND-PORT CONNECT-PORT
	cat >"$1" <<P
table root default deny {
    allow event network
    allow in proto tcp local port $2
    allow out proto tcp remote port $3
}
P
}
policy "$RP_TMP/A.rules" 9000 8080
policy "$RP_TMP/B.rules" 9001 8081
other() { [ "$1" = A ] && echo B || echo A; }

# the listeners outlive every round (an apply and its checks: under a minute)
LISTEN_S=$((KILLS * 60 + 300))
listen in_a tcp 9000 $LISTEN_S
listen in_a tcp 9001 $LISTEN_S
listen in_b tcp 8080 $LISTEN_S
listen in_b tcp 8081 $LISTEN_S

# verdicts: what the four probes get, one word each
verdicts() {
	local v=""
	for p in 9000 9001; do v="$v $p:$(probe in_b tcp $RP_A4 $p 1 | cut -d' ' -f1)"; done
	for p in 8080 8081; do
		v="$v $p:$(in_cg "$RP_CG/a" timeout 5 $RP_TRAFFIC probe tcp $RP_B4 $p 1 | cut -d' ' -f1)"
	done
	echo "${v# }"
}
WANT_A="9000:open 9001:timeout 8080:open 8081:error-Operation-not-permitted"
WANT_B="9000:timeout 9001:open 8080:error-Operation-not-permitted 8081:open"

# rules: the policy file and the rules' texts `rules --json` names
rules() {
	rp_r rules --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["policy"].rsplit("/", 1)[-1], "|".join(r["text"] for r in j["rules"] if not r["helper"]))'
}
# hooks: the program of every pinned link (which programs are attached)
hooks() {
	for f in "$RP_PIN"/links/*; do bpftool -j link show pinned "$f" 2>/dev/null; done |
		python3 -c 'import json, sys; print(" ".join(str(json.loads(l)["prog_id"]) for l in sys.stdin if l.strip()))'
}
generation() { rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

apply_cmd() { echo "$RAMPART --pin-dir $RP_PIN apply $RP_TMP/$1.rules --iface $RP_IF_A --cgroup $RP_CG"; }

# reference: each policy applied cleanly
t0=$(date +%s%N)
out=$(rp_apply "$RP_TMP/A.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply A: $out"
RULES_A=$(rules)
[ "$(verdicts)" = "$WANT_A" ] || fail "policy A: $(verdicts), expected $WANT_A"
t1=$(date +%s%N)
out=$(rp_apply "$RP_TMP/B.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply B: $out"
t2=$(date +%s%N)
RULES_B=$(rules)
[ "$(verdicts)" = "$WANT_B" ] || fail "policy B: $(verdicts), expected $WANT_B"
[ "$RULES_A" != "$RULES_B" ] || fail "rules --json does not tell A from B"
DUR_MS=$(((t2 - t1) / 1000000))
ok "policies A and B verified; an apply (B over A) takes $DUR_MS ms"

# the bpf() calls of one apply (A over B), traced: where the switch is
trace=$RP_TMP/trace.txt
in_a strace -qq -e trace=bpf -e signal=none -o "$trace" $(apply_cmd A) >/dev/null || fail "traced apply A failed"
[ "$(verdicts)" = "$WANT_A" ] || fail "after the traced apply: $(verdicts)"
read -r NCALLS SW0 SW1 FLIP PUB PREP < <(python3 - "$trace" <<'PY'
import sys
calls = [l for l in open(sys.argv[1]) if l.startswith("bpf(")]
idx = lambda pred, start=0: next(i for i in range(start, len(calls)) if pred(calls[i]))
sw0 = idx(lambda c: "BPF_LINK_UPDATE" in c or "BPF_LINK_CREATE" in c)
sw1 = max(i for i, c in enumerate(calls) if "BPF_LINK_UPDATE" in c or "BPF_LINK_CREATE" in c)
run = idx(lambda c: "BPF_PROG_TEST_RUN" in c, sw1)          # the sweeper, right after the flip
flip = max(i for i in range(sw1, run) if "BPF_MAP_UPDATE_ELEM" in calls[i])
pub = idx(lambda c: "BPF_MAP_DELETE_ELEM" in c, run)        # forwarding slots emptied: pins published
# the hooks' preparation: from the first link pin read
prep = idx(lambda c: "/links/" in c)
print(len(calls), sw0, sw1, flip, pub, prep)
PY
)
[ -n "${PUB:-}" ] || fail "cannot find the switch in the traced apply"
# 1-based bpf() call numbers (strace's when=)
PREP=$((PREP + 1)) SW0=$((SW0 + 1)) SW1=$((SW1 + 1)) FLIP=$((FLIP + 1)) PUB=$((PUB + 1))
ok "traced: $NCALLS bpf() calls; hooks prepared from #$PREP, switched #$SW0-#$SW1, flip #$FLIP, forwarding emptied (pins published) from #$PUB"
# where bpf() call N is in that apply
call_phase() {
	if [ "$1" -le "$SW0" ]; then echo "before the switch"
	elif [ "$1" -le "$SW1" ]; then echo "mid-switch, $(($1 - SW0)) of $((SW1 - SW0 + 1)) hooks switched"
	elif [ "$1" -le "$FLIP" ]; then echo "switched, before the flip"
	elif [ "$1" -lt "$PUB" ]; then echo "flipped, before the pins were published"
	elif [ "$1" -eq "$PUB" ]; then echo "pins published, forwarding not emptied"
	else echo "emptying the forwarding"; fi
}
state=A

declare -A where
end_A=0 end_B=0
for round in $(seq "$KILLS"); do
	to=$(other $state)
	gen0=$(generation)
	hooks0=$(hooks)
	if [ $((round % 3)) = 1 ]; then
		# timed: a random delay over the apply's run time
		delay=$((RANDOM % (DUR_MS * 11 / 10 + 1)))
		# nsenter execs rampart: $! is rampart itself (a backgrounded
		# function would be a subshell, and rampart would outlive the kill)
		nsenter --net=/run/netns/$RP_NS_A $(apply_cmd "$to") >/dev/null 2>&1 &
		pid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid"
			how="timed ${delay} ms"
		else
			how="timed ${delay} ms (apply had finished)"
		fi
		wait "$pid" 2>/dev/null
	else
		# injected: SIGKILL at the entry of bpf() call N, N in [switch - 2, published + 1]
		n=$((SW0 - 2 + RANDOM % (PUB - SW0 + 4)))
		in_a strace -qq -o /dev/null -e trace=bpf -e signal=none -e inject=bpf:signal=KILL:when=$n \
			$(apply_cmd "$to") >/dev/null 2>&1
		how="injected at bpf() #$n: $(call_phase $n)"
	fi
	# what the kernel holds now (any reader settles the pins first)
	rules_now=$(rules)
	v=$(verdicts)
	gen1=$(generation)
	hooks1=$(hooks)
	# where the kill landed, as the kernel shows it
	if [ "$gen1" != "$gen0" ]; then
		phase="after the flip"
	elif [ "$hooks1" != "$hooks0" ]; then
		phase="in the switch window (hooks switched, not flipped)"
	else
		phase="before the switch"
	fi
	case "$rules_now" in
	"$RULES_A") got=A ;;
	"$RULES_B") got=B ;;
	*) fail "round $round ($how, $phase): rules --json names neither A nor B: $rules_now" ;;
	esac
	want=WANT_$got
	[ "$v" = "${!want}" ] ||
		fail "round $round ($how, $phase): rules --json says $got but the traffic says: $v (expected ${!want})"
	if [ "$got" = "$to" ] && [ "$phase" != "after the flip" ]; then
		fail "round $round ($how): policy $to in force but the generation did not change"
	fi
	[ "$got" = A ] && end_A=$((end_A + 1)) || end_B=$((end_B + 1))
	where[$phase]=$((${where[$phase]:-0} + 1))
	ok "round $round: apply $state -> $to killed ($how; kernel: $phase): $got in full"
	state=$got
done
ok "$KILLS kills: ended as A $end_A, as B $end_B"
for p in "${!where[@]}"; do ok "  killed $p: ${where[$p]}"; done

# a clean apply over whatever the kills left works and judges
out=$(rp_apply "$RP_TMP/$(other $state).rules") || fail "apply after the kills: $out"
[ "$(verdicts)" = "$(eval echo "\$WANT_$(other $state)")" ] || fail "after a clean apply: $(verdicts)"
[ ! -e "$RP_PIN/maps-new" ] && [ -z "$(ls "$RP_PIN/links" | grep '^new-')" ] || fail "staged pins left behind"
[ -z "$(ls "$RP_PIN/fwd" 2>/dev/null)" ] || fail "forwarding arrays left pinned: $(ls "$RP_PIN/fwd")"
ok "a clean apply afterwards judges with its policy; nothing staged, no forwarding left"
echo PASS
