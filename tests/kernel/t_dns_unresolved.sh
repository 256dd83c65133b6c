#!/usr/bin/env bash
# Boot never opens because of DNS (issue 9, item 8): boot protection with a
# short timeout, then `rampart daemon` applies a policy naming a host that
# does not resolve.  The apply succeeds (mode enforcing, the boot timer
# gone), the name matches nothing and is listed by `check` and `status`;
# once the name resolves, the daemon applies the policy again by itself
# and the rule naming it works.  The daemon and `check` run with a private
# /etc/hosts and /etc/resolv.conf (a mount namespace of their own).
set -u
RP_ID=${RP_ID:-dn$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

NAME=peer-$RP_ID.invalid
printf '127.0.0.1 localhost\n' >"$RP_TMP/hosts"
printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n' >"$RP_TMP/resolv.conf"
# in_dns CMD...: CMD in the protected namespace with the private files
in_dns() {
	nsenter --net=/run/netns/$RP_NS_A unshare --mount sh -c \
		'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && shift && exec "$@"' \
		sh "$RP_TMP" "$@"
}
POL=$RP_TMP/policy.rules
cat >"$POL" <<P
table root default deny {
    allow out proto tcp remote $NAME port 8090
    allow out proto tcp remote ! { $NAME } port 8091
    allow in proto tcp local port 8080
}
P

out=$(in_dns "$RAMPART" check "$POL" 2>&1) || fail "check: $out"
echo "$out" | grep -q "unresolved: $NAME" || fail "check does not list $NAME as unresolved: $out"
ok "check lists $NAME as unresolved"

out=$(rp_r boot --iface "$RP_IF_A" --timeout 4) || fail "boot: $out"
expect_mode boot boot
nsenter --net=/run/netns/$RP_NS_A unshare --mount sh -c \
	'mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && shift && exec "$@"' \
	sh "$RP_TMP" "$RAMPART" --pin-dir "$RP_PIN" daemon --policy "$POL" --iface "$RP_IF_A" --resolve-interval 1 \
	>"$RP_TMP/daemon.out" 2>"$RP_TMP/daemon.err" &
RP_BG_PIDS="$RP_BG_PIDS $!"
daemon_wait_started "$RP_TMP/daemon.err"
expect_mode enforcing daemon
grep -q "do not resolve.*$NAME" "$RP_TMP/daemon.err" || fail "the daemon did not report $NAME: $(cat "$RP_TMP/daemon.err")"
un=$(rp_r --json status | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["policy"]["unresolved"]))')
[ "$un" = "$NAME" ] || fail "status --json unresolved: '$un'"
rp_r status | grep -q "unresolved: $NAME" || fail "status does not list $NAME"
ok "status lists $NAME as unresolved"

for p in 8080 8090 8091; do listen in_b tcp $p 60; done
listen in_a tcp 8080 60
sleep 5 # past the boot timeout: nothing opened
expect_mode enforcing daemon
expect open in_b tcp $RP_A4 8080
expect timeout in_b tcp $RP_A4 8081
expect timeout in_a tcp $RP_B4 8090 # the name matches nothing yet
expect timeout in_a tcp $RP_B4 8091 # `! {name}` unresolved: the rule matches nothing

# the name resolves: the daemon applies the policy again by itself
printf '%s %s\n' "$RP_B4" "$NAME" >>"$RP_TMP/hosts"
for _ in $(seq 300); do
	grep -q "host names resolve now: applied" "$RP_TMP/daemon.err" && break
	sleep 0.1
done
grep -q "host names resolve now: applied" "$RP_TMP/daemon.err" || fail "no re-apply: $(cat "$RP_TMP/daemon.err")"
ok "the daemon applied the policy again once $NAME resolved"
expect open in_a tcp $RP_B4 8090
un=$(rp_r --json status | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["policy"]["unresolved"]))')
[ -z "$un" ] || fail "still unresolved: '$un'"
ok "nothing unresolved any more"

rp_kill_bg
rp_r unload >/dev/null || fail "unload"
echo "PASS t_dns_unresolved"
