#!/usr/bin/env bash
# FTP without holes against vsftpd, Debian's FTP server, which in active
# mode connects from port 20: the connection Kerio's advice opened "incoming
# TCP from any server, source port 20" for.  Real curl, every mode (EPSV,
# PASV, EPRT, PORT; IPv4 and IPv6), rampart on either side:
#   - protecting the client, with the shipped default policy (no port-20
#     rule): every mode works, the active-mode data connections come from
#     port 20 and are the helper's;
#   - protecting the vsftpd server, with a policy that lets in port 21 only
#     and lets nothing out: every mode works (the helper admits the
#     client's passive connections in and vsftpd's active ones out).
set -u
RP_ID=${RP_ID:-fv$$}
. "$(dirname "$0")/ftp_lib.sh"
ftp_setup
vsftpd_server in_b
vsftpd_server in_a

# 1. rampart protecting the client, the shipped default policy
out=$(rp_apply "$RP_ROOT/policy/default.rules" --iface "$RP_IF_A") || fail "apply: $out"
every_mode_works "default policy, vsftpd in the peer" in_a $RP_B4 $RP_B6
# the active-mode data connections (EPRT, PORT, EPRT-v6: listing and
# download each) came from the server's port 20, RELATED to port 21
n=$(rp_r --json flows | python3 -c '
import json, sys
print(sum(1 for f in json.load(sys.stdin)
          if f.get("related") and f["orig"].get("port") == 20 and f["related"]["control"]["reply"].endswith(":21")))')
[ "$n" = 6 ] || fail "data connections from port 20 admitted by the helper: $n, expected 6: $(rp_r flows)"
ok "vsftpd's 6 active-mode connections from port 20: admitted by the helper, RELATED to port 21"

# 2. rampart protecting vsftpd: port 21 in, nothing else in or out
cat > "$RP_TMP/server.rules" <<'P'
table root default deny {
    allow on lo
    allow in proto tcp local port 21 comment "the FTP server"
    deny in log
}
P
out=$(rp_apply "$RP_TMP/server.rules" --iface "$RP_IF_A") || fail "apply: $out"
every_mode_works "only port 21 in, vsftpd protected" in_b $RP_A4 $RP_A6
echo PASS
