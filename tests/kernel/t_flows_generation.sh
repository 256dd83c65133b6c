#!/usr/bin/env bash
# `rampart flows` names the rule that allowed a flow in the policy that
# judged it, not the rule that has the same slot in the policy in force:
# each flow records its generation (ct_value.rule_gen), the conntrack
# tables outlive `apply`, and the loader keeps the rule metadata of the
# generation before (DIR/maps/prev-rp_rules).
#  - a TCP stream allowed by v1's "allow in proto tcp local port 9000"
#    (slot 0): `flows` shows v1.rules:2 [root], --json generation 1 and
#    "earlier_policy": false;
#  - after `apply` of v2, whose slot 0 is a deny rule: the stream still
#    flows; `flows` shows v1.rules:2 [root] marked "(earlier policy,
#    generation 1)", --json the v1 rule and its text, "earlier_policy": true;
#  - after a third apply: "a rule of an earlier policy (generation 1)",
#    --json "rule": null, "generation": 1.
# Real traffic from the peer namespace.
set -u
RP_ID=${RP_ID:-fg$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

cat > "$RP_TMP/v1.rules" <<P
table root default deny {
    allow in proto tcp local port 9000
}
P
cat > "$RP_TMP/v2.rules" <<P
table root default deny {
    deny in proto tcp local port 9000
    allow in proto tcp local port 8080
}
P
cat > "$RP_TMP/v3.rules" <<P
table root default deny {
    allow in proto tcp local port 8081
}
P
apply() { out=$(rp_apply "$RP_TMP/$1.rules" --iface "$RP_IF_A") || fail "apply $1: $out"; }
gen() { rp_r status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

# row: the `rampart flows` line of the stream (peer -> protected host port 9000)
row() {
	rp_r flows > "$RP_TMP/flows.txt" || fail "rampart flows"
	grep -F "$RP_B4:" "$RP_TMP/flows.txt" | grep -F "$RP_A4:9000" | head -1
}
# js KEY...: those fields of the stream's entry in `rampart flows --json`, one a line
js() {
	rp_r flows --json > "$RP_TMP/flows.json" || fail "rampart flows --json"
	python3 - "$RP_TMP/flows.json" "$@" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["reply"].get("port") == 9000:
        for k in sys.argv[2:]:
            print(f[k])
        break
else:
    print("no flow to port 9000")
PY
}

apply v1
g1=$(gen)
[ "$g1" = 1 ] || fail "first apply: generation $g1, expected 1"
rp_bg in_a timeout 60 $RP_TRAFFIC stream-server 9000 50 > "$RP_TMP/server.count"
rp_wait_port $RP_NS_A 9000 || fail "stream server in A"
# 2 MB over 20 s: still sending while the three applies below run
rp_bg in_b timeout 60 $RP_TRAFFIC stream-client $RP_A4 9000 2000000 20 > "$RP_TMP/client.out"
client=$!
sleep 1

r=$(row)
echo "$r" | grep -q "established.* $RP_TMP/v1.rules:2 \[root\]$" || fail "under v1: $(cat "$RP_TMP/flows.txt")"
[ "$(js rule generation earlier_policy text | paste -sd'|')" = "$RP_TMP/v1.rules:2|1|False|allow in proto tcp local port 9000" ] ||
	fail "under v1 (--json): $(cat "$RP_TMP/flows.json")"
echo "  $r"
ok "under v1: $RP_TMP/v1.rules:2 [root], generation 1"

apply v2
[ "$(gen)" = 2 ] || fail "second apply: generation $(gen)"
r=$(row)
echo "$r" | grep -q " $RP_TMP/v1.rules:2 \[root\] (earlier policy, generation 1)$" ||
	fail "under v2, the v1 flow: $(cat "$RP_TMP/flows.txt")"
echo "$r" | grep -q "v2.rules" && fail "under v2, the v1 flow names a rule of v2: $r"
[ "$(js rule rule_slot generation earlier_policy text | paste -sd'|')" = \
	"$RP_TMP/v1.rules:2|0|1|True|allow in proto tcp local port 9000" ] ||
	fail "under v2 (--json): $(cat "$RP_TMP/flows.json")"
echo "  $r"
ok "under v2: the v1 rule, marked (earlier policy, generation 1)"

apply v3
r=$(row)
echo "$r" | grep -q " a rule of an earlier policy (generation 1)$" ||
	fail "under v3, the v1 flow: $(cat "$RP_TMP/flows.txt")"
[ "$(js rule generation earlier_policy text | paste -sd'|')" = "None|1|True|None" ] ||
	fail "under v3 (--json): $(cat "$RP_TMP/flows.json")"
echo "  $r"
ok "under v3: a rule of an earlier policy (generation 1)"

kill -0 $client 2>/dev/null || fail "the stream ended before the third apply: $(cat "$RP_TMP/client.out")"
wait $client
[ "$(cat "$RP_TMP/client.out")" = "sent 2000000 acked 2000000" ] ||
	fail "the stream allowed by v1 broke: $(cat "$RP_TMP/client.out")"
ok "the stream allowed by v1 kept flowing through v2 and v3: every byte acknowledged"
echo PASS
