#!/usr/bin/env bash
# Atomic replace under real traffic: `apply` 5 times, alternating two
# policies, while a TCP stream runs (it completes, every byte arrives);
# an established flow survives a policy that no longer allows new ones;
# a broken policy applied over a good one exits 1 and the good one keeps
# enforcing, untouched.
set -u
RP_ID=${RP_ID:-tr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

cat > "$RP_TMP/p1.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port { 8080, 9000 }
    deny in proto tcp local port 8081
}
P
cat > "$RP_TMP/p2.rules" <<'P'
table extra {
    allow in proto tcp local port 9000
}
table root default deny {
    allow out
    jump extra
    allow in proto tcp local port 8080
    reject in proto tcp local port 8081
}
P
cat > "$RP_TMP/p3.rules" <<'P'
table root default deny {
    allow out
    allow in proto tcp local port 8080
}
P
printf 'table root default deny {\n    allow in proto tcp local port 8081\n    allow sideways\n}\n' > "$RP_TMP/broken.rules"

rp_apply "$RP_TMP/p1.rules" --iface "$RP_IF_A" || fail "first apply"
gen() { rp_r --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("generation", d.get("policy", {}).get("generation", "?")))'; }

# 1. five applies during two 6 s streams of 4 MB into the protected host,
#    one over IPv4, one over IPv6 (outbound bulk: t_traffic_bulk_out.sh)
rp_bg in_a timeout 30 $RP_TRAFFIC stream-server 9000 25 > "$RP_TMP/in.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server in A"
rp_bg in_a timeout 30 $RP_TRAFFIC stream-server 8080 25 > "$RP_TMP/in6.count"
rp_wait_port $RP_NS_A 8080 || fail "stream server in A"
rp_bg in_b timeout 30 $RP_TRAFFIC stream-client $RP_A4 9000 4000000 6 > "$RP_TMP/in.client"
cin=$!
rp_bg in_b timeout 30 $RP_TRAFFIC stream-client $RP_A6 8080 4000000 6 > "$RP_TMP/out.client"
cout=$!
sleep 0.5
for i in 1 2 3 4 5; do
	p=$RP_TMP/p$(( i % 2 + 1 )).rules
	out=$(rp_apply "$p") || fail "apply $i ($p) during the stream: $out"
	echo "$out" | grep -q "replaced the running policy atomically" || fail "apply $i: $out"
	ok "apply $i of $(basename "$p") during the stream"
	sleep 0.7
done
wait $cin; wait $cout
echo "IPv4 stream: $(cat "$RP_TMP/in.client")   IPv6 stream: $(cat "$RP_TMP/out.client")"
[ "$(cat "$RP_TMP/in.client")" = "sent 4000000 acked 4000000" ] || fail "IPv4 stream broken: $(cat "$RP_TMP/in.client")"
[ "$(cat "$RP_TMP/out.client")" = "sent 4000000 acked 4000000" ] || fail "IPv6 stream broken: $(cat "$RP_TMP/out.client")"
ok "both streams complete, every byte acknowledged"
# the last apply was p2 (i=5: 5%2+1 = 2): its reject is in force
listen in_a tcp 8081
expect refused in_b tcp $RP_A4 8081

# 2. an established connection survives a policy that denies new ones
rp_bg in_a timeout 20 $RP_TRAFFIC stream-server 9000 15 > "$RP_TMP/in2.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server in A (2)"
rp_bg in_b timeout 20 $RP_TRAFFIC stream-client $RP_A6 9000 1000000 3 > "$RP_TMP/in2.client"
c2=$!
sleep 1
rp_apply "$RP_TMP/p3.rules" >/dev/null || fail "apply p3"
listen in_a tcp 9001 600
expect timeout in_b tcp $RP_A6 9001      # new flows to other ports: denied now
wait $c2
[ "$(cat "$RP_TMP/in2.client")" = "sent 1000000 acked 1000000" ] || fail "established flow cut by the new policy: $(cat "$RP_TMP/in2.client")"
ok "established flow survived a policy that no longer allows it"

# 3. a broken policy changes nothing
before_in=$(rp_link_prog tci $RP_IF_A); before_tc=$(rp_link_prog tc $RP_IF_A)
[ -n "$before_in" ] && [ -n "$before_tc" ] || fail "cannot read the pinned links"
out=$(rp_apply "$RP_TMP/broken.rules" 2>&1); rc=$?
echo "$out"
[ $rc = 1 ] || fail "broken policy: exit $rc, expected 1"
echo "$out" | grep -q "broken.rules:3:" || fail "no file:line diagnostic"
echo "$out" | grep -q "nothing was changed" || fail "should say nothing was changed"
[ "$(rp_link_prog tci $RP_IF_A)" = "$before_in" ] || fail "tc ingress program changed by a broken policy"
[ "$(rp_link_prog tc $RP_IF_A)" = "$before_tc" ] || fail "tc program changed by a broken policy"
[ -z "$(ls "$RP_PIN" | grep -v -x -e maps -e links -e progs)" ] || fail "leftover pins: $(ls "$RP_PIN")"
expect timeout in_b tcp $RP_A4 8081      # p3 still judges: 8081 denied (broken would allow it)
listen in_a tcp 8080 600                  # (the stream server that used 8080 has ended)
expect open in_b tcp $RP_A4 8080
ok "the good policy keeps enforcing"
echo PASS
