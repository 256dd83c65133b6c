#!/usr/bin/env bash
# `make demo`: rampart protecting a network namespace, live.
# Two namespaces joined by a veth pair: "host" (192.0.2.1, 2001:db8::1) runs
# rampart with the shipped policy/default.rules; "peer" (192.0.2.2,
# 2001:db8::2) sends it traffic.  Everything is removed on exit.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root (it creates network namespaces and loads BPF programs)"
	exit 3
fi
RP_ID=demo$$
. tests/kernel/lib.sh
. tests/kernel/traffic_lib.sh
rp_setup
R() { in_a "$RAMPART" --pin-dir "$RP_PIN" "$@"; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
# try WHAT NS PROTO HOST PORT: one probe, its outcome in words
try() {
	local what=$1; shift
	local out; out=$(probe "$@" 1.5)
	printf '  %-48s -> %s (%s ms)\n' "$what" "${out% *}" "${out#* }"
}
pingtry() {
	local what=$1 ns=$2 addr=$3 r=answered
	$ns timeout 5 ping -c 1 -W 1 "$addr" >/dev/null 2>&1 || r="no answer"
	printf '  %-48s -> %s\n' "$what" "$r"
}

cp policy/default.rules "$RP_TMP/policy.rules"
say "rampart protects namespace 'host' ($RP_IF_A) with the shipped policy/default.rules"
grep -v '^#' "$RP_TMP/policy.rules" | grep -v '^$'
echo
run R apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" || exit 1

listen in_a tcp 22; listen in_a udp 5353; listen in_b tcp 80
say "traffic"
pingtry "peer pings host (inbound echo)" in_b $RP_A4
try "peer -> host tcp/22 (inbound, IPv4)" in_b tcp $RP_A4 22
try "peer -> host tcp/22 (inbound, IPv6)" in_b tcp $RP_A6 22
try "peer -> host udp/5353 (inbound)" in_b udp $RP_A4 5353
try "host -> peer tcp/80 (outbound; reply by state)" in_a tcp $RP_B4 80
try "host -> peer tcp/80 over IPv6" in_a tcp $RP_B6 80
pingtry "host pings peer (outbound)" in_a $RP_B6

say "what the kernel decided (rampart log: rules marked \`log\`)"
if "$RAMPART" --help | grep -q '^  log '; then
	run R log
else
	run R rules
fi

say "a second policy, applied over the running one (atomic replace)"
cat > "$RP_TMP/web.rules" <<'P'
table root default deny {
    allow on lo
    allow out
    allow in proto tcp local port 8080           log comment "the web service"
    reject in proto tcp local port 8081          log comment "refused at once"
    allow in proto icmp icmp-type echo-request   comment "IPv4 ping"
    deny in log
}
P
grep -v '^$' "$RP_TMP/web.rules"
echo
run R apply "$RP_TMP/web.rules" || exit 1
listen in_a tcp 8080; listen in_a tcp 8081
try "peer -> host tcp/8080 (allowed)" in_b tcp $RP_A4 8080
try "peer -> host tcp/8081 (reject: RST at once)" in_b tcp $RP_A4 8081
try "peer -> host tcp/22 (denied: silent)" in_b tcp $RP_A4 22
pingtry "peer pings host (now allowed)" in_b $RP_A4
echo
run R rules
echo
run R status
say "unload: detach and unpin"
run R unload
try "peer -> host tcp/22 (no firewall)" in_b tcp $RP_A4 22
say "learning mode: a program no rule decides is asked about (rampart ask --json, answered by a script here)"
. tests/kernel/app_lib.sh
rp_child_cgroup demo
CGREL=${RP_CG#$(rp_cgroup2_mount)}
cat > "$RP_TMP/ask.rules" <<P
table root default deny {
    allow event network
    ask out cgroup $CGREL proto tcp              comment "programs in the demo cgroup: ask"
}
P
grep -v '^$' "$RP_TMP/ask.rules"
echo
run R apply "$RP_TMP/ask.rules" --iface "$RP_IF_A" --cgroup "$RP_CG" || exit 1
mkfifo "$RP_TMP/answers"
in_a "$RAMPART" --pin-dir "$RP_PIN" --json ask <"$RP_TMP/answers" >"$RP_TMP/agent.out" 2>&1 &
AGENT=$!
exec 7>"$RP_TMP/answers"
for _ in $(seq 50); do R status 2>/dev/null | grep -q "agent: pid" && break; sleep 0.1; done
R status | grep "^ask:"
# ask_scene WHAT ANSWER: a connection from the demo cgroup, its question,
# the scripted answer after half a second, and what the program saw
ask_scene() {
	local n0; n0=$(wc -l <"$RP_TMP/agent.out")
	in_cg "$RP_CG/demo" timeout 10 $RP_TRAFFIC probe tcp $RP_B4 80 8 >"$RP_TMP/probe.out" &
	local pid=$! q=""
	for _ in $(seq 100); do
		q=$(tail -n +$((n0 + 1)) "$RP_TMP/agent.out" | grep '"event"' | head -1)
		[ -n "$q" ] && break
		sleep 0.1
	done
	printf '  question: %s\n' "$q"
	local id; id=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$q")
	sleep 0.5
	local ans="{\"id\": $id, $2}"
	printf '  answer:   %s   (%s)\n' "$ans" "$1"
	echo "$ans" >&7
	wait $pid
	for _ in $(seq 100); do grep -q "{\"id\": $id, \"applied" "$RP_TMP/agent.out" && break; sleep 0.1; done
	printf '  result:   %s\n' "$(grep "{\"id\": $id, \"" "$RP_TMP/agent.out" | grep -v '"event"' | tail -1)"
	local out; out=$(cat "$RP_TMP/probe.out")
	printf '  the program: %s after %s ms\n' "${out% *}" "${out#* }"
}
ask_scene "allow once: the held connection goes on" '"verdict": "allow", "remember": "once"'
sleep 2.5 # a "once" answer decides its retransmissions and duplicates for 2 s
ask_scene "deny always: refused at once, and a rule is learned" '"verdict": "deny", "remember": "always", "scope": "port"'
echo
echo "  the policy file now:"
sed 's/^/    /' "$RP_TMP/ask.rules"
echo
run R log
kill $AGENT 2>/dev/null; wait $AGENT 2>/dev/null
exec 7>&-
run R unload
say "a gateway: LAN host 'peer' - gateway 'host' - a WAN host, nftables masquerade (Kerio's ICS)"
. tests/kernel/gateway_lib.sh
rp_gateway_setup
cat > "$RP_TMP/gw.rules" <<P
interface wan = $WAN
interface lan = $LAN
addresses lan-hosts = { 192.0.2.0/24, 2001:db8::/64 }
table root default deny {
    allow out local @lan-hosts                                  comment "LAN hosts to the Net"
    allow in on lan remote @lan-hosts proto tcp local port 8080 comment "the gateway's web UI, LAN only"
    allow out                                                   comment "the gateway's own connections"
    deny log                                                    comment "stealth"
}
P
grep -v '^$' "$RP_TMP/gw.rules"
echo
run R apply "$RP_TMP/gw.rules" || exit 1
listen in_a tcp 9090   # 8080 listens since the second scene
rp_bg_w timeout 60 $RP_TRAFFIC listen tcp 80 55
for _ in $(seq 50); do in_w ss -ltnH "sport = :80" | grep -q . && break; sleep 0.1; done
try "LAN host -> WAN host tcp/80 (forwarded, masqueraded)" in_b tcp $W4 80
try "LAN host -> WAN host tcp/80 over IPv6 (routed)" in_b tcp $W6 80
try "LAN host -> gateway tcp/8080 (in on lan: allowed)" in_b tcp $RP_A4 8080
try "LAN host -> gateway tcp/9090 (in: no rule opens it)" in_b tcp $RP_A4 9090
wtry() {
	local out; out=$(in_w timeout 10 $RP_TRAFFIC probe tcp "$2" "$3" 1.5)
	printf '  %-48s -> %s (%s ms)\n' "$1" "${out% *}" "${out#* }"
}
wtry "WAN host -> gateway tcp/8080 (in on wan)" $G4W 8080
wtry "WAN host -> LAN host tcp/22 (routed in)" $RP_B6 22
echo
run R flows
say "unload"
run R unload

echo
echo "demo done; namespaces and pins are removed on exit"
