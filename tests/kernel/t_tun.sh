#!/usr/bin/env bash
# A device without a link layer (tun: the same for wireguard, ppp,
# ipip/gre/sit, raw-IP modems) is filtered like any other: SYNs written
# into the tun fd, as a VPN peer would send them, get what the policy says
# (timeout / RST / SYN-ACK), UDP gets its port unreachable, over IPv4 and
# IPv6, although a listener waits on every port; `status` lists the tun as
# protected with no link layer.
set -u
RP_ID=${RP_ID:-tu$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
TUN=rpt$RP_ID

cat > "$RP_TMP/p.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 8080
    reject in proto { tcp, udp } local port 8081
}
P
for port in 8080 8081 2222; do listen in_a tcp $port; done
listen in_a udp 8081

# the tun, held open by its "VPN client"; commands through a fifo
mkfifo "$RP_TMP/cmd"
rp_bg in_a /usr/bin/python3 "$RP_ROOT/tests/kernel/tun.py" "$TUN" "$RP_TMP/cmd" > "$RP_TMP/ans"
for _ in $(seq 50); do grep -q ready "$RP_TMP/ans" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$RP_TMP/ans" || fail "tun device did not come up"
ask() { # ask CMD FAMILY PORT -> the answer
	local n; n=$(wc -l < "$RP_TMP/ans")
	echo "$1 $2 $3" > "$RP_TMP/cmd"
	for _ in $(seq 40); do [ "$(wc -l < "$RP_TMP/ans")" -gt "$n" ] && break; sleep 0.1; done
	tail -1 "$RP_TMP/ans"
}
want() { # want ANSWER CMD FAMILY PORT
	local got; got=$(ask "$2" "$3" "$4")
	[ "$got" = "$1" ] || fail "$2 IPv$3 port $4 through the tun: expected $1, got $got"
	ok "$2 IPv$3 port $4 through the tun -> $got"
}

# without rampart the listeners answer: the probes work
want synack syn 4 2222
out=$(rp_apply "$RP_TMP/p.rules") || fail "apply: $out"
echo "$out"
echo "$out" | grep -q "$TUN .*tc ingress (tcx), tc egress (tcx), no link layer" || fail "tun not protected: $out"
for fam in 4 6; do
	want timeout syn $fam 2222
	want rst syn $fam 8081
	want synack syn $fam 8080
	want unreach udp $fam 8081
	want timeout udp $fam 2223
done
rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
hooks = sorted(a["hook"] for a in d["attachments"] if a["interface"] == sys.argv[1] and a["alive"])
assert hooks == ["tc-egress", "tc-ingress"], d["attachments"]
c = d["counters"]
assert c["new-reject"] >= 4 and c["new-deny"] >= 4 and c["drop-reject-failed"] == 0, c
' "$TUN" || fail "status of the tun"
ok "status: the tun is protected (tc ingress + egress), rejects answered, none failed"
echo quit > "$RP_TMP/cmd"
echo PASS
