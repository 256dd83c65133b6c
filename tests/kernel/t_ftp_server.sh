#!/usr/bin/env bash
# FTP without holes, rampart protecting the server: a real FTP server
# (pyftpdlib) in the protected namespace, real curl in the peer.  The policy
# lets in the control port 21 only; passive mode (EPSV and PASV, IPv4 and
# IPv6) works because the helper reads the server's 227/229 replies and
# admits the one connection each announces, active mode (PORT, EPRT)
# because it reads the client's commands.  With option ftp-helper off,
# passive mode fails: no port range has to be opened for it.
set -u
RP_ID=${RP_ID:-fs$$}
. "$(dirname "$0")/ftp_lib.sh"
ftp_setup
ftp_server in_a

sed 's/^\( *\)deny in log/\1allow in proto tcp local port 21 comment "the FTP server"\n&/' \
	"$RP_ROOT/policy/default.rules" > "$RP_TMP/server.rules"
grep -q "local port 21" "$RP_TMP/server.rules" || fail "policy not made"
out=$(rp_apply "$RP_TMP/server.rules" --iface "$RP_IF_A") || fail "apply: $out"

every_mode_works "client in the peer" in_b $RP_A4 $RP_A6

# without the helper, passive mode would need a hole (the server's port range)
{ echo "option ftp-helper off"; cat "$RP_TMP/server.rules"; } > "$RP_TMP/off.rules"
out=$(rp_apply "$RP_TMP/off.rules" --iface "$RP_IF_A") || fail "apply off: $out"
ftp_get in_b $RP_A4 --ftp-pasv >/dev/null && fail "helper off: passive mode worked"
ok "helper off: passive mode fails (the data connection is not let in)"
echo PASS
