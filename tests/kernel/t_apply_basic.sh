#!/usr/bin/env bash
# `rampart apply` / `unload` on their own: exit codes and messages for the
# usual mistakes (nothing in the kernel changes), the pin layout, the
# summary and --json, gateway mode, --cgroup, conntrack-size changes, and
# unload (idempotent, refuses a directory that is not a rampart pin dir).
set -u
RP_ID=${RP_ID:-ab$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
OTHER=/sys/fs/bpf/rampart-test-$RP_ID-other
RP_CLEANUP_EXTRA="$RP_CLEANUP_EXTRA; rm -rf $OTHER"

good=$RP_TMP/good.rules
printf 'table root default deny {\n    allow out\n    allow in proto tcp local port 22\n}\n' > "$good"
printf 'table root default deny {\n    allow in proto tcp local port 99999\n}\n' > "$RP_TMP/bad.rules"

# expect_rc RC PATTERN CMD...: exit code and a message (stdout+stderr)
expect_rc() {
	local want=$1 pat=$2; shift 2
	local out rc
	out=$("$@" 2>&1); rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $out"
	echo "$out" | grep -q -- "$pat" || fail "$*: message lacks '$pat': $out"
	ok "exit $rc: $(echo "$out" | grep -m1 -- "$pat")"
}
no_pins() { [ ! -e "$RP_PIN" ] || fail "$1 left $RP_PIN behind: $(ls -R "$RP_PIN")"; }

# as nobody: a copy of the binary and the policy where nobody can read them
# (the checkout may be private)
chmod 755 "$RP_TMP"; install -m 755 "$RAMPART" "$RP_TMP/rampart"; chmod 644 "$good"
expect_rc 3 "must run as root (needs CAP_BPF and CAP_NET_ADMIN)" \
	in_a setpriv --reuid 65534 --regid 65534 --clear-groups "$RP_TMP/rampart" --pin-dir "$RP_PIN" apply "$good" --iface "$RP_IF_A"
expect_rc 2 "at most one FILE" rp_apply "$good" "$good"
expect_rc 2 "unknown option" rp_apply "$good" --ifcae x
expect_rc 2 "needs a value" rp_apply "$good" --iface
expect_rc 3 "interface \`nope0\` not found in this network namespace" rp_apply "$good" --iface nope0
no_pins "a missing interface"
expect_rc 1 "bad.rules:2:" rp_apply "$RP_TMP/bad.rules" --iface "$RP_IF_A"
expect_rc 1 "nothing was changed" rp_apply "$RP_TMP/bad.rules" --iface "$RP_IF_A"
no_pins "a broken policy"
expect_rc 1 "cannot read" rp_apply "$RP_TMP/missing.rules" --iface "$RP_IF_A"
expect_rc 3 "does not exist" rp_apply "$good" --iface "$RP_IF_A" --cgroup /rampart-no-such-cgroup-$RP_ID
expect_rc 3 "not on a bpf filesystem" in_a "$RAMPART" --pin-dir /tmp/rampart-x/y apply "$good" --iface "$RP_IF_A"
no_pins "errors"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] || fail "something got attached by a failed apply"

# a good apply: summary, pins, tc ingress on a veth (docs/datapath.md)
out=$(rp_apply "$good" --iface "$RP_IF_A") || fail "apply: $out"
echo "$out"
echo "$out" | grep -q "^applied $good (sha256 $(sha256sum "$good" | cut -c1-12)) in" || fail "summary: $out"
echo "$out" | grep -q "2 rules in 1 table, generation 1" || fail "summary counts: $out"
echo "$out" | grep -q "$RP_IF_A .*tc ingress (tcx), tc egress (tcx)" || fail "summary iface: $out"
for f in maps/rp_config maps/rp_conntrack maps/cls_actions maps/rp_rules maps/rp_policy_info \
	 links/tci-$RP_IF_A links/tc-$RP_IF_A progs/xdp progs/tc-in progs/tc; do
	[ -e "$RP_PIN/$f" ] || fail "missing pin $f"
done
[ -z "$(ls "$RP_PIN" | grep -v -x -e maps -e links -e progs)" ] || fail "stray pins: $(ls "$RP_PIN")"
ok "pins in place"
tci=$(rp_link_prog tci $RP_IF_A)
[ -n "$tci" ] && [ "$tci" = "$(bpftool -j prog show pinned "$RP_PIN/progs/tc-in" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" ] ||
	fail "tc ingress of $RP_IF_A does not run rampart_tc_ingress"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] || fail "XDP on a veth: its frames would lose their GRO size"
ok "tc ingress program $tci attached, no XDP on the veth"

# --json, replace without --iface keeps the interface, a child cgroup is noted
rp_child_cgroup app
js=$(rp_r --json apply "$good" --cgroup "$RP_CG/app") || fail "apply --json: $js"
echo "$js" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["generation"] == 2 and d["replaced"] and d["state_kept"], d
assert [i["name"] for i in d["interfaces"]] == [sys.argv[1]], d["interfaces"]
assert d["interfaces"][0]["ingress"] == "tcx" and d["interfaces"][0]["tc"] == "tcx", d
assert d["rules"] == 2 and len(d["sha256"]) == 64 and d["cgroup"] == sys.argv[2], d
assert d["socket_hooks"] == 11, d
' "$RP_IF_A" "$RP_CG/app" || fail "apply --json: $js"
ok "apply --json: generation 2, replaced, interface kept, socket hooks on the cgroup"
out=$(rp_apply "$good" --cgroup "${RP_CG#$(rp_cgroup2_mount)}/app") || fail "relative --cgroup: $out"
echo "$out" | grep -q "cgroup $RP_CG/app: 11 socket hooks switched" || fail "relative cgroup: $out"

# gateway mode: `interface wan = IF` with IF attached
printf 'interface wan = %s\ntable root default deny {\n    allow out\n    allow in on wan proto tcp local port 22\n}\n' "$RP_IF_A" > "$RP_TMP/gw.rules"
out=$(rp_apply "$RP_TMP/gw.rules") || fail "gateway apply: $out"
echo "$out" | grep -q "wan (gateway mode)" || fail "gateway mode not reported: $out"
printf 'interface wan = eth9\ntable root default deny {\n    allow in on wan\n}\n' > "$RP_TMP/gw2.rules"
out=$(rp_apply "$RP_TMP/gw2.rules" 2>&1) || fail "apply with an unattached wan: $out"
echo "$out" | grep -q "eth9 is not attached: host mode" || fail "unattached wan not noted: $out"
ok "gateway mode on with wan attached, host mode noted otherwise"

# a changed conntrack-size cannot share the table: flows are copied
printf 'option conntrack-size 4096\ntable root default deny {\n    allow out\n}\n' > "$RP_TMP/ct.rules"
rp_apply "$good" >/dev/null || fail "apply good"
in_a timeout 5 ping -c 1 -W 1 $RP_B4 >/dev/null || fail "ping out"
out=$(rp_apply "$RP_TMP/ct.rules" 2>&1) || fail "apply with a new conntrack-size: $out"
echo "$out" | grep -q "conntrack-size changed: [1-9][0-9]* flows copied" || fail "conntrack copy: $out"
ok "conntrack-size change: flows copied"

# unload: refuses a foreign directory, then removes everything, then is idempotent
mkdir -p "$OTHER/something"
expect_rc 3 "refusing to remove it" in_a "$RAMPART" --pin-dir "$OTHER" unload
[ -d "$OTHER/something" ] || fail "unload removed a foreign directory"
expect_rc 0 "unloaded $RP_PIN; detached from $RP_IF_A" rp_r unload
no_pins "unload"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] && [ ! -e "$RP_PIN" ] || fail "still attached after unload"
expect_rc 0 "nothing loaded in $RP_PIN" rp_r unload
expect_rc 0 "unloaded" rp_r status
echo PASS
