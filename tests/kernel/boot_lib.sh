# Helpers for the boot/modes/daemon namespace tests (source after
# traffic_lib.sh).

# rp_mode: the mode and reason `status --json` reports, as "MODE REASON".
rp_mode() {
	rp_r --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["mode"], d.get("mode_reason", "-"))'
}

# expect_mode MODE REASON
expect_mode() {
	local got; got=$(rp_mode)
	[ "$got" = "$1 $2" ] || fail "status: expected mode '$1 $2', got '$got'"
	ok "status says mode $1 (by $2)"
}

# daemon_wait_started ERRFILE: the daemon's stderr says it serves the log
daemon_wait_started() {
	for _ in $(seq 300); do
		grep -q "serving the log" "$1" && return 0
		sleep 0.1
	done
	fail "daemon did not start: $(cat "$1")"
}

# rp_late_iface: a second veth pair between the namespaces, created after
# rampart ran (198.51.100.1/24, 2001:db8:1::1/64 on the protected side).
RP_IF_A2=rpA2$RP_ID RP_IF_B2=rpB2$RP_ID
RP_A4L=198.51.100.1 RP_B4L=198.51.100.2 RP_A6L=2001:db8:1::1 RP_B6L=2001:db8:1::2
rp_late_iface() {
	ip link add "$RP_IF_A2" netns "$RP_NS_A" type veth peer name "$RP_IF_B2" netns "$RP_NS_B" || fail "late veth"
	in_a ip addr add $RP_A4L/24 dev "$RP_IF_A2"
	in_b ip addr add $RP_B4L/24 dev "$RP_IF_B2"
	in_a ip -6 addr add $RP_A6L/64 dev "$RP_IF_A2" nodad
	in_b ip -6 addr add $RP_B6L/64 dev "$RP_IF_B2" nodad
	in_a ip link set "$RP_IF_A2" up
	in_b ip link set "$RP_IF_B2" up
	sleep 0.2
}

# rp_boot_timer_field NAME: a field of the pinned boot timer's entry.
rp_boot_timer_field() {
	bpftool -j map dump pinned "$RP_PIN/maps/rp_boot_timer" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["formatted"]["value"][sys.argv[1]])' "$1"
}

# dhcp_reply_expect WANT(open|timeout) SERVER_NS CLIENT_ADDR FAMILY: a
# DHCP(v6) server's answer (from port 67/547 to the client's 68/546) reaches
# the client's unconnected socket and its echo comes back.
dhcp_reply_expect() {
	local want=$1 ns=$2 addr=$3 fam=$4 got
	got=$($ns timeout 5 python3 -c '
import socket, sys
addr, fam = sys.argv[1], sys.argv[2]
af = socket.AF_INET if fam == "4" else socket.AF_INET6
sport, dport = (67, 68) if fam == "4" else (547, 546)
s = socket.socket(af, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("" if fam == "4" else "::", sport))
s.settimeout(1.5)
s.sendto(b"ping", (addr, dport))
try:
    print("open" if s.recv(100) == b"pong" else "closed")
except socket.timeout:
    print("timeout")
' "$addr" "$fam")
	[ "$got" = "$want" ] || fail "DHCP reply to $addr: expected $want, got '$got'"
	ok "DHCP$( [ "$fam" = 6 ] && echo v6) server reply to $addr -> $got"
}
