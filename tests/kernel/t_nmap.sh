#!/usr/bin/env bash
# A port scanner's view (nmap from Debian, in the peer namespace) of a host
# protected on a plain veth pair with nothing on the peer: a rejected port
# looks closed, an allowed port with a listener open, every other port
# filtered - for SYN, ACK, FIN, NULL, Xmas and UDP scans, over IPv4 and
# IPv6.  nmap reports what each scan type can tell: an ACK scan sees a
# closed port as "unfiltered", FIN/NULL/Xmas scans see an open one as
# "open|filtered" (an open port answers those probes with silence).
set -u
RP_ID=${RP_ID:-nm$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
command -v nmap >/dev/null || { echo "nmap not installed"; exit 77; }

cat > "$RP_TMP/p.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 8080
    reject in proto tcp local port 8081
    allow in proto udp local port 5353
    reject in proto udp local port 5354
}
P
out=$(rp_apply "$RP_TMP/p.rules" --iface "$RP_IF_A") || fail "apply: $out"
# listeners everywhere: what nmap sees is the firewall's doing, not the stack's
for p in 8080 8081 2222; do listen in_a tcp $p 600; done
for p in 5353 5354 5355; do listen in_a udp $p 600; done

# scan FLAGS HOST PORTS -> "port state" lines
scan() {
	local flags=$1 host=$2 ports=$3
	in_b timeout 60 nmap -n -Pn $flags --max-retries 1 --host-timeout 50s -p "$ports" -oG - "$host" 2>/dev/null |
		sed -n 's/.*Ports: //p' | tr ',' '\n' | sed 's/^ *//' | awk -F/ '{ print $1, $2 }'
}
want_scan() { # want_scan NAME FLAGS HOST "port state ..." 
	local name=$1 flags=$2 host=$3 want=$4 got
	got=$(scan "$flags" "$host" "$(echo "$want" | awk '{ for (i = 1; i <= NF; i += 2) printf "%s%s", (i > 1 ? "," : ""), $i }')" |
		sort | tr '\n' ' ' | sed 's/ $//')
	want=$(echo "$want" | xargs -n2 | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "nmap $name $host: expected '$want', got '$got'"
	ok "nmap $name $host: $got"
}
for H in $RP_A4 $RP_A6; do
	f6=""; case $H in *:*) f6=-6 ;; esac
	want_scan "SYN" "$f6 -sS" $H "8080 open 8081 closed 2222 filtered"
	want_scan "ACK" "$f6 -sA" $H "8080 filtered 8081 unfiltered 2222 filtered"
	want_scan "FIN" "$f6 -sF" $H "8080 open|filtered 8081 closed 2222 open|filtered"
	want_scan "NULL" "$f6 -sN" $H "8080 open|filtered 8081 closed 2222 open|filtered"
	want_scan "Xmas" "$f6 -sX" $H "8080 open|filtered 8081 closed 2222 open|filtered"
	want_scan "UDP" "$f6 -sU" $H "5353 open 5354 closed 5355 open|filtered"
done
rp_r --json status | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert c["drop-reject-failed"] == 0 and c["reject-stray-segment"] > 0, c
print("rejected", c["new-reject"], "stray answered", c["reject-stray-segment"], "denied", c["new-deny"])
' || fail "counters"
echo PASS
