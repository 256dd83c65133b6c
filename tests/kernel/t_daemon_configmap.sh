#!/usr/bin/env bash
# rampart daemon follows a Kubernetes ConfigMap volume: the kubelet writes
# each new version into a fresh hidden directory, then swaps the `..data`
# symlink onto it with one rename; the policy file is a symlink through
# `..data`.  The test builds that layout and does the kubelet's steps (the
# new file written slowly, in two halves with a pause longer than the
# daemon's debounce): one reload per swap, each applying the complete new
# version, never the half-written one.  Then a plain symlink to a file in
# another directory: an editor's write-and-rename there is followed too.
set -u
RP_ID=${RP_ID:-cm$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

VOL=$RP_TMP/volume   # what the kubelet mounts at /etc/rampart
mkdir -p "$VOL"
version() { # N: the policy of ConfigMap version N (allows port 9000+N)
	printf 'table root default deny {\n    allow out\n    allow in proto tcp local port %d\n}\n' $((9000 + $1))
}
# kubelet N: publish version N like the kubelet's atomic writer
kubelet() {
	python3 - "$VOL" "$(version "$1")" "$1" <<'PY'
import os, sys, time
vol, text, n = sys.argv[1], sys.argv[2] + "\n", int(sys.argv[3])
ts = "..2025_01_01_00_00_%02d.%09d" % (n, 1000 + n)
os.mkdir(os.path.join(vol, ts))
with open(os.path.join(vol, ts, "policy.rules"), "w") as f:
    half = len(text) // 2              # `table root default deny {` and part of a rule
    f.write(text[:half]); f.flush()
    time.sleep(0.7)                    # longer than the daemon's 300 ms debounce
    f.write(text[half:])
old = os.readlink(os.path.join(vol, "..data")) if os.path.islink(os.path.join(vol, "..data")) else None
os.symlink(ts, os.path.join(vol, "..data_tmp"))
os.rename(os.path.join(vol, "..data_tmp"), os.path.join(vol, "..data"))
if not os.path.lexists(os.path.join(vol, "policy.rules")):
    os.symlink("..data/policy.rules", os.path.join(vol, "policy.rules"))
if old:
    import shutil; shutil.rmtree(os.path.join(vol, old))
PY
}
applied() { grep -c "applied $VOL/policy.rules" "$RP_TMP/daemon.err"; }
wait_applied() { # N
	for _ in $(seq 300); do [ "$(applied)" -ge "$1" ] && return 0; sleep 0.1; done
	fail "expected $1 applies: $(cat "$RP_TMP/daemon.err")"
}
sha12() { version "$1" | sha256sum | cut -c1-12; }

kubelet 0
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$VOL/policy.rules" --iface "$RP_IF_A" \
	> "$RP_TMP/daemon.out" 2> "$RP_TMP/daemon.err"
DPID=$!
wait_applied 1
for n in 1 2 3; do
	kubelet $n
	wait_applied $((n + 1))
	sleep 0.8   # room for a second, wrong reload to show
	[ "$(applied)" = $((n + 1)) ] || fail "swap $n: $(applied) applies, want $((n + 1)): $(cat "$RP_TMP/daemon.err")"
	grep "policy file changed: applied" "$RP_TMP/daemon.err" | tail -1 | grep -q "sha256 $(sha12 $n)" ||
		fail "swap $n: applied another version: $(tail -3 "$RP_TMP/daemon.err")"
	ok "ConfigMap swap $n: one reload, version $n (sha256 $(sha12 $n))"
done
! grep -q "was not applied" "$RP_TMP/daemon.err" || fail "a half-written version was read: $(cat "$RP_TMP/daemon.err")"
ok "no half-written version was ever read"
listen in_a tcp 9003 600
listen in_a tcp 9002 600
expect open in_b tcp $RP_A4 9003
expect timeout in_b tcp $RP_A4 9002
kill -TERM $DPID; wait $DPID 2>/dev/null

# a symlink into another directory: edits of the target are followed
mkdir -p "$RP_TMP/etc" "$RP_TMP/srv"
version 4 > "$RP_TMP/srv/host.rules"
ln -s "$RP_TMP/srv/host.rules" "$RP_TMP/etc/policy.rules"
: > "$RP_TMP/daemon.err"
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$RP_TMP/etc/policy.rules" --iface "$RP_IF_A" \
	> "$RP_TMP/daemon.out" 2> "$RP_TMP/daemon.err"
DPID=$!
for _ in $(seq 300); do grep -q "start: applied" "$RP_TMP/daemon.err" && break; sleep 0.1; done
version 5 > "$RP_TMP/srv/host.rules.new" && mv "$RP_TMP/srv/host.rules.new" "$RP_TMP/srv/host.rules"
for _ in $(seq 300); do grep -q "policy file changed: applied" "$RP_TMP/daemon.err" && break; sleep 0.1; done
grep "policy file changed: applied" "$RP_TMP/daemon.err" | grep -q "sha256 $(sha12 5)" ||
	fail "edit of the symlink's target not followed: $(cat "$RP_TMP/daemon.err")"
ok "an edit of the file a symlink leads to (write and rename) is followed"
kill -TERM $DPID; wait $DPID 2>/dev/null
