#!/usr/bin/env bash
# Mode changes and applies do not overwrite each other (issue 9, item 7):
# `shutdown` and `stop` take effect at once and write the mode again under
# the apply lock; a daemon reload that waited for the lock while
# `shutdown` ran does not lift the lockdown.
# The lock is the instance's lock file (/run/lock/rampart/NAME-HASH.lock,
# loader/pins.c): it is held for about two seconds at a time.
set -u
RP_ID=${RP_ID:-lk$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

POL=$RP_TMP/policy.rules
printf 'table root default deny {\n    allow out\n    allow in proto tcp local port 8080\n}\n' >"$POL"
out=$(rp_apply "$POL" --iface "$RP_IF_A") || fail "apply: $out"
expect_mode enforcing apply
LOCK=$(ls /run/lock/rampart/rampart-test-$RP_ID-*.lock 2>/dev/null)
[ "$(echo "$LOCK" | wc -w)" = 1 ] || fail "no lock file of $RP_PIN in /run/lock/rampart"

# 1. shutdown while an apply holds the lock: lockdown at once, and written
# again once the lock is free (the apply in progress cannot undo it)
flock "$LOCK" sleep 2 &
HOLD=$!
sleep 0.3
rp_r shutdown >/dev/null &
SD=$!
sleep 1
expect_mode lockdown shutdown # at once
kill -0 $SD 2>/dev/null || fail "shutdown did not wait for the lock to write again"
wait $HOLD
wait $SD || fail "shutdown failed"
expect_mode lockdown shutdown
ok "shutdown: lockdown at once, then again under the apply lock"

# 2. a daemon reload waiting for the lock meets a shutdown waiting too
out=$(rp_r stop) || fail "stop: $out"
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$POL" --iface "$RP_IF_A" \
	>"$RP_TMP/daemon.out" 2>"$RP_TMP/daemon.err"
daemon_wait_started "$RP_TMP/daemon.err"
expect_mode enforcing daemon
# the shutdown's write, made while the daemon waits for the lock (what
# `rampart shutdown` does, done by the lock holder so that the order is
# certain): mode lockdown (2), reason shutdown (5), both entries
lockdown_held() {
	sleep 2
	for k in 0 1; do
		bpftool -j map lookup pinned "$RP_PIN/maps/rp_config" key $k 0 0 0 | python3 -c '
import json, subprocess, sys
v = [int(x, 16) for x in json.load(sys.stdin)["value"]]
v[0:4] = [2, 0, 0, 0]
v[136:140] = [5, 0, 0, 0]
subprocess.run(["bpftool", "map", "update", "pinned", sys.argv[1], "key", sys.argv[2], "0", "0", "0",
                "value"] + [str(x) for x in v], check=True)' "$RP_PIN/maps/rp_config" $k || return 1
	done
}
export -f lockdown_held
export RP_PIN
flock "$LOCK" bash -c lockdown_held &
HOLD=$!
sleep 0.3
touch "$POL" # the daemon sees the change, finds enforcing, waits for the lock
wait $HOLD || fail "could not write lockdown"
for _ in $(seq 300); do
	grep -q "policy file changed: .*not applied\|not applying" "$RP_TMP/daemon.err" && break
	sleep 0.1
done
grep -q "lockdown (rampart shutdown); not applying" "$RP_TMP/daemon.err" ||
	fail "the daemon did not refuse: $(cat "$RP_TMP/daemon.err")"
expect_mode lockdown shutdown
ok "a daemon reload that waited for the lock did not lift the lockdown"

rp_kill_bg
rp_r unload >/dev/null || fail "unload"
echo "PASS t_apply_lock"
