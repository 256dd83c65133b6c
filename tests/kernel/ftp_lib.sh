# FTP helpers for the namespace tests (source after setting RP_ID; brings
# lib.sh and traffic_lib.sh): a real FTP server (python3-pyftpdlib,
# tests/kernel/ftpd.py) and real curl.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/traffic_lib.sh"

RP_FTPD="/usr/bin/python3 $RP_ROOT/tests/kernel/ftpd.py"
RP_FTPCMD="/usr/bin/python3 $RP_ROOT/tests/kernel/ftpcmd.py"

rp_need_ftp() {
	/usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null || { echo "python3-pyftpdlib not installed (make deps)"; exit 77; }
	command -v curl >/dev/null || { echo "curl not installed (make deps)"; exit 77; }
	[ -x /usr/sbin/vsftpd ] || { echo "vsftpd not installed (make deps)"; exit 77; }
}

# ftp_setup: skips without the FTP tools; the namespaces (rp_setup) and the
# served directory (ftp_root).
ftp_setup() {
	rp_need_ftp
	rp_setup
	ftp_root
}

# ftp_root: the served directory, with a listing to recognise and 1 MiB to download
ftp_root() {
	mkdir -p "$RP_TMP/root"
	head -c 1048576 /dev/urandom > "$RP_TMP/root/big.bin"
	echo hello > "$RP_TMP/root/hello.txt"
}

# ftp_server NS_FN [PORT]: the FTP server on port 21 (or PORT) of that
# namespace (IPv4 and IPv6)
ftp_server() {
	local port=${2:-21}
	rp_bg $1 $RP_FTPD :: $port "$RP_TMP/root" --log "$RP_TMP/ftpd-$port.log"
	local nsname; [ "$1" = in_a ] && nsname=$RP_NS_A || nsname=$RP_NS_B
	rp_wait_port $nsname $port || fail "the FTP server did not start on port $port"
}

# vsftpd_server NS_FN: vsftpd on port 21 of that namespace (IPv4 and IPv6),
# anonymous, read-only, serving ftp_root; in active mode it connects from
# port 20, the connection Kerio's advice opened a hole for.  Its own
# configuration: the system's /etc/vsftpd.conf is not read.
vsftpd_server() {
	mkdir -p "$RP_TMP/empty"
	cat > "$RP_TMP/vsftpd-$1.conf" <<C
listen=NO
listen_ipv6=YES
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$RP_TMP/root
local_enable=NO
write_enable=NO
connect_from_port_20=YES
seccomp_sandbox=NO
secure_chroot_dir=$RP_TMP/empty
xferlog_enable=NO
C
	rp_bg $1 /usr/sbin/vsftpd "$RP_TMP/vsftpd-$1.conf"
	local nsname; [ "$1" = in_a ] && nsname=$RP_NS_A || nsname=$RP_NS_B
	rp_wait_port $nsname 21 || fail "vsftpd did not start"
}

# ftp_get NS_FN HOST CURL_OPTS...: a listing and the 1 MiB download with curl
# from NS_FN (bounded); 0 when both arrived intact, else prints what failed.
ftp_get() {
	local ns=$1 host=$2 out; shift 2
	out=$($ns timeout 15 curl -v -sS -g --max-time 8 "$@" "ftp://$host/" 2>"$RP_TMP/curl.err") ||
		{ echo "listing failed: $(tail -1 "$RP_TMP/curl.err"); $(ftp_diag)"; return 1; }
	echo "$out" | grep -q big.bin || { echo "listing without big.bin: $out"; return 1; }
	rm -f "$RP_TMP/dl"
	out=$($ns timeout 15 curl -v -sS -g --max-time 8 "$@" -o "$RP_TMP/dl" "ftp://$host/big.bin" 2>"$RP_TMP/curl.err") ||
		{ echo "download failed: $(tail -1 "$RP_TMP/curl.err"); $(ftp_diag)"; return 1; }
	cmp -s "$RP_TMP/dl" "$RP_TMP/root/big.bin" || { echo "download differs from the file"; return 1; }
}

# ftp_diag: what a failed transfer leaves to read: the control
# connection as curl saw it (which command got no answer, whether a data
# connection came), the last lines of the pyftpdlib servers' own logs, the
# datapath's drop, TCP and FTP counters that are not 0, the last log
# lines and the tracked connections that are not closing (their TCP state
# and sequence numbers)
ftp_diag() {
	echo "curl -v:"
	tail -12 "$RP_TMP/curl.err" 2>/dev/null
	local f
	for f in "$RP_TMP"/ftpd-*.log; do
		[ -e "$f" ] && { echo "$(basename "$f"):"; grep -v '\[debug\]' "$f" | tail -8; }
	done
	echo "counters:"
	rp_r --json status | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join("%s=%s" % (k, v) for k, v in sorted(c.items()) if v and any(w in k for w in ("drop", "tcp", "ftp"))))'
	echo "log:"
	rp_r log 2>&1 | tail -5
	echo "flows (not closing):"
	rp_r flows 2>&1 | grep -v " time-wait \| closed " | tail -8
	echo "their TCP numbers (orig end/maxend/maxack, reply end/maxend/maxack):"
	rp_r --json flows | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    t = f.get("tcp")
    if t and f["state"] not in ("time-wait", "closed"):
        n = lambda p: "%s/%s/%s" % (p["end"], p["maxend"], p["maxack"])
        print(" %s:%s %s, %s" % (f["orig"]["port"], f["reply"]["port"], n(t["orig"]), n(t["reply"])))' 2>&1 | tail -8
}

# ftp_modes HOST4 HOST6: every mode, both families ("LABEL HOST CURL_OPTS")
ftp_modes() {
	echo "passive-EPSV $1 --ftp-pasv"
	echo "passive-PASV(227) $1 --ftp-pasv --disable-epsv"
	echo "active-EPRT $1 -P -"
	echo "active-PORT $1 -P - --disable-eprt"
	echo "passive-EPSV-v6 [$2] --ftp-pasv"
	echo "active-EPRT-v6 [$2] -P -"
}

# every_mode_works WHAT NS_FN HOST4 HOST6: each mode from NS_FN to the
# server at HOST4/HOST6, and the helper admitted each data connection (a
# listing and a download: two per mode)
every_mode_works() {
	local label host opts base; base=$(helper_packets)
	while read -r label host opts; do
		# shellcheck disable=SC2086
		why=$(ftp_get $2 "$host" $opts) || fail "$1: $label: $why"
		ok "$1: $label: listing and 1 MiB download"
	done < <(ftp_modes $3 $4)
	[ "$(helper_packets)" = "$((base + 12))" ] || fail "$1: the helper admitted $(helper_packets), expected $((base + 12))"
	ok "$1: the ftp helper admitted all 12 data connections (rampart rules)"
}

# counter NAME: a datapath counter (rampart status --json)
counter() {
	rp_r --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}

# helper_packets: new flows the FTP helper admitted (its line in rampart rules --json)
helper_packets() {
	rp_r --json rules | python3 -c '
import json, sys
h = [r for r in json.load(sys.stdin)["rules"] if r["helper"]]
print(h[0]["packets"] if h else "none")'
}

# expected_ports: the ports the helper expects connections to (rampart flows --json)
expected_ports() {
	rp_r --json flows | python3 -c '
import json, sys
print(" ".join(str(f["reply"]["port"]) for f in json.load(sys.stdin) if f["state"] == "expected"))'
}
