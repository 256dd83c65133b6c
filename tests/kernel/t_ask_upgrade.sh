#!/usr/bin/env bash
# An approved program upgraded (issue 10, option app-changed ask): a new
# file written next to it and renamed over its path (as dpkg and most
# installers do; another inode).  The path keeps naming the application
# (docs/sockets.md), so with `app-changed ask` and the JSON agent connected
# its next connect raises an "app-changed" question that names the change
# (old and new SHA-256), held until the answer: allow re-approves the new
# file (the connection completes), and it is not asked about again.
# (t_ask_changed.sh: a rewrite in place under ask, both under deny.)
set -u
RP_ID=${RP_ID:-au$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
. "$(dirname "$0")/ask_lib.sh"
ask_begin
app_copy app-x
X=$RP_TMP/app-x

cat > "$RP_TMP/policy.rules" <<P
option app-changed ask
apps web = { $X }
table root default deny {
    allow event network
    allow out app @web proto tcp remote port 8080
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG") || fail "apply: $out"
listen in_b tcp 8080
ask_agent_fifo

app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
[ "$(ask_questions)" = 0 ] || fail "a question for an unchanged program: $(cat "$RP_TMP/agent.out")"
old=$(sha256sum "$X" | cut -d' ' -f1)
ino_old=$(stat -c %i "$X")

# the upgrade: a new file next to it, renamed over the path
cp "$X" "$X.new"
printf '\n' >>"$X.new"
mv "$X.new" "$X"
new=$(sha256sum "$X" | cut -d' ' -f1)
[ "$(stat -c %i "$X")" != "$ino_old" ] || fail "the rename kept the inode"
# held until the answer: the SYN retransmissions (1 s, 3 s, 7 s) carry it
APP_CONNECT_TIMEOUT=8 app_run "$RP_CG/a" app-x connect tcp $RP_B4 8080 >"$RP_TMP/c1" &
CPID=$!
q=$(ask_next_question)
[ -n "$q" ] || fail "no question for the upgraded program"
echo "question: $q"
[ "$(ask_jq "$q" "(d['event'], d['app'], d['changed']['old_sha256'], d['changed']['new_sha256'])")" = \
	"('app-changed', '$X', '$old', '$new')" ] || fail "the question does not name the change: $q"
ASK_ID=$(ask_jq "$q" "d['id']")
sleep 0.3
ask_applied '"verdict": "allow"'
wait $CPID
[ "$(cut -d' ' -f1 "$RP_TMP/c1")" = open ] || fail "re-approved: the held connect did not complete: $(cat "$RP_TMP/c1")"
ok "renamed over the path: asked (old and new SHA-256), allow re-approved it: $(cat "$RP_TMP/c1")"
app_expect open "$RP_CG/a" app-x connect tcp $RP_B4 8080
[ "$(ask_questions)" = 1 ] || fail "asked again after the re-approval: $(cat "$RP_TMP/agent.out")"
ok "re-approved: not asked again"
echo PASS
