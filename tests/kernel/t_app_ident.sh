#!/usr/bin/env bash
# Who is calling (issues 4, 9): an approved binary modified in place (same
# inode) or replaced by a new file (rename over it, as upgrades do) still
# matches - rules follow the path - and is reported by `status` and
# `check`; a denied binary replaced stays denied; a hard link of an
# approved binary elsewhere is not the application; with option
# ancestry on, a trusted program started by an untrusted one gets no
# network (socket() fails with EPERM), while started otherwise it works.
set -u
RP_ID=${RP_ID:-ai$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup a
CG=$RP_CG/a
app_copy app-r; app_copy trusted; app_copy untrusted-sh "$(readlink -f /bin/sh)"; app_copy denied
R=$RP_TMP/app-r T=$RP_TMP/trusted U=$RP_TMP/untrusted-sh
listen in_b tcp 8080 150
listen in_b tcp 8081 150

cat > "$RP_TMP/policy.rules" <<P
table root default deny {
    deny event network app $U
    allow event network
    deny out app $RP_TMP/denied
    allow out app { $R, $T } proto tcp remote port 8080
    allow out proto tcp remote port 8081
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
st=$(rp_r status) || fail "status: $st"
echo "$st" | grep -q "$R .*unchanged; approved sha256" || fail "status should list $R unchanged: $st"
app_expect open "$CG" app-r connect tcp $RP_B4 8080

# modified in place: same inode, still matches, reported
printf 'appended' >> "$R"
js=$(rp_r --json status) || fail "status --json: $js"
echo "$js" | python3 -c '
import json, sys
a = {x["path"]: x for x in json.load(sys.stdin)["apps"]}[sys.argv[1]]
assert a["state"] == "modified" and a["sha256"] != a["sha256_now"], a
' "$R" || fail "modified not reported: $js"
rp_r status | grep -q "MODIFIED in place since apply" || fail "status text: modified"
app_expect open "$CG" app-r connect tcp $RP_B4 8080
ok "modified in place: reported, still matches (same inode)"

# replaced by a new file (rename over it, as package managers do)
cp "$RP_PYTHON" "$R.new" && mv -f "$R.new" "$R"
js=$(rp_r --json status)
echo "$js" | python3 -c '
import json, sys
a = {x["path"]: x for x in json.load(sys.stdin)["apps"]}[sys.argv[1]]
assert a["state"] == "replaced", a
' "$R" || fail "replaced not reported: $js"
chk=$(in_a "$RAMPART" --pin-dir "$RP_PIN" check "$RP_TMP/policy.rules" 2>&1)
echo "$chk" | grep -q "warning: application $R REPLACED since apply" || fail "check: $chk"
app_expect open "$CG" app-r connect tcp $RP_B4 8080
ok "replaced: reported by status and check, its rules follow the path"
# a denied binary upgraded the same way stays denied (port 8081 is open to
# every other program)
app_expect open "$CG" app-r connect tcp $RP_B4 8081
app_expect eperm "$CG" denied connect tcp $RP_B4 8081
cp "$RP_PYTHON" "$RP_TMP/denied.new" && mv -f "$RP_TMP/denied.new" "$RP_TMP/denied"
app_expect eperm "$CG" denied connect tcp $RP_B4 8081
ok "a denied binary replaced by a new file: still denied"
# the approved binary hard-linked elsewhere (same inode) is another program
mkdir -p "$RP_TMP/other" && ln "$R" "$RP_TMP/other/app-r"
out=$(in_cg "$CG" timeout 10 "$RP_TMP/other/app-r" "$RP_APP_PY" connect tcp $RP_B4 8080 2>/dev/null)
[ "${out%% *}" = eperm ] || fail "hard link of the approved binary: $out"
ok "a hard link of the approved binary elsewhere: not the application -> eperm"
out=$(rp_apply "$RP_TMP/policy.rules") || fail "re-apply: $out"
app_expect open "$CG" app-r connect tcp $RP_B4 8080
rp_r --json status | python3 -c '
import json, sys
a = {x["path"]: x for x in json.load(sys.stdin)["apps"]}[sys.argv[1]]
assert a["state"] == "ok", a
' "$R" || fail "re-apply did not approve the new file"
ok "re-apply approves the new file"

# a user namespace: the same program (default: the application; with
# option separate-userns on: no application)
userns_connect() {
	in_cg "$CG" unshare --user --map-root-user timeout 10 "$R" "$RP_APP_PY" connect tcp $RP_B4 8080 2>/dev/null
}
out=$(userns_connect)
[ "${out%% *}" = open ] || fail "app-r in a user namespace (default): $out"
ok "app-r in a user namespace, default -> open"
sed -i '1i option separate-userns on' "$RP_TMP/policy.rules"
out=$(rp_apply "$RP_TMP/policy.rules") || fail "apply separate-userns: $out"
out=$(userns_connect)
[ "${out%% *}" = eperm ] || fail "app-r in a user namespace (separate-userns on): $out"
ok "app-r in a user namespace, option separate-userns on -> eperm (no application identity)"
app_expect open "$CG" app-r connect tcp $RP_B4 8080
sed -i '/^option separate-userns on$/d' "$RP_TMP/policy.rules"

# ancestry off: the untrusted shell's own sockets are denied, its child is judged alone
out=$(in_cg "$CG" "$U" -c "timeout 10 $T $RP_APP_PY connect tcp $RP_B4 8080; true" 2>/dev/null)
[ "${out%% *}" = open ] || fail "ancestry off: trusted under untrusted: $out"
ok "ancestry off: trusted program started by the untrusted shell -> open"
sed -i '1i option ancestry on' "$RP_TMP/policy.rules"
out=$(rp_apply "$RP_TMP/policy.rules") || fail "apply ancestry: $out"
out=$(in_cg "$CG" "$U" -c "timeout 10 $T $RP_APP_PY connect tcp $RP_B4 8080; true" 2>/dev/null)
[ "${out%% *}" = socket-eperm ] || fail "ancestry on: trusted under untrusted should get no network: $out"
ok "ancestry on: trusted program started by the untrusted shell -> socket() EPERM"
app_expect open "$CG" trusted connect tcp $RP_B4 8080
ok "ancestry on: the same program started otherwise -> open"
echo PASS
