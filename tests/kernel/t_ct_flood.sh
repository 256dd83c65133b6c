#!/usr/bin/env bash
# The conntrack table cannot be flooded shut (issue 9 item 2,
# docs/datapath.md "Under attack"), conntrack-size 4096:
#  1. spoofed SYNs to an allowed port at the generator's full rate for
#     RP_FLOOD_SECONDS (3 here, 20 under `make stress`): an established
#     stream keeps flowing (no stall over 1 s), at least 95% of new
#     connections made during the flood succeed within 3 s, and afterwards
#     the half-open table drains;
#  2. the same from inside: an unprivileged user in a cgroup of its own
#     fires non-blocking connect()s at a black hole: the stream and other
#     users' connections (in and out) keep working.
set -u
RP_ID=${RP_ID:-cf$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/attack_lib.sh"
rp_setup
FLOOD=${RP_FLOOD_SECONDS:-3}

cat > "$RP_TMP/policy.rules" <<'P'
option conntrack-size 4096
table root default deny {
    allow out
    allow in proto tcp local port 7200
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A") || fail "apply: $out"
life=600 # until the cleanup kills them (a bound for a lost one)
rp_bg in_a timeout $((life + 5)) $RP_ATTACK echo-server 7200 $life
rp_bg in_b timeout $((life + 5)) $RP_ATTACK echo-server 7000 $life
rp_wait_port "$RP_NS_A" 7200 && rp_wait_port "$RP_NS_B" 7000 || fail "echo servers did not start"
mac=$(rp_mac_a)
conns=20
interval=$(python3 -c "print(max(0.1, $FLOOD / $conns))")

# wait_flooding FILE: until the generator has started (its first line)
wait_flooding() {
	for _ in $(seq 600); do
		grep -q flooding "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the flood did not start"
}

# check_stream FILE WHAT: the stream's result: no error, no stall over 1 s
check_stream() {
	local res what=$2; res=$(cat "$1")
	case $res in ok\ *) ;; *) fail "$what: the established stream broke: $res" ;; esac
	set -- $res
	[ "$3" -lt 1000 ] || fail "$what: the established stream stalled for $3 ms"
	ok "$what: the established stream kept flowing ($2 echoes, longest wait $3 ms)"
}

# check_connects RESULT WHAT: at least 95% of the connections succeeded
check_connects() {
	set -- $1 "$2"
	[ "$1" = ok ] && [ $(($2 * 100)) -ge $(($3 * 95)) ] || fail "$4: $2 of $3 new connections succeeded"
	ok "$4: $2 of $3 new connections succeeded within 3 s"
}

# ---- 1. spoofed SYN flood to the allowed port
rm -f "$RP_TMP/stop"
in_b timeout 600 $RP_ATTACK stream "$RP_A4" 7200 40200 590 "$RP_TMP/stop" > "$RP_TMP/stream" &
spid=$!
sleep 1
in_b timeout $((FLOOD + 120)) $RP_ATTACK synflood "$RP_IF_B" "$mac" "$RP_A4" 7200 "$FLOOD" > "$RP_TMP/flood" &
fpid=$!
wait_flooding "$RP_TMP/flood"
c=$(in_b timeout $((FLOOD + 90)) $RP_ATTACK connects "$RP_A4" 7200 $conns "$interval" 3)
wait $fpid; touch "$RP_TMP/stop"; wait $spid
sent=$(tail -1 "$RP_TMP/flood")
allowed=$(rp_counter new-allow)
[ "$allowed" -gt 8192 ] || fail "the flood did not reach the table: $sent SYNs sent, $allowed new flows"
ok "flood: $sent spoofed SYNs in ${FLOOD}s, $allowed new flows in a table of 4096"
check_stream "$RP_TMP/stream" "SYN flood"
check_connects "$c" "SYN flood"
[ "$(rp_counter drop-conntrack-full)" = 0 ] || fail "flows were refused for a full table"
# the half-open table drains: idle entries go after 5 s while it is at
# least half full, and the sweeper walks every second then
t0=$(date +%s)
while [ $(( $(date +%s) - t0 )) -lt 20 ]; do
	read -r est half <<< "$(rp_ct_usage)"
	[ "$half" -lt 50 ] && break
	sleep 1
done
[ "$half" -lt 50 ] || fail "the half-open table did not drain: $half entries after 20 s"
ok "after the flood the half-open table drained to $half entries in $(( $(date +%s) - t0 ))s"

# ---- 2. an unprivileged user exhausts the table from inside
in_a ip route add 198.51.100.0/24 via $RP_B4
in_b sysctl -qw net.ipv4.ip_forward=1
in_b ip route add blackhole 198.51.100.0/24
rp_child_cgroup user
rm -f "$RP_TMP/stop"
in_b timeout 600 $RP_ATTACK stream "$RP_A4" 7200 40201 590 "$RP_TMP/stop" > "$RP_TMP/stream" &
spid=$!
sleep 1
# the unprivileged user cannot read a checkout in a 0700 directory: its copy
ucopy=$(mktemp -d /tmp/rampart-user-XXXXXX)
RP_CLEANUP_EXTRA="$RP_CLEANUP_EXTRA; rm -rf $ucopy"
cp "$(dirname "$0")/attack.py" "$(dirname "$0")/serve.py" "$ucopy/" && chmod 755 "$ucopy" && chmod 644 "$ucopy"/*.py
in_a sh -c 'echo $$ > "$1/cgroup.procs" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
	timeout $(($2 + 10)) /usr/bin/python3 "$3" blackhole 198.51.100.9 80 "$2"' \
	sh "$RP_CG/user" "$FLOOD" "$ucopy/attack.py" > "$RP_TMP/flood" &
fpid=$!
n0=$(rp_counter new-allow)
wait_flooding "$RP_TMP/flood"
in_a timeout $((FLOOD + 90)) $RP_ATTACK connects "$RP_B4" 7000 $((conns / 2)) "$interval" 3 > "$RP_TMP/out" &
opid=$!
c_in=$(in_b timeout $((FLOOD + 90)) $RP_ATTACK connects "$RP_A4" 7200 $((conns / 2)) "$interval" 3)
wait $fpid; wait $opid; touch "$RP_TMP/stop"; wait $spid
made=$(tail -1 "$RP_TMP/flood") tracked=$(( $(rp_counter new-allow) - n0 ))
[ "$made" -gt 8192 ] && [ "$tracked" -gt 8192 ] ||
	fail "the unprivileged user made '$made' connection attempts, $tracked new flows"
ok "an unprivileged user in a cgroup made $made connection attempts to a black hole in ${FLOOD}s ($tracked new flows)"
check_stream "$RP_TMP/stream" "local exhaustion"
check_connects "$c_in" "local exhaustion, inbound"
check_connects "$(cat "$RP_TMP/out")" "local exhaustion, outbound by another user"
