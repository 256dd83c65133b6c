#!/usr/bin/env bash
# Interfaces that appear after apply (SPEC 1: without --iface every
# interface is covered, including ones that appear later):
#  - with `rampart daemon` running, a veth pair created after the apply is
#    attached within moments: denied, rejected and allowed ports behave as the
#    policy says through it, and `status` lists it;
#  - with no daemon, the network namespace's SK_LOOKUP hook judges new
#    connections to local sockets arriving on it by the policy (allow
#    passes; deny and reject are refused: an SK_LOOKUP program cannot stay
#    silent), and `status` says it is not attached yet;
#  - one created during `rampart boot` is protected once the daemon starts;
#  - a veth enslaved to a protected bridge after the apply loses its
#    ingress program (its bridge judges what it brings in);
#  - --iface patterns (`rph*`) cover the interfaces that fit, not others;
#  - an interface that goes loses its pins.
set -u
RP_ID=${RP_ID:-hp$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

cat > "$RP_TMP/p.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 8080
    reject in proto tcp local port 8081
}
P
for p in 8080 8081 2222; do listen in_a tcp $p 600; done
n=0
# new_link: a new veth pair A <-> B with 198.51.100.N/30 addresses, up;
# sets H (A's side address) and IF (A's side name)
new_link() {
	n=$((n + 1))
	IF=${1:-rpn$n$RP_ID}
	local peer=rpm$n$RP_ID base=$((n * 4))
	ip link add "$IF" netns "$RP_NS_A" type veth peer name "$peer" netns "$RP_NS_B"
	in_a ip addr add 198.51.100.$((base + 1))/30 dev "$IF"
	in_b ip addr add 198.51.100.$((base + 2))/30 dev "$peer"
	in_a ip link set "$IF" up
	in_b ip link set "$peer" up
	H=198.51.100.$((base + 1))
}
attached() { [ -e "$RP_PIN/links/tc-$1" ]; }
# soon CMD...: true once CMD succeeds; a bounded wait (30 s: a loaded machine
# is slow), not a timed assertion; SOON_MS says how long it took
soon() {
	local t0; t0=$(date +%s%N)
	for _ in $(seq 300); do "$@" && break; sleep 0.1; done
	SOON_MS=$((($(date +%s%N) - t0) / 1000000))
	"$@"
}

# 1. the daemon attaches a new interface
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$RP_TMP/p.rules" 2> "$RP_TMP/daemon.err"
DPID=$!
for _ in $(seq 300); do grep -q "serving the log" "$RP_TMP/daemon.err" && break; sleep 0.1; done
grep -q "serving the log" "$RP_TMP/daemon.err" || fail "daemon did not start: $(cat "$RP_TMP/daemon.err")"
new_link
soon attached "$IF" || fail "$IF not attached within 30 s: $(cat "$RP_TMP/daemon.err")"
[ -e "$RP_PIN/links/tci-$IF" ] || fail "$IF has no tc ingress"
expect open in_b tcp $H 8080
expect refused in_b tcp $H 8081
expect timeout in_b tcp $H 2222
rp_r status | grep -q "$IF .*tc-ingress" || fail "status does not list $IF: $(rp_r status)"
ok "an interface created after apply: attached by the daemon (after $SOON_MS ms), judged by the policy"

# 2. a bridge and a veth, then the veth enslaved: it becomes a bridge port
in_a ip link add rpbr$RP_ID type bridge; in_a ip link set rpbr$RP_ID up
new_link; PORT=$IF
soon attached "$PORT" && [ -e "$RP_PIN/links/tci-$PORT" ] || fail "$PORT not attached"
in_a ip link set "$PORT" master rpbr$RP_ID
port_only() { attached "$PORT" && [ ! -e "$RP_PIN/links/tci-$PORT" ] && attached rpbr$RP_ID; }
soon port_only || fail "$PORT kept its ingress program as a bridge port: $(ls "$RP_PIN/links")"
ok "a veth enslaved to a protected bridge: its ingress program went, the bridge judges what it brings in"

# 3. an interface that goes loses its pins
in_a ip link del "$PORT"
gone() { ! ls "$RP_PIN/links" | grep -q -- "-$PORT\$"; }
soon gone || fail "pins of the deleted $PORT stayed: $(ls "$RP_PIN/links")"
ok "a deleted interface: its pins went"

# 4. no daemon: the SK_LOOKUP hook judges arrivals on an interface not attached
kill $DPID; wait $DPID 2>/dev/null
new_link
sleep 0.5
attached "$IF" && fail "$IF attached with no daemon running?"
expect open in_b tcp $H 8080
expect refused in_b tcp $H 8081
out=$(probe in_b tcp $H 2222); [ "${out% *}" != open ] || fail "a denied port is open on an unattached interface"
ok "no daemon: SK_LOOKUP judged 8080 allowed, 8081 and 2222 refused ($out)"
rp_r status | grep -q "$IF .*NOT PROTECTED: not attached yet" || fail "status: $(rp_r status)"
rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
gaps = [g["name"] for g in d["interfaces"]["not_protected"]]
assert d["interfaces"]["all"] and sys.argv[1] in gaps, d["interfaces"]
c = d["counters"]
assert c["netns-allow"] >= 1 and c["netns-deny"] >= 2, c
' "$IF" || fail "status --json"
ok "status lists $IF as not attached yet"

# 5. created during boot: protected once the daemon starts
rp_r unload >/dev/null
rp_r boot --timeout 60 >/dev/null || fail "boot"
new_link
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$RP_TMP/p.rules" 2> "$RP_TMP/daemon2.err"
DPID=$!
for _ in $(seq 300); do grep -q "serving the log" "$RP_TMP/daemon2.err" && break; sleep 0.1; done
soon attached "$IF" || fail "$IF (created during boot) not attached"
expect open in_b tcp $H 8080
expect refused in_b tcp $H 8081
expect timeout in_b tcp $H 2222
ok "an interface created during boot: protected once the daemon applied the policy"
kill $DPID; wait $DPID 2>/dev/null

# 6. --iface patterns: what fits is attached by the daemon, the rest is not
rp_r unload >/dev/null
rp_apply "$RP_TMP/p.rules" --iface "$RP_IF_A" --iface 'rph*' >/dev/null || fail "apply with a pattern"
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$RP_TMP/p.rules" 2> "$RP_TMP/daemon3.err"
DPID=$!
for _ in $(seq 300); do grep -q "serving the log" "$RP_TMP/daemon3.err" && break; sleep 0.1; done
new_link rph$RP_ID; FIT=$IF
new_link rpx$RP_ID; OTHER=$IF
soon attached "$FIT" || fail "$FIT (fits rph*) not attached"
sleep 0.5
attached "$OTHER" && fail "$OTHER (does not fit) attached"
expect timeout in_b tcp 198.51.100.$((n * 4 - 3)) 2222 # $FIT
ok "--iface 'rph*': $FIT attached, $OTHER not"
echo PASS
