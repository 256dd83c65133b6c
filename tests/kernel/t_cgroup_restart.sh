#!/usr/bin/env bash
# Cgroup rules follow the path (issue 9, item 5): a cgroup re-created at the
# same path (a systemd service restart: rmdir + mkdir, a new cgroup id) and
# a cgroup created after apply at a named path are judged by the rules that
# name the path, at their first socket call - without a re-apply and
# without `rampart daemon` (the socket hooks resolve a cgroup id they have
# not seen by its path, docs/sockets.md "Cgroups follow their path"), and
# the same with the daemon running.  deny and allow both follow; `status`
# says which named cgroups were re-created or created since apply.  Real
# connect() calls to TCP servers in the peer namespace, IPv4 and IPv6.
set -u
RP_ID=${RP_ID:-cr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/app_lib.sh"
rp_setup
rp_child_cgroup svc
mkdir "$RP_CG/ok" "$RP_CG/plain"
CGREL=${RP_CG#$(rp_cgroup2_mount)}
app_copy client

# port 9100: open to all but the denied cgroups (a deny that did not
# follow would let them through); port 9101: closed to all but the allowed
# ones (an allow that did not follow would shut them out)
cat > "$RP_TMP/policy.rules" <<P
table root default deny {
    allow event network
    deny out cgroup $CGREL/svc proto tcp remote port 9100
    deny out cgroup $CGREL/later proto tcp remote port 9100
    allow out proto tcp remote port 9100
    allow out cgroup $CGREL/ok proto tcp remote port 9101
    allow out cgroup $CGREL/later-ok proto tcp remote port 9101
    allow out cgroup $CGREL/plain/deep proto tcp remote port 9101
}
P
out=$(rp_apply "$RP_TMP/policy.rules" --iface "$RP_IF_A" --cgroup "$RP_CG" 2>&1) || fail "apply: $out"
echo "$out"
echo "$out" | grep -q "cgroup $CGREL/later does not exist" || fail "apply does not say $CGREL/later is missing"
listen in_b tcp 9100 60 || fail "server 9100"
listen in_b tcp 9101 60 || fail "server 9101"

both() { # WANT CGROUP PORT: IPv4 and IPv6
	app_expect "$1" "$RP_CG/$2" client connect tcp $RP_B4 "$3"
	app_expect "$1" "$RP_CG/$2" client connect tcp $RP_B6 "$3"
}
both eperm svc 9100
both open ok 9101
both open plain 9100 # no rule names it
both eperm plain 9101

id_of() { stat -c %i "$RP_CG/$1"; }
# restart: the same paths, new cgroup ids
old_svc=$(id_of svc) old_ok=$(id_of ok)
rmdir "$RP_CG/svc" "$RP_CG/ok"
mkdir "$RP_CG/svc" "$RP_CG/ok"
[ "$(id_of svc)" != "$old_svc" ] && [ "$(id_of ok)" != "$old_ok" ] || fail "re-created cgroups kept their ids"
both eperm svc 9100
both open ok 9101
ok "re-created cgroups (ids $old_svc -> $(id_of svc), $old_ok -> $(id_of ok)) keep their rules"

# created after apply at a named path, and below a named path's unnamed parent
mkdir "$RP_CG/later" "$RP_CG/later-ok" "$RP_CG/plain/deep"
both eperm later 9100
both open later-ok 9101
both open plain/deep 9101
ok "cgroups created after apply at named paths are covered"

# a name that only starts like a named one is another cgroup; a child of a
# re-created one has its parent's rules (the nearest named ancestor)
mkdir "$RP_CG/later-ok2" "$RP_CG/svc/child"
both open later-ok2 9100
both eperm later-ok2 9101
both eperm svc/child 9100

st=$(rp_r status 2>&1) || fail "status: $st"
echo "$st" | grep -q "$CGREL/svc .*RE-CREATED since apply" || fail "status does not say svc was re-created"
echo "$st" | grep -q "$CGREL/later .*created since apply" || fail "status does not say later was created"

# the same under `rampart daemon` (its start is a new apply: a fresh id
# cache), restarted twice: nothing to wait for
rp_bg in_a "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$RP_TMP/policy.rules" \
	>/dev/null 2>"$RP_TMP/daemon.err"
for _ in $(seq 200); do
	grep -q "serving the log" "$RP_TMP/daemon.err" && break
	sleep 0.1
done
grep -q "serving the log" "$RP_TMP/daemon.err" || fail "daemon did not start: $(cat "$RP_TMP/daemon.err")"
for round in 1 2; do
	rmdir "$RP_CG/svc/child" 2>/dev/null
	rmdir "$RP_CG/svc" "$RP_CG/ok"
	mkdir "$RP_CG/svc" "$RP_CG/ok"
	both eperm svc 9100
	both open ok 9101
done
ok "re-created twice with the daemon running: the rules still apply at once"

# status after the daemon's apply: re-created since then
st=$(rp_r status 2>&1) || fail "status: $st"
echo "$st" | grep "$CGREL"
echo "$st" | grep -q "$CGREL/svc .*RE-CREATED since apply" || fail "status does not say svc was re-created"
echo "$st" | grep -q "$CGREL/ok .*RE-CREATED since apply" || fail "status does not say ok was re-created"

echo PASS
