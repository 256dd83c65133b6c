#!/usr/bin/env bash
# Owner records of listening sockets under attack (issue 9, item 5):
#  - another uid binding an owned port (UDP, SO_REUSEADDR) does not take
#    over the owner's identity: inbound traffic is still judged as the
#    owner's (counter owner-takeover-refused); the same uid replaces it (a
#    service's new process);
#  - a socket on the same port in another network namespace has its own
#    record (the key holds the namespace's cookie);
#  - an unprivileged user who fills rp_listeners (16384 sockets) gets no
#    record for the sockets beyond, counted (owner-table-full), and a port
#    with a socket of no record is judged as of an unknown owner: such a
#    socket never borrows the identity of a wildcard socket on its port;
#  - listen() without bind() (the kernel picks the port) is judged: denied
#    for one application, it is logged and nothing reaches the port.
# Real sockets (app.py, copies of python3) in a child cgroup, real traffic
# from the peer namespace.
set -u
RP_ID=${RP_ID:-ot$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup srv
for a in srv-a srv-a2 srv-b srv-c filler lsn lsn-ok; do app_copy $a; done
SA=$RP_TMP/srv-a SA2=$RP_TMP/srv-a2 SL=$RP_TMP/lsn SLOK=$RP_TMP/lsn-ok

cat > "$RP_TMP/policy.rules" <<P
table root default deny {
    allow event network
    deny event listen app $SL log
    allow event listen
    allow in event receive app $SA proto udp local port { 9200, 9300 } log
    allow in event receive app $SA2 proto udp local port 9201
    allow in event accept app $SLOK proto tcp log
    allow in event accept proto tcp
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"

# bg NSNAME USER APP ARGS...: app.py in the background in namespace NSNAME
# and the test's cgroup srv, as USER; its first line in $RP_TMP/APP.out and
# in $first (not in $(...): the cleanup must know its pid)
bg() {
	local ns=$1 user=$2 app=$3; shift 3
	local log=$RP_TMP/$app.out
	: > "$log"
	nsenter --net=/run/netns/$ns sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$RP_CG/srv" \
		prlimit --nofile=20000:20000 setpriv --reuid "$user" --regid "$user" --clear-groups \
		timeout 70 "$RP_TMP/$app" "$RP_APP_PY" "$@" >"$log" 2>&1 &
	RP_BG_PIDS="$RP_BG_PIDS $!"
	for _ in $(seq 100); do
		[ -s "$log" ] && break
		sleep 0.1
	done
	first=$(head -1 "$log")
}
counter() { rp_r status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$1"; }
records() { # PORT: owner records of the port
	bpftool -j map dump pinned "$RP_PIN/maps/rp_listeners" |
		python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["formatted"]["key"]["port"] == int(sys.argv[1])))' "$1"
}

# --- takeover by another uid; a namespace of its own ---
bg $RP_NS_A 0 srv-a serve udp 9200 60; [ "$first" = listening ] || fail "srv-a 9200"
expect open in_b udp $RP_A4 9200
# the same port in the peer namespace, by root (the owner's uid): its own record
bg $RP_NS_B 0 srv-b serve udp 9200 60; [ "$first" = listening ] || fail "srv-b in the peer namespace"
[ "$(records 9200)" = 2 ] || fail "expected 2 owner records for port 9200 (one per namespace), got $(records 9200)"
expect open in_b udp $RP_A4 9200
ok "a socket on the same port in another namespace has its own owner record"
# another uid binds the owned port (SO_REUSEADDR): the kernel delivers to
# the newer socket, the owner record stays the first owner's
bg $RP_NS_A 65534 srv-c serve udp 9200 60; [ "$first" = listening ] || fail "srv-c (uid 65534) on 9200"
[ "$(counter owner-takeover-refused)" = 1 ] || fail "owner-takeover-refused: $(counter owner-takeover-refused)"
expect open in_b udp $RP_A4 9200
expect open in_b udp $RP_A6 9200
ok "a bind by another uid does not take the owner's identity (counted)"
# the same uid replaces the record (a new process of the same service)
bg $RP_NS_A 0 srv-a2 serve udp 9201 60; [ "$first" = listening ] || fail "srv-a2 9201"
expect open in_b udp $RP_A4 9201

# --- listen() without bind() ---
bg $RP_NS_A 0 lsn listen-auto 60; out=$first
port=${out#listening }
[ "${out%% *}" = listening ] && [ "$port" -gt 0 ] || fail "lsn listen(): $out"
bg $RP_NS_A 0 lsn-ok listen-auto 60; out=$first
port_ok=${out#listening }
[ "${out%% *}" = listening ] && [ "$port_ok" -gt 0 ] || fail "lsn-ok listen(): $out"
expect timeout in_b tcp $RP_A4 "$port"
expect timeout in_b tcp $RP_A6 "$port"
expect open in_b tcp $RP_A4 "$port_ok"
[ "$(counter listen-without-bind)" -ge 2 ] || fail "listen-without-bind: $(counter listen-without-bind)"
rp_r log --json > "$RP_TMP/log.json" || fail "rampart log"
python3 - "$RP_TMP/log.json" "$SL" "$port" "$SLOK" "$port_ok" <<'PY' || fail "log: $(cat "$RP_TMP/log.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
refused = [e for e in ev if e.get("event") == "listen" and e.get("app") == sys.argv[2]
           and e["local"].get("port") == int(sys.argv[3]) and e["verdict"] == "deny"]
owner = [e for e in ev if e.get("event") == "accept" and e.get("owner") and e.get("app") == sys.argv[4]
         and e["local"].get("port") == int(sys.argv[5])]
assert refused, "no listen event denied for the port"
assert owner, "no accept event naming the owner of the auto-bound port"
PY
ok "listen() without bind(): judged, the refused port unreachable and logged"

# --- exhaustion: an unprivileged user fills rp_listeners ---
bg $RP_NS_A 0 srv-a serve udp 9300 60; [ "$first" = listening ] || fail "srv-a 9300"
expect open in_b udp $RP_A4 9300
bg $RP_NS_A 65534 filler fill 16400 60; out=$first
[ "${out%% *}" = filled ] || fail "filler: $out"
full=$(counter owner-table-full)
[ "$full" -gt 0 ] || fail "rp_listeners not full after '$out'"
ok "uid 65534 bound ${out#filled } sockets; owner-table-full $full"
# a socket bound now (exact address) has no record: not judged as the
# wildcard owner srv-a (whose allow would otherwise let its traffic in)
bg $RP_NS_A 0 srv-c serve udp 9300 60 $RP_A4; [ "$first" = listening ] || fail "srv-c 9300"
[ "$(counter owner-table-full)" -gt "$full" ] || fail "srv-c's bind not counted"
expect timeout in_b udp $RP_A4 9300
ok "a port with a socket of no record is judged as of an unknown owner"
rp_kill_bg
[ "$(records 9300)" = 0 ] || fail "records left after the sockets closed"
unowned=$(bpftool -j map lookup pinned "$RP_PIN/maps/rp_listen_unowned" key 0x54 0x24 0 0 |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["formatted"]["value"])')
[ "$unowned" = 0 ] || fail "rp_listen_unowned[9300] = $unowned after the sockets closed"
bg $RP_NS_A 0 srv-a serve udp 9300 60; [ "$first" = listening ] || fail "srv-a 9300 again"
expect open in_b udp $RP_A4 9300
ok "the table drains when the sockets close"
echo PASS
