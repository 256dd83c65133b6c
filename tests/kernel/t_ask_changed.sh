#!/usr/bin/env bash
# A changed program is asked about again (issue 10, option app-changed):
# an approved application (a copy of python3 running app.py) connects as
# its rules allow; its file is rewritten in place; with `app-changed ask`
# and the JSON agent connected its next connect raises an "app-changed"
# question that names the change (old and new SHA-256, file time), held
# until the answer: allow re-approves it (the connection completes, the
# next one is not asked about).  With `app-changed deny` the changed
# program's rules stop matching it (EPERM) until `apply` approves it again,
# as they do for a new file renamed over its path (an upgrade).
set -u
RP_ID=${RP_ID:-ac$$}
. "$(dirname "$0")/ask_lib.sh"
ask_begin
app_copy app-x
X=$RP_TMP/app-x

policy() { # policy ask|deny
	cat > "$RP_TMP/policy.rules" <<P
option app-changed $1
apps web = { $X }
table root default deny {
    allow event network
    allow out app @web proto tcp remote port 8080
}
P
}
policy ask
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
listen in_b tcp 8080

ask_agent_fifo

app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
[ -s "$RP_TMP/agent.out" ] && fail "a question for an unchanged program: $(cat "$RP_TMP/agent.out")"
old=$(sha256sum "$X" | cut -d' ' -f1)

# rewritten in place (same inode, new content): asked about
printf '\n' >>"$X"
new=$(sha256sum "$X" | cut -d' ' -f1)
# held until the answer: the SYN retransmissions (1 s, 3 s, 7 s) carry it
APP_CONNECT_TIMEOUT=8 app_run "$RP_CG/a" app-x connect tcp $RP_B4 8080 >"$RP_TMP/c1" &
CPID=$!
q=$(ask_next_question)
[ -n "$q" ] || fail "no question for the changed program"
echo "question: $q"
[ "$($PY -c "import json,sys; d=json.loads(sys.argv[1]); print((d['event'], d['app'], d['changed']['old_sha256'], d['changed']['new_sha256']))" "$q")" = \
	"('app-changed', '$X', '$old', '$new')" ] || fail "the question does not name the change: $q"
id=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['id'])" "$q")
sleep 0.3
echo "{\"id\": $id, \"verdict\": \"allow\"}" >&7
wait $CPID
[ "$(cut -d' ' -f1 "$RP_TMP/c1")" = open ] || fail "re-approved: the held connect did not complete: $(cat "$RP_TMP/c1")"
ok "changed in place: asked (old and new SHA-256), allow re-approved it: $(cat "$RP_TMP/c1")"
app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
[ "$(grep -c '"event"' "$RP_TMP/agent.out")" = 1 ] || fail "asked again after the re-approval"
ok "re-approved: not asked again"

# app-changed deny: its rules stop matching until apply
policy deny
out=$(rp_apply "$RP_TMP/policy.rules") || fail "apply: $out"
app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
printf '\n' >>"$X"
app_expect eperm "$RP_CG/a" app-x connect tcp $RP_B4 8080
out=$(rp_apply "$RP_TMP/policy.rules") || fail "apply: $out"
app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
ok "app-changed deny: refused after the change, allowed again after apply"

# an upgrade: a new file renamed over the path (another inode).  The path
# keeps naming the application (docs/sockets.md), the new file is a change
mv "$X" "$X.old"
cp "$X.old" "$X"
printf '\n' >>"$X"
app_expect eperm "$RP_CG/a" app-x connect tcp $RP_B4 8080
out=$(rp_apply "$RP_TMP/policy.rules") || fail "apply: $out"
app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
ok "app-changed deny: a new file at the path refused, allowed again after apply"
echo PASS
