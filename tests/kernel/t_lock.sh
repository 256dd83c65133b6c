#!/usr/bin/env bash
# The instance lock (docs/architecture.md, "Concurrency"): an apply waits
# while another writer holds its pin dir's lock, an instance with another
# pin dir does not wait for it, and unload removes the lock file.
set -u
RP_ID=${RP_ID:-lk$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
IF_C=rpc$RP_ID IF_D=rpd$RP_ID
PIN2=$RP_PIN-other
ip link add "$IF_C" netns "$RP_NS_A" type veth peer name "$IF_D" netns "$RP_NS_B"
in_a ip link set "$IF_C" up
RP_CLEANUP_EXTRA="$RP_CLEANUP_EXTRA"'; in_a "$RAMPART" unload --pin-dir "$PIN2" >/dev/null 2>&1'

pol=$RP_TMP/p.rules
printf 'table root default deny {\n    allow out\n}\n' > "$pol"
apply() { in_a timeout "$1" "$RAMPART" --pin-dir "$2" apply "$pol" --iface "$3"; }

apply 60 "$RP_PIN" "$RP_IF_A" > /dev/null || fail "first apply"
lock=$(ls /run/lock/rampart/rampart-test-$RP_ID-*.lock 2>/dev/null)
[ "$(echo "$lock" | wc -w)" = 1 ] || fail "no lock file of $RP_PIN in /run/lock/rampart: $(ls /run/lock/rampart)"
ok "the instance's lock file: $lock"

# another writer holds it (flock(1) stands for a concurrent apply)
rp_bg in_a flock -x -o "$lock" sleep 120 # -o: sleep does not inherit the lock
HOLDER=$!
for _ in $(seq 50); do flock -n -x "$lock" true || break; sleep 0.1; done
! flock -n -x "$lock" true || fail "flock(1) did not take the lock"
apply 3 "$RP_PIN" "$RP_IF_A" > "$RP_TMP/out" 2>&1
rc=$?
[ $rc = 124 ] || fail "apply did not wait for the lock (exit $rc): $(cat "$RP_TMP/out")"
ok "an apply waits while another writer holds the pin dir's lock"
apply 60 "$PIN2" "$IF_C" > "$RP_TMP/out" 2>&1 || fail "apply of another pin dir: $(cat "$RP_TMP/out")"
ok "an instance with another pin dir applies meanwhile"
kill $HOLDER; wait $HOLDER 2>/dev/null
apply 60 "$RP_PIN" "$RP_IF_A" > "$RP_TMP/out" 2>&1 || fail "apply after the lock was released: $(cat "$RP_TMP/out")"
ok "the apply goes through once the lock is free"

in_a "$RAMPART" --pin-dir "$RP_PIN" unload > /dev/null || fail "unload"
[ ! -e "$lock" ] || fail "unload left the lock file $lock"
apply 60 "$RP_PIN" "$RP_IF_A" > /dev/null || fail "apply after unload"
[ -e "$lock" ] || fail "no lock file after a new apply"
ok "unload removes the lock file; the next apply makes it again"
echo PASS
