# Helpers for the apply/traffic namespace tests (source after lib.sh).
# Every network command is bounded by `timeout`; background listeners are
# killed by the cleanup trap.

RP_TRAFFIC="python3 $RP_ROOT/tests/kernel/traffic.py"
RP_BG_PIDS=""
RP_TMP=$(mktemp -d /tmp/rampart-test-XXXXXX)
RP_CLEANUP_EXTRA='rp_kill_bg; rm -rf "$RP_TMP"'

rp_kill_bg() {
	for p in $RP_BG_PIDS; do kill "$p" 2>/dev/null; done
	for p in $RP_BG_PIDS; do wait "$p" 2>/dev/null; done
	RP_BG_PIDS=""
}

# rp_apply ARGS...: rampart apply in the protected namespace, with our pin dir.
rp_apply() { in_a timeout 60 "$RAMPART" --pin-dir "$RP_PIN" apply "$@"; }
rp_r() { in_a timeout 30 "$RAMPART" --pin-dir "$RP_PIN" "$@"; }

# rp_bg in_a|in_b CMD...: CMD in the background in that namespace; its pid
# (nsenter execs CMD, so it is CMD's own pid) is killed by the cleanup.
rp_bg() {
	local nsname; [ "$1" = in_a ] && nsname=$RP_NS_A || nsname=$RP_NS_B
	shift
	nsenter --net=/run/netns/$nsname "$@" &
	RP_BG_PIDS="$RP_BG_PIDS $!"
}

# listen NS_FN PROTO PORT [SECONDS]: traffic.py listener in the background,
# until the cleanup kills it (SECONDS only bounds a lost one: a test slowed
# down by a loaded machine must not outlive its listeners).
listen() {
	local ns=$1 proto=$2 port=$3 secs=${4:-600}
	rp_bg $ns timeout $((secs + 5)) $RP_TRAFFIC listen "$proto" "$port" "$secs"
	local nsname; [ "$ns" = in_a ] && nsname=$RP_NS_A || nsname=$RP_NS_B
	local flag=-ltnH; [ "$proto" = udp ] && flag=-lunH
	for _ in $(seq 50); do
		nsenter --net=/run/netns/$nsname ss $flag "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	fail "listener $proto/$port did not start"
}

# probe NS_FN PROTO HOST PORT [TIMEOUT]: prints "open|refused|timeout MS".
probe() {
	local ns=$1; shift
	$ns timeout 10 $RP_TRAFFIC probe "$@"
}

# expect WANT NS_FN PROTO HOST PORT: asserts the probe's outcome; a refusal
# must come at once (well before the probe's 1.5 s timeout).
expect() {
	local want=$1; shift
	local out; out=$(probe "$@")
	local got=${out% *} ms=${out#* }
	[ "$got" = "$want" ] || fail "$* : expected $want, got '$out'"
	if [ "$want" = refused ] && [ "$ms" -gt 500 ]; then
		fail "$* : refused only after $ms ms (reject must answer at once)"
	fi
	ok "$2 to $3 port $4 from the $( [ "$1" = in_b ] && echo peer || echo protected host ) -> $got (${ms} ms)"
}

# ping_expect WANT(ok|lost) NS_FN ADDR
ping_expect() {
	local want=$1 ns=$2 addr=$3 got=lost
	$ns timeout 5 ping -c 1 -W 1 "$addr" >/dev/null 2>&1 && got=ok
	[ "$got" = "$want" ] || fail "ping $addr: expected $want, got $got"
	ok "ping $addr -> $got"
}

# rp_xdp_prog_id IF: the XDP program on IF ("" when none)
# rp_link_prog HOOK IF: the program of our pinned link (HOOK: xdp, tci = tc
# ingress, tc = tc egress), for "unchanged" checks
rp_xdp_prog_id() { in_a ip -d link show dev "$1" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1; }
rp_link_prog() {
	bpftool -j link show pinned "$RP_PIN/links/$1-$2" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'
}
