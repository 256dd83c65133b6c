#!/usr/bin/env bash
# FTP without holes, rampart protecting the client: real curl in the
# protected namespace against a real FTP server (pyftpdlib) in the peer.
# Listing and a 1 MiB download in passive (EPSV, PASV) and active (EPRT,
# PORT) mode, IPv4 and IPv6: with the shipped default policy, and with a
# policy that allows nothing but the control connection (so every data
# connection is the helper's doing); with option ftp-helper off active mode
# fails.  A connection from port 20 of the server to a port nobody announced
# is dropped, an EPRT naming a third host or a low port opens nothing, and
# an unused expectation is gone after ftp-timeout.
set -u
RP_ID=${RP_ID:-fc$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/ftp_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_need_ftp
rp_setup
rp_child_cgroup ftp
ftp_root
ftp_server in_b

# every mode, both families: "LABEL HOST CURL_OPTS"
modes() {
	echo "passive-EPSV $RP_B4 --ftp-pasv"
	echo "passive-PASV(227) $RP_B4 --ftp-pasv --disable-epsv"
	echo "active-EPRT $RP_B4 -P -"
	echo "active-PORT $RP_B4 -P - --disable-eprt"
	echo "passive-EPSV-v6 [$RP_B6] --ftp-pasv"
	echo "active-EPRT-v6 [$RP_B6] -P -"
}

# every_mode_works WHAT NS_FN: each mode from NS_FN, and the helper admitted
# each data connection (a listing and a download: two per mode)
every_mode_works() {
	local label host opts base; base=$(helper_packets)
	while read -r label host opts; do
		# shellcheck disable=SC2086
		why=$(ftp_get $2 "$host" $opts) || fail "$1: $label: $why"
		ok "$1: $label: listing and 1 MiB download"
	done < <(modes)
	[ "$(helper_packets)" = "$((base + 12))" ] || fail "$1: the helper admitted $(helper_packets), expected $((base + 12))"
	ok "$1: the ftp helper admitted all 12 data connections (rampart rules)"
}

# 1. the shipped default policy
out=$(rp_apply "$RP_ROOT/policy/default.rules" --iface "$RP_IF_A") || fail "apply: $out"
every_mode_works "default policy" in_a
# rampart flows marks the data connections RELATED to their control connection
rp_r --json flows | python3 -c '
import json, sys
fl = json.load(sys.stdin)
rel = [f for f in fl if f.get("related")]
assert len(rel) == 12, len(rel)
for f in rel:
    assert f["related"]["helper"] == "ftp"
    assert f["related"]["control"]["reply"].endswith(":21"), f
' || fail "flows --json: data connections not marked RELATED: $(rp_r flows)"
rp_r flows | grep -q "ftp helper: RELATED to" || fail "flows: no RELATED mark"
ok "flows: 12 data connections RELATED to their control connections"
# rampart log: the helper's decisions (rate-limited like a rule: some may be counted only)
logs=$(rp_r --json log)
echo "$logs" | grep -q '"helper": {"name": "ftp", "event": "expect"' || fail "log: no expectation: $logs"
echo "$logs" | grep -q '"helper": {"name": "ftp", "event": "data"' || fail "log: no data connection: $logs"
ok "log: expectations and admitted data connections"

# 2. nothing but the control connection allowed: the data connections are the helper's
cat > "$RP_TMP/strict.rules" <<'P'
option ftp-timeout 3
table root default deny {
    allow on lo
    allow out proto tcp remote port 21
    deny in log
}
P
out=$(rp_apply "$RP_TMP/strict.rules" --iface "$RP_IF_A") || fail "apply strict: $out"
every_mode_works "only port 21 allowed" in_a

# 2b. the same with the socket hooks (apply --cgroup): curl's connect() of a
# passive data connection is announced, so the connect hook lets it through
# to the helper; its sockets (`network`) and its active-mode data socket
# (`listen`) are judged as usual
sed 's/^\( *\)allow on lo/&\n\1allow event { network, listen }/' "$RP_TMP/strict.rules" > "$RP_TMP/hooks.rules"
out=$(rp_apply "$RP_TMP/hooks.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply --cgroup: $out"
in_ftp_cgroup() { in_cg "$RP_CG/ftp" "$@"; }
every_mode_works "socket hooks, only port 21 allowed" in_ftp_cgroup
r=$(in_ftp_cgroup timeout 5 curl -sS --max-time 3 "http://$RP_B4:2121/" 2>&1) && fail "an unannounced connect passed: $r"
echo "$r" | grep -q "Operation not permitted\|Couldn't connect" || fail "unannounced connect: $r"
ok "socket hooks: a connect nobody announced is still refused ($r)"

# 3. a connection from port 20 of the server to a port nobody announced: dropped
listen in_a tcp 40999 20
expect timeout in_b tcp $RP_A4 40999 1.5 20
r=$(probe in_b tcp $RP_A6 40999 1.5 20); [ "${r% *}" = timeout ] || fail "IPv6 from port 20: $r"
ok "from the server's port 20 to a port it never announced: dropped (IPv4, IPv6)"

# 4. announcements that open nothing: a third host (FTP bounce), a low port
refused=$(counter ftp-refused-address) low=$(counter ftp-refused-port)
in_a timeout 15 $RP_FTPCMD $RP_B4 21 "EPRT |1|192.0.2.99|40000|" "PORT 192,0,2,99,156,65" \
	"EPRT |1|$RP_A4|1022|" >/dev/null || fail "ftpcmd"
in_a timeout 15 $RP_FTPCMD $RP_B6 21 "EPRT |2|2001:db8::99|40002|" >/dev/null || fail "ftpcmd v6"
[ "$(counter ftp-refused-address)" = $((refused + 3)) ] || fail "refused-address: $(counter ftp-refused-address)"
[ "$(counter ftp-refused-port)" = $((low + 1)) ] || fail "refused-port: $(counter ftp-refused-port)"
[ -z "$(expected_ports)" ] || fail "expectations after refused announcements: $(expected_ports)"
ok "EPRT/PORT naming a third host, or port 1022: no expectation (counted)"

# 5. an expectation nobody uses: gone after ftp-timeout (3 s here), and its port closed
rp_bg in_a timeout 30 $RP_FTPCMD $RP_B4 21 --hold 20 EPSV > "$RP_TMP/epsv"
for _ in $(seq 50); do grep -q '^229' "$RP_TMP/epsv" && break; sleep 0.1; done
port=$(sed -n 's/^229 .*(|||\([0-9]*\)|).*/\1/p' "$RP_TMP/epsv")
[ -n "$port" ] || fail "no 229 reply: $(cat "$RP_TMP/epsv")"
[ "$(expected_ports)" = "$port" ] || fail "flows: expected port $port, got '$(expected_ports)'"
rp_r flows | grep -q "expected by the ftp helper" || fail "flows (text): no expectation shown"
ok "EPSV: rampart flows shows the expectation (port $port)"
expired=$(counter ftp-expired)
# removed by the sweeper (every 5 s) once the 3 s have passed: wait for it
for _ in $(seq 60); do [ "$(counter ftp-expired)" = "$expired" ] || break; sleep 0.25; done
[ "$(counter ftp-expired)" = $((expired + 1)) ] || fail "ftp-expired: $(counter ftp-expired) after 15 s"
[ -z "$(expected_ports)" ] || fail "expectation for $port still there: $(expected_ports)"
expect timeout in_a tcp $RP_B4 "$port"
ok "the unused expectation expired, and its port stays closed"

# 6. option ftp-helper off: active mode fails (nothing lets the server in)
{ echo "option ftp-helper off"; cat "$RP_ROOT/policy/default.rules"; } > "$RP_TMP/off.rules"
out=$(rp_apply "$RP_TMP/off.rules" --iface "$RP_IF_A") || fail "apply off: $out"
why=$(ftp_get in_a $RP_B4 --ftp-pasv) || fail "helper off, passive (outbound: allowed by the policy): $why"
ok "helper off: passive still works (the default policy allows outbound)"
ftp_get in_a $RP_B4 -P - >/dev/null && fail "helper off: active mode worked"
ftp_get in_a "[$RP_B6]" -P - >/dev/null && fail "helper off: active mode (IPv6) worked"
ok "helper off: active mode fails (IPv4, IPv6)"
[ -z "$(expected_ports)" ] || fail "helper off but expectations: $(expected_ports)"
echo PASS
