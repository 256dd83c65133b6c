#!/usr/bin/env bash
# FTP without holes, rampart protecting the client: real curl in the
# protected namespace against a real FTP server (pyftpdlib) in the peer.
# Listing and a 1 MiB download in passive (EPSV, PASV) and active (EPRT,
# PORT) mode, IPv4 and IPv6: with the shipped default policy, and with a
# policy that allows nothing but the control connection (so every data
# connection is the helper's doing); a server on port 2121 only when option
# ftp-ports names it; with option ftp-helper off active mode fails.  The
# attacks on the helper are t_ftp_attacks.sh.
set -u
RP_ID=${RP_ID:-fc$$}
. "$(dirname "$0")/ftp_lib.sh"
. "$(dirname "$0")/app_lib.sh"
ftp_setup
rp_child_cgroup ftp
ftp_server in_b

# 1. the shipped default policy
out=$(rp_apply "$RP_ROOT/policy/default.rules" --iface "$RP_IF_A") || fail "apply: $out"
every_mode_works "default policy" in_a $RP_B4 $RP_B6
# rampart flows marks the data connections RELATED to their control connection
rp_r --json flows | python3 -c '
import json, sys
fl = json.load(sys.stdin)
rel = [f for f in fl if f.get("related")]
assert len(rel) == 12, len(rel)
for f in rel:
    assert f["related"]["helper"] == "ftp"
    assert f["related"]["control"]["reply"].endswith(":21"), f
    # closed cleanly: the conntrack saw every byte and every ack (tcp numbers)
    t = f["tcp"]
    if f["state"] == "time-wait":
        assert t["orig"]["maxack"] == t["reply"]["end"] and t["reply"]["maxack"] == t["orig"]["end"], f
' || fail "flows --json: data connections not marked RELATED, or their numbers do not add up: $(rp_r --json flows)"
rp_r flows | grep -q "ftp helper: RELATED to" || fail "flows: no RELATED mark"
ok "flows: 12 data connections RELATED to their control connections"
# rampart log: the helper's decisions (rate-limited like a rule: some may be counted only)
logs=$(rp_r --json log)
echo "$logs" | grep -q '"helper": {"name": "ftp", "event": "expect"' || fail "log: no expectation: $logs"
echo "$logs" | grep -q '"helper": {"name": "ftp", "event": "data"' || fail "log: no data connection: $logs"
ok "log: expectations and admitted data connections"
# rampart metrics: the helper's slot, its events, the new flows it admitted
rp_r metrics > "$RP_TMP/m.prom" || fail "rampart metrics"
mval() { awk -v s="$1" 'index($0, s " ") == 1 { print $NF }' "$RP_TMP/m.prom"; }
[ "$(mval 'rampart_rule_packets_total{file="",line="0",table="(ftp helper)",verdict="allow"}')" = 12 ] ||
	fail "metrics: the helper's packets: $(grep -i ftp "$RP_TMP/m.prom")"
[ "$(mval 'rampart_new_flows_total{outcome="ftp-data"}')" = 12 ] || fail "metrics: new ftp-data flows"
[ "$(mval 'rampart_ftp_helper_events_total{event="expect"}')" -ge 12 ] || fail "metrics: ftp expect"
ok "metrics: 12 data connections in the helper's slot and in new flows, its expectations counted"

# 2. nothing but the control connection allowed: the data connections are the helper's
cat > "$RP_TMP/strict.rules" <<'P'
table root default deny {
    allow on lo
    allow out proto tcp remote port 21
    deny in log
}
P
out=$(rp_apply "$RP_TMP/strict.rules" --iface "$RP_IF_A") || fail "apply strict: $out"
every_mode_works "only port 21 allowed" in_a $RP_B4 $RP_B6

# 2b. the same with the socket hooks (apply --cgroup): curl's connect() of a
# passive data connection is announced, so the connect hook lets it through
# to the helper; its sockets (`network`) and its active-mode data socket
# (`listen`) are judged as usual
sed 's/^\( *\)allow on lo/&\n\1allow event { network, listen }/' "$RP_TMP/strict.rules" > "$RP_TMP/hooks.rules"
out=$(rp_apply "$RP_TMP/hooks.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply --cgroup: $out"
in_ftp_cgroup() { in_cg "$RP_CG/ftp" "$@"; }
every_mode_works "socket hooks, only port 21 allowed" in_ftp_cgroup $RP_B4 $RP_B6
r=$(in_ftp_cgroup timeout 5 curl -sS --max-time 3 "http://$RP_B4:2121/" 2>&1) && fail "an unannounced connect passed: $r"
echo "$r" | grep -q "Operation not permitted\|Couldn't connect" || fail "unannounced connect: $r"
ok "socket hooks: a connect nobody announced is still refused ($r)"

# 3. a server on another port: read only when option ftp-ports names it
ftp_server in_b 2121
sed 's/remote port 21$/remote port { 21, 2121 }/' "$RP_TMP/strict.rules" > "$RP_TMP/2121.rules"
grep -q "2121" "$RP_TMP/2121.rules" || fail "policy not made"
out=$(rp_apply "$RP_TMP/2121.rules" --iface "$RP_IF_A") || fail "apply: $out"
ftp_get in_a $RP_B4:2121 -P - >/dev/null && fail "active mode to port 2121 worked without ftp-ports naming it"
ok "a server on port 2121, ftp-ports { 21 }: its active mode is not let in"
{ echo "option ftp-ports { 21, 2121 }"; cat "$RP_TMP/2121.rules"; } > "$RP_TMP/2121b.rules"
out=$(rp_apply "$RP_TMP/2121b.rules" --iface "$RP_IF_A") || fail "apply: $out"
why=$(ftp_get in_a $RP_B4:2121 -P -) || fail "ftp-ports { 21, 2121 }, active mode to port 2121: $why"
why=$(ftp_get in_a "[$RP_B6]:2121" --ftp-pasv) || fail "ftp-ports { 21, 2121 }, passive IPv6 to port 2121: $why"
ok "option ftp-ports { 21, 2121 }: active and passive FTP to port 2121 work"

# 4. option ftp-helper off: active mode fails (nothing lets the server in)
{ echo "option ftp-helper off"; cat "$RP_ROOT/policy/default.rules"; } > "$RP_TMP/off.rules"
out=$(rp_apply "$RP_TMP/off.rules" --iface "$RP_IF_A") || fail "apply off: $out"
why=$(ftp_get in_a $RP_B4 --ftp-pasv) || fail "helper off, passive (outbound: allowed by the policy): $why"
ok "helper off: passive still works (the default policy allows outbound)"
ftp_get in_a $RP_B4 -P - >/dev/null && fail "helper off: active mode worked"
ftp_get in_a "[$RP_B6]" -P - >/dev/null && fail "helper off: active mode (IPv6) worked"
ok "helper off: active mode fails (IPv4, IPv6)"
[ -z "$(expected_ports)" ] || fail "helper off but expectations: $(expected_ports)"
echo PASS
