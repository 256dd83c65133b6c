#!/usr/bin/env bash
# rampart daemon (docs/cli.md, docs/operations.md): applies the policy (mode enforcing, reason
# daemon), prints log events (--json, one per line), reloads when the file
# changes and on SIGHUP without dropping an established TCP stream, keeps
# the running policy when an edit is broken, and SIGKILL / SIGTERM /
# restart leave enforcement exactly as it was (same programs, same verdicts).
set -u
RP_ID=${RP_ID:-dm$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

POL=$RP_TMP/etc/policy.rules
mkdir -p "$RP_TMP/etc"
write_policy() { # PORT-OF-THE-EXTRA-ALLOW: written aside and renamed in, like editors do
	cat > "$POL.new" <<P
table root default deny {
    allow out
    allow in proto tcp local port { 8080, 9000, $1 }
    deny in proto tcp local port 8082 log
}
P
	mv "$POL.new" "$POL"
}
write_policy 8081

daemon_start() {
	rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" --json daemon --policy "$POL" --iface "$RP_IF_A" \
		>> "$RP_TMP/daemon.out" 2>> "$RP_TMP/daemon.err"
	DPID=$!
	for _ in $(seq 300); do
		[ "$(grep -c "serving the log" "$RP_TMP/daemon.err")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "daemon did not start: $(cat "$RP_TMP/daemon.err")"
}
# wait_err N TEXT: the daemon's stderr holds TEXT at least N times
wait_err() {
	for _ in $(seq 300); do
		[ "$(grep -c "$2" "$RP_TMP/daemon.err")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "daemon did not say '$2' ($1 times): $(cat "$RP_TMP/daemon.err")"
}
gen() { rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

daemon_start 1
expect_mode enforcing daemon
for p in 8080 8081 8082 8083; do listen in_a tcp $p 600; done
expect open in_b tcp $RP_A4 8081
expect timeout in_b tcp $RP_A4 8083
expect timeout in_b tcp $RP_A6 8082       # rule with `log`
for _ in $(seq 30); do grep -q '"verdict": "deny"' "$RP_TMP/daemon.out" && break; sleep 0.1; done
python3 - "$RP_TMP/daemon.out" <<'PY' || fail "daemon log output: $(cat "$RP_TMP/daemon.out")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(e["verdict"] == "deny" and e["local"]["port"] == 8082 and e["rule"].endswith(":4") for e in ev), ev
PY
ok "the daemon printed the log event of the denied connection (JSON, rule file:line)"

# a 4 MB stream into the protected host runs across every reload below
rp_bg in_a timeout 40 $RP_TRAFFIC stream-server 9000 30 > "$RP_TMP/s.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server"
rp_bg in_b timeout 40 $RP_TRAFFIC stream-client $RP_A4 9000 4000000 8 > "$RP_TMP/s.client"
cpid=$!
sleep 0.5
g0=$(gen)

# 1. the file changes (written aside, renamed in): reloaded
write_policy 8083
wait_err 1 "policy file changed: applied"
expect open in_b tcp $RP_A4 8083
g1=$(gen); [ "$g1" -gt "$g0" ] || fail "generation did not move on file change ($g0 -> $g1)"
ok "file change picked up (generation $g0 -> $g1)"

# 2. SIGHUP: reloaded
kill -HUP $DPID
wait_err 1 "SIGHUP: applied"
g2=$(gen); [ "$g2" -gt "$g1" ] || fail "generation did not move on SIGHUP"
ok "SIGHUP reloads (generation $g1 -> $g2)"

# 3. a broken edit (in place): reported, the running policy stays
printf 'table root default deny {\n    allow sideways\n}\n' > "$POL"
wait_err 1 "was not applied"
grep -q "error" "$RP_TMP/daemon.err" || fail "the daemon did not print the policy errors"
[ "$(gen)" = "$g2" ] || fail "a broken policy changed the generation"
expect open in_b tcp $RP_A4 8083
ok "broken edit reported, running policy untouched"
write_policy 8083
wait_err 2 "policy file changed: applied"

# 4. SIGKILL: nothing changes in the kernel
ing=$(rp_link_prog tci $RP_IF_A); tc=$(rp_link_prog tc $RP_IF_A); g3=$(gen)
kill -9 $DPID; wait $DPID 2>/dev/null
sleep 0.3
[ "$(rp_link_prog tci $RP_IF_A)" = "$ing" ] && [ "$(rp_link_prog tc $RP_IF_A)" = "$tc" ] ||
	fail "the programs changed when the daemon was killed"
[ "$(gen)" = "$g3" ] || fail "generation changed by SIGKILL"
expect_mode enforcing daemon
expect timeout in_b tcp $RP_A4 8082
expect open in_b tcp $RP_A4 8083
ok "SIGKILL: same programs ($ing, $tc), same verdicts"

# 5. restart while the stream runs: no gap
daemon_start 2
wait $cpid
grep -q "sent 4000000 acked 4000000" "$RP_TMP/s.client" ||
	fail "the stream did not survive reloads/kill/restart: $(cat "$RP_TMP/s.client")"
ok "a 4 MB stream ran across 3 reloads, a broken edit, SIGKILL and a restart: every byte acked"

# 6. SIGTERM: exits, leaves the policy in force
ing=$(rp_link_prog tci $RP_IF_A)
kill -TERM $DPID
for _ in $(seq 50); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
kill -0 $DPID 2>/dev/null && fail "daemon did not exit on SIGTERM"
wait_err 1 "the policy stays in force"
[ "$(rp_link_prog tci $RP_IF_A)" = "$ing" ] || fail "SIGTERM changed the program"
expect timeout in_b tcp $RP_A4 8082
expect open in_b tcp $RP_A4 8080
ok "SIGTERM: exited, policy still enforcing"

# 7. a lockdown (rampart shutdown) is not lifted by a reload
daemon_start 3
rp_r shutdown >/dev/null || fail "shutdown"
kill -HUP $DPID
wait_err 1 "mode is lockdown"
expect_mode lockdown shutdown
echo PASS
