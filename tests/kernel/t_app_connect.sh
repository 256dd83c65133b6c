#!/usr/bin/env bash
# Per-application, per-cgroup and per-user rules at the socket (issue 4):
# real programs (copies of python3, each its own executable) in child
# cgroups of the test's cgroup, rampart applied with --cgroup on that
# cgroup.  connect() allowed on some ports, rejected (ECONNREFUSED at once)
# or denied (EPERM at once) on others; an application with no rule denied;
# unconnected UDP sendto allowed/denied per application; two sibling
# cgroups with different rules; a uid rule; an allowed connection passes
# the packet path without a second judgement, while the same program
# outside the hooked cgroup is judged by the packet rules only; re-apply
# switches the hooks in place; unload detaches them.
set -u
RP_ID=${RP_ID:-ac$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup a
mkdir -p "$RP_CG/s1" "$RP_CG/s2" "$RP_CG/u"
app_copy app-a; app_copy app-b; app_copy app-u
CGREL=${RP_CG#$(rp_cgroup2_mount)}
A=$RP_TMP/app-a B=$RP_TMP/app-b

cat > "$RP_TMP/policy.rules" <<P
apps web = { $A }
table root default deny {
    allow event network
    allow out app @web proto tcp remote port 8080
    reject out app @web proto tcp remote port 8081
    allow out app @web proto udp remote port 5353
    allow out cgroup $CGREL/s1 proto tcp remote port 8082
    reject out cgroup $CGREL/s2 proto tcp remote port 8082
    allow out user 4242 proto tcp remote port 8083
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
echo "$out"
echo "$out" | grep -q "cgroup $RP_CG: 11 socket hooks attached" || fail "hooks not reported: $out"
for h in network connect4 connect6 sendmsg4 sendmsg6 bind4 bind6 release recvmsg4 recvmsg6; do
	[ -e "$RP_PIN/links/cg-$h" ] || fail "link pin cg-$h missing"
done
bpftool cgroup show "$RP_CG" | grep -q connect4 || fail "connect4 not attached to $RP_CG"
root=$(rp_cgroup2_mount)
bpftool cgroup show "$root" | grep -q rp_connect4 && fail "hooks attached to the cgroup2 root"

for p in 8080 8081 8082 8083 8084; do listen in_b tcp $p; done
for p in 5353 5354; do listen in_b udp $p; done

# one application: allowed, rejected at once, denied at once
for H in $RP_B4 $RP_B6; do
	app_expect open "$RP_CG/a" app-a connect tcp $H 8080
	app_expect refused "$RP_CG/a" app-a connect tcp $H 8081
	app_expect eperm "$RP_CG/a" app-a connect tcp $H 8084
done
# an application with no rule: denied
app_expect eperm "$RP_CG/a" app-b connect tcp $RP_B4 8080
app_expect eperm "$RP_CG/a" app-b connect tcp $RP_B6 8080
# UDP per application: connected and unconnected (sendto)
app_expect open "$RP_CG/a" app-a connect udp $RP_B4 5353
app_expect open "$RP_CG/a" app-a sendto $RP_B4 5353
app_expect open "$RP_CG/a" app-a sendto $RP_B6 5353
app_expect eperm "$RP_CG/a" app-a sendto $RP_B4 5354
app_expect eperm "$RP_CG/a" app-b sendto $RP_B4 5353
app_expect eperm "$RP_CG/a" app-b connect udp $RP_B4 5353
# two sibling cgroups, the same program, different rules
app_expect open "$RP_CG/s1" app-b connect tcp $RP_B4 8082
app_expect refused "$RP_CG/s2" app-b connect tcp $RP_B4 8082
app_expect eperm "$RP_CG/a" app-b connect tcp $RP_B4 8082
# a uid rule
out=$(in_cg "$RP_CG/u" setpriv --reuid 4242 --regid 4242 --clear-groups timeout 10 \
	"$RP_TMP/app-u" "$RP_APP_PY" connect tcp $RP_B4 8083 2>&1)
[ "${out%% *}" = open ] || fail "uid 4242 to 8083: $out"
ok "uid 4242 connect 8083 -> open"
app_expect eperm "$RP_CG/u" app-u connect tcp $RP_B4 8083   # as root: no rule

# one judgement per flow: the allowed connections passed tc egress without
# being judged again (the packet rules alone would deny them: no app there)
st=$(rp_r --json status) || fail "status: $st"
echo "$st" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["counters"]
assert c["new-judged-at-socket"] == 7, c   # the 7 connections that opened above
assert c["socket-allow"] > 0 and c["socket-deny"] >= 8 and c["socket-reject"] >= 3, c
assert d["socket_hooks"]["hooks"] == 11 and d["socket_hooks"]["cgroup"] == sys.argv[1], d["socket_hooks"]
' "$RP_CG" || fail "status counters: $st"
ok "connections allowed at the socket were not judged again on the packet path"
# the same program outside the hooked subtree is judged by the packets only
out=$(in_a timeout 10 "$A" "$RP_APP_PY" connect tcp $RP_B4 8080 2>/dev/null)
[ "${out%% *}" = timeout ] || fail "outside the cgroup: expected the SYN dropped, got $out"
ok "app-a outside $RP_CG: judged by the packet path (no app) -> timeout"

# rule counters: the deciding rules counted the socket events
rules=$(rp_r --json rules) || fail "rules: $rules"
echo "$rules" | python3 -c '
import json, sys
d = json.load(sys.stdin)
rules = d["rules"] if isinstance(d, dict) else d
by = {r["line"]: r for r in rules if r.get("line")}
assert by[4]["packets"] >= 2, by[4]   # allow 8080
assert by[5]["packets"] >= 2, by[5]   # reject 8081
' || fail "rule counters: $rules"
ok "rule counters count socket events"

# re-apply: the same links, new programs
id1=$(bpftool -j link show pinned "$RP_PIN/links/cg-connect4" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["prog_id"])')
sed -i 's/reject out app @web proto tcp remote port 8081/allow out app @web proto tcp remote port 8081/' "$RP_TMP/policy.rules"
out=$(rp_apply "$RP_TMP/policy.rules") || fail "re-apply: $out"
echo "$out" | grep -q "cgroup $RP_CG: 11 socket hooks switched" || fail "re-apply without --cgroup: $out"
id2=$(bpftool -j link show pinned "$RP_PIN/links/cg-connect4" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["prog_id"])')
[ "${id1% *}" = "${id2% *}" ] && [ "${id1#* }" != "${id2#* }" ] || fail "link not updated in place: $id1 -> $id2"
ok "re-apply switched the program of the same cgroup link ($id1 -> $id2)"
app_expect open "$RP_CG/a" app-a connect tcp $RP_B4 8081

out=$(rp_r unload) || fail "unload: $out"
bpftool cgroup show "$RP_CG" | grep -q connect4 && fail "hooks still attached after unload"
app_expect open "$RP_CG/a" app-b connect tcp $RP_B4 8080
echo PASS
