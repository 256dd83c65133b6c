#!/usr/bin/env bash
# apply over a loaded policy: interfaces added and detached by --iface; a
# switch that fails on one interface puts every interface back on the old
# programs and changes nothing; `option ingress-hook xdp` moves a veth from
# tc ingress to native XDP and back; the clsact fallback (kernels without
# tcx) attaches, replaces in place and unloads.
set -u
RP_ID=${RP_ID:-ai$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup
IF_C=rpc$RP_ID IF_D=rpd$RP_ID
ip link add "$IF_C" netns "$RP_NS_A" type veth peer name "$IF_D" netns "$RP_NS_B"
in_a ip link set "$IF_C" up; in_b ip link set "$IF_D" up

p1=$RP_TMP/p1.rules p2=$RP_TMP/p2.rules p2x=$RP_TMP/p2x.rules
printf 'table root default deny {\n    allow out\n    allow in proto tcp local port 8080\n}\n' > "$p1"
printf 'table root default deny {\n    allow out\n    allow in proto tcp local port 9090\n}\n' > "$p2"
{ echo 'option ingress-hook xdp'; cat "$p2"; } > "$p2x"
gen() { rp_r --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
pinned() { [ -e "$RP_PIN/links/$1-$2" ]; }

out=$(rp_apply "$p1" --iface "$RP_IF_A" --iface "$IF_C") || fail "apply on two: $out"
pinned tci "$IF_C" && pinned tc "$IF_C" || fail "$IF_C not attached"
ok "attached to $RP_IF_A and $IF_C"
out=$(rp_apply "$p1" --iface "$RP_IF_A") || fail "apply on one: $out"
echo "$out" | grep -q "$IF_C .*detached" || fail "detach not reported: $out"
! pinned tci "$IF_C" && ! pinned tc "$IF_C" || fail "$IF_C links still pinned"
ok "$IF_C detached by --iface $RP_IF_A alone"
[ "$(gen)" = 2 ] || fail "generation $(gen), expected 2"

# native XDP asked for: a foreign XDP program on IF_C makes attaching there
# fail, and $RP_IF_A, already moved to XDP, goes back to its tc ingress
rp_foreign_xdp in_a "$IF_C" || fail "foreign XDP program"
old_in=$(rp_link_prog tci $RP_IF_A) old_tc=$(rp_link_prog tc $RP_IF_A) foreign=$(rp_xdp_prog_id $IF_C)
out=$(rp_apply "$p2x" --iface "$RP_IF_A" --iface "$IF_C" 2>&1); rc=$?
echo "$out"
[ $rc = 3 ] || fail "attach failure: exit $rc, expected 3"
echo "$out" | grep -q "back to the policy it had" || fail "rollback not reported"
[ "$(rp_link_prog tci $RP_IF_A)" = "$old_in" ] && [ "$(rp_link_prog tc $RP_IF_A)" = "$old_tc" ] ||
	fail "$RP_IF_A not back on its old programs"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] && ! pinned xdp "$RP_IF_A" || fail "XDP left on $RP_IF_A"
[ "$(rp_xdp_prog_id $IF_C)" = "$foreign" ] || fail "the foreign program on $IF_C was touched"
[ "$(gen)" = 2 ] || fail "generation changed to $(gen) by a failed apply"
[ -z "$(ls "$RP_PIN" | grep -v -x -e maps -e links -e progs)" ] || fail "leftover pins: $(ls "$RP_PIN")"
[ -z "$(ls "$RP_PIN/links" | grep "$IF_C")" ] || fail "links of $IF_C pinned"
listen in_a tcp 8080; listen in_a tcp 9090
expect open in_b tcp $RP_A4 8080       # p1 still in force
expect timeout in_b tcp $RP_A4 9090
ok "failed switch rolled back: old programs, old policy, nothing else changed"
in_a ip link set dev "$IF_C" xdp off

# option ingress-hook xdp on a veth: native XDP replaces tc ingress, and back
out=$(rp_apply "$p2x" --iface "$RP_IF_A") || fail "xdp apply: $out"
echo "$out" | grep -q "$RP_IF_A .*xdp native, tc egress (tcx)" || fail "not native XDP: $out"
[ "$(rp_xdp_prog_id $RP_IF_A)" = "$(rp_link_prog xdp $RP_IF_A)" ] && ! pinned tci "$RP_IF_A" ||
	fail "XDP not in place of tc ingress"
expect open in_b tcp $RP_A4 9090
expect timeout in_b tcp $RP_A4 8080
out=$(rp_apply "$p2" --iface "$RP_IF_A") || fail "back to auto: $out"
[ -z "$(rp_xdp_prog_id $RP_IF_A)" ] && pinned tci "$RP_IF_A" && ! pinned xdp "$RP_IF_A" ||
	fail "XDP not replaced by tc ingress: $out"
expect open in_b tcp $RP_A4 9090
ok "ingress-hook xdp: native XDP on the veth, then tc ingress again"

# tc through clsact filters
rp_r unload >/dev/null || fail "unload"
RAMPART_TC_ATTACH=clsact rp_apply "$p1" --iface "$RP_IF_A" > "$RP_TMP/out" || fail "clsact apply: $(cat "$RP_TMP/out")"
grep -q "tc ingress (clsact), tc egress (clsact)" "$RP_TMP/out" || fail "not clsact: $(cat "$RP_TMP/out")"
pinned tcfi "$RP_IF_A" && pinned tcf "$RP_IF_A" || fail "no clsact marker pins"
filters() { in_a tc filter show dev "$RP_IF_A" "$1" | grep -o 'id [0-9]*' | head -1; }
f1=$(filters egress) i1=$(filters ingress)
[ -n "$f1" ] && [ -n "$i1" ] || fail "no clsact filters"
expect open in_b tcp $RP_A4 8080
out=$(rp_apply "$p2") || fail "clsact replace: $out"
f2=$(filters egress) i2=$(filters ingress)
[ -n "$f2" ] && [ "$f1" != "$f2" ] && [ -n "$i2" ] && [ "$i1" != "$i2" ] ||
	fail "clsact filters not replaced ($f1 -> $f2, $i1 -> $i2)"
[ "$(in_a tc filter show dev "$RP_IF_A" egress | grep -c 'id [0-9]')" = 1 ] || fail "more than one filter"
expect open in_b tcp $RP_A4 9090       # p2 in force
expect timeout in_b tcp $RP_A4 8080
ok "clsact filters replaced in place ($f1 -> $f2, $i1 -> $i2)"
rp_r unload >/dev/null || fail "unload"
[ -z "$(in_a tc filter show dev "$RP_IF_A" egress)$(in_a tc filter show dev "$RP_IF_A" ingress)" ] ||
	fail "clsact filter left after unload"
ok "clsact filters removed by unload"
echo PASS
