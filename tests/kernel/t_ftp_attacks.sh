#!/usr/bin/env bash
# Attacks on the FTP helper, with real TCP between namespaces and a real FTP
# server (pyftpdlib) on each side.  The policy allows the control
# connections only (out to port 21, in to the local FTP server's port 21),
# so whatever data connection gets through is the helper's doing.  Each
# attack shows in a counter (rampart status --json):
#   - a connection from the server's port 20 to a port nobody announced:
#     dropped (IPv4, IPv6);
#   - PORT/EPRT split across TCP segments: read whole, the server connects
#     (ftp-expect, new-ftp-data);
#   - "PORT" at the start of a segment in the middle of a line: nothing opens;
#   - PORT/EPRT naming a third host (FTP bounce) or a port below 1024:
#     nothing opens (ftp-refused-address, ftp-refused-port);
#   - a third host racing the client to the server's announced passive
#     port: dropped, and the client still gets it (ftp-wrong-source);
#   - an expectation nobody uses: gone after ftp-timeout (ftp-expired);
#   - more announcements than a control connection may hold: the oldest is
#     dropped (ftp-replaced).
set -u
RP_ID=${RP_ID:-fa$$}
. "$(dirname "$0")/ftp_lib.sh"
ftp_setup
ftp_server in_b # rampart protecting the client (in_a)
ftp_server in_a # rampart protecting the server
# a third host next to the FTP client in the peer namespace
in_b ip addr add 192.0.2.3/24 dev "$RP_IF_B"
in_b ip -6 addr add 2001:db8::3/64 dev "$RP_IF_B" nodad

# policy TIMEOUT: only the control connections, expectations live TIMEOUT s
policy() {
	cat > "$RP_TMP/p.rules" <<P
option ftp-timeout $1
table root default deny {
    allow on lo
    allow out proto tcp remote port 21
    allow in proto tcp local port 21
    deny in log
}
P
	out=$(rp_apply "$RP_TMP/p.rules" --iface "$RP_IF_A") || fail "apply: $out"
}
policy 20

# 1. from the server's port 20 to a port nobody announced: dropped
listen in_a tcp 40999 20
expect timeout in_b tcp $RP_A4 40999 1.5 20
r=$(probe in_b tcp $RP_A6 40999 1.5 20); [ "${r% *}" = timeout ] || fail "IPv6 from port 20: $r"
ok "from the server's port 20 to a port it never announced: dropped (IPv4, IPv6)"

# 2. commands split across TCP segments (one piece per segment): read
# whole; the server's data connection comes in (it connects at once and
# says 200)
for p in 40100 40101 40102 40103; do listen in_a tcp $p 30; done
exp=$(counter ftp-expect) data=$(counter new-ftp-data)
out=$(in_a timeout 20 $RP_FTPCMD $RP_B4 21 "EP^RT |1|$RP_A4|40^100|" "PO^RT 192,0,2,1,156,^165") ||
	fail "ftpcmd: $out"
out6=$(in_a timeout 20 $RP_FTPCMD $RP_B6 21 "E^PRT |2|$RP_A6^|40102|") || fail "ftpcmd v6: $out6"
[ "$(printf "%s\n" "$out" "$out6" | grep -c '^200 Active data connection established')" = 3 ] ||
	fail "split commands: the server could not connect: $out $out6"
[ "$(counter ftp-expect)" = $((exp + 3)) ] || fail "ftp-expect: $(counter ftp-expect), expected $((exp + 3))"
[ "$(counter new-ftp-data)" = $((data + 3)) ] || fail "new-ftp-data: $(counter new-ftp-data), expected $((data + 3))"
ok "EPRT/PORT split over 2-3 segments (IPv4, IPv6): read whole, 3 data connections admitted"

# 3. "PORT" at the start of a segment but in the middle of a line (a helper
# that looked at segment starts would open the port): nothing opens
exp=$(counter ftp-expect)
out=$(in_a timeout 20 $RP_FTPCMD $RP_B4 21 "NOOP xxxxxxxxxxxx^PORT 192,0,2,1,156,167") || fail "ftpcmd: $out"
[ "$(counter ftp-expect)" = "$exp" ] || fail "a mid-line PORT made an expectation"
[ -z "$(expected_ports)" ] || fail "expectations after a mid-line PORT: $(expected_ports)"
expect timeout in_b tcp $RP_A4 40103 1.5 20
ok "PORT at a segment start in the middle of a line: no expectation, port 40103 stays closed"

# 4. announcements that open nothing: a third host (FTP bounce), a low port
refused=$(counter ftp-refused-address) low=$(counter ftp-refused-port)
in_a timeout 15 $RP_FTPCMD $RP_B4 21 "EPRT |1|192.0.2.99|40000|" "PORT 192,0,2,99,156,65" \
	"EPRT |1|$RP_A4|1022|" >/dev/null || fail "ftpcmd"
in_a timeout 15 $RP_FTPCMD $RP_B6 21 "EPRT |2|2001:db8::99|40002|" >/dev/null || fail "ftpcmd v6"
[ "$(counter ftp-refused-address)" = $((refused + 3)) ] || fail "refused-address: $(counter ftp-refused-address)"
[ "$(counter ftp-refused-port)" = $((low + 1)) ] || fail "refused-port: $(counter ftp-refused-port)"
[ -z "$(expected_ports)" ] || fail "expectations after refused announcements: $(expected_ports)"
ok "EPRT/PORT naming a third host, or port 1022: no expectation (counted)"

# 5. rampart protecting the server: a third host connects first to the
# passive port the server announced to the client: dropped, counted, and
# the client's own data connection still comes in
wrong=$(counter ftp-wrong-source)
rp_bg in_b timeout 40 $RP_FTPCMD $RP_A4 21 EPSV "?$RP_TMP/go" LIST > "$RP_TMP/race"
for _ in $(seq 100); do grep -q '^229' "$RP_TMP/race" && break; sleep 0.1; done
port=$(sed -n 's/^229 .*(|||\([0-9]*\)|).*/\1/p' "$RP_TMP/race")
[ -n "$port" ] || fail "no 229 reply: $(cat "$RP_TMP/race")"
r=$(probe in_b tcp $RP_A4 "$port" 1.5 0 192.0.2.3)
[ "${r% *}" = timeout ] || fail "the third host reached the announced port $port: $r"
# (each SYN counts: the probe's retransmission too)
[ "$(counter ftp-wrong-source)" -gt "$wrong" ] || fail "ftp-wrong-source: $(counter ftp-wrong-source)"
[ "$(expected_ports)" = "$port" ] || fail "the expectation did not stay: '$(expected_ports)'"
touch "$RP_TMP/go"
for _ in $(seq 150); do grep -q '^LIST' "$RP_TMP/race" && break; sleep 0.1; done
grep -q '^LIST [1-9][0-9]* bytes' "$RP_TMP/race" || fail "the client's listing: $(cat "$RP_TMP/race")"
ok "a third host to the announced passive port $port: dropped (ftp-wrong-source); the client lists"

# 6. an expectation nobody uses: gone after ftp-timeout (3 s here), and its port closed
policy 3
rp_bg in_a timeout 30 $RP_FTPCMD $RP_B4 21 --hold 20 EPSV > "$RP_TMP/epsv"
for _ in $(seq 50); do grep -q '^229' "$RP_TMP/epsv" && break; sleep 0.1; done
port=$(sed -n 's/^229 .*(|||\([0-9]*\)|).*/\1/p' "$RP_TMP/epsv")
[ -n "$port" ] || fail "no 229 reply: $(cat "$RP_TMP/epsv")"
[ "$(expected_ports)" = "$port" ] || fail "flows: expected port $port, got '$(expected_ports)'"
rp_r flows | grep -q "expected by the ftp helper" || fail "flows (text): no expectation shown"
ok "EPSV: rampart flows shows the expectation (port $port)"
expired=$(counter ftp-expired)
# removed by the helper's sweep (once a second) once the 3 s have passed
for _ in $(seq 60); do [ "$(counter ftp-expired)" = "$expired" ] || break; sleep 0.25; done
[ "$(counter ftp-expired)" = $((expired + 1)) ] || fail "ftp-expired: $(counter ftp-expired) after 15 s"
[ -z "$(expected_ports)" ] || fail "expectation for $port still there: $(expected_ports)"
expect timeout in_a tcp $RP_B4 "$port"
ok "the unused expectation expired (ftp-expired), and its port stays closed"

# 7. five announcements on one control connection: four are kept, the
# oldest is dropped (ftp-replaced)
policy 20
exp=$(counter ftp-expect) replaced=$(counter ftp-replaced)
out=$(in_a timeout 20 $RP_FTPCMD $RP_B4 21 EPSV EPSV EPSV EPSV EPSV) || fail "ftpcmd: $out"
ports=$(echo "$out" | sed -n 's/^229 .*(|||\([0-9]*\)|).*/\1/p')
[ "$(echo "$ports" | wc -w)" = 5 ] || fail "five EPSV: $out"
[ "$(counter ftp-expect)" = $((exp + 5)) ] || fail "ftp-expect: $(counter ftp-expect)"
[ "$(counter ftp-replaced)" = $((replaced + 1)) ] || fail "ftp-replaced: $(counter ftp-replaced)"
want=$(echo "$ports" | tail -n 4 | sort -n | xargs)
got=$(expected_ports | tr ' ' '\n' | sort -n | xargs)
[ "$got" = "$want" ] || fail "expected ports '$got', want the last four '$want'"
ok "five EPSV on one control connection: the last four are expected, the oldest replaced"
rp_r status | grep -i ftp
echo PASS
