#!/usr/bin/env bash
# `rampart log` names the rule that judged an event in the policy it was
# judged under, not the rule that has the same slot in the policy in force
# when the log is read: each event carries its generation, the loader keeps
# the rule metadata of the generation before (DIR/maps/prev-rp_rules), and
# an event of an older generation says so.  Like `rampart flows`, an
# event of any policy but the one in force is marked as earlier.
#  - an event judged under v1, read after `apply` of v2 (a rule inserted
#    before the one that logged it): v1's FILE:LINE marked "(earlier
#    policy, generation N)" (text; --json: the rule's text and
#    "earlier_policy": true);
#  - an event judged two applies before: "a rule of an earlier policy
#    (generation N, slot S)", and --json "earlier_policy": true, rule null.
# Real traffic from the peer namespace.
set -u
RP_ID=${RP_ID:-lg$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
rp_setup

cat > "$RP_TMP/v1.rules" <<P
table root default deny {
    allow in proto tcp local port 8081 log
    allow in proto tcp local port 8080 log
}
P
cat > "$RP_TMP/v2.rules" <<P
table root default deny {
    deny in proto udp local port 9999
    allow in proto tcp local port 8081 log
    allow in proto tcp local port 8080 log
}
P
apply() { out=$(rp_apply "$RP_TMP/$1.rules" --iface "$RP_IF_A") || fail "apply $1: $out"; }
hit() { probe in_b tcp $RP_A4 8080 >/dev/null; } # judged by the 8080 rule, logged

# field FILE KEY: KEY of the logged events of port 8080, one per line
field() {
	python3 - "$1" "$2" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip():
        e = json.loads(l)
        if e["local"].get("port") == 8080:
            print(e[sys.argv[2]])
PY
}

apply v1
hit
apply v2
rp_r log > "$RP_TMP/log1.txt" || fail "rampart log"
grep -q "8080" "$RP_TMP/log1.txt" || fail "no event of port 8080: $(cat "$RP_TMP/log1.txt")"
grep -q "v1.rules:3 \[root\] (earlier policy, generation [0-9]*)" "$RP_TMP/log1.txt" ||
	fail "the event does not name v1.rules:3 of the earlier policy: $(cat "$RP_TMP/log1.txt")"
grep -q "v2.rules" "$RP_TMP/log1.txt" && fail "the v1 event names a rule of v2: $(cat "$RP_TMP/log1.txt")"
ok "an event judged under v1, read under v2: v1.rules:3 (earlier policy)"

hit
apply v1
rp_r log --json > "$RP_TMP/log2.json" || fail "rampart log --json"
[ "$(field "$RP_TMP/log2.json" rule)" = "$RP_TMP/v2.rules:4" ] ||
	fail "expected rule $RP_TMP/v2.rules:4, got: $(cat "$RP_TMP/log2.json")"
[ "$(field "$RP_TMP/log2.json" text)" = "allow in proto tcp local port 8080 log" ] ||
	fail "expected the rule's text: $(cat "$RP_TMP/log2.json")"
[ "$(field "$RP_TMP/log2.json" earlier_policy)" = True ] || fail "earlier_policy: $(cat "$RP_TMP/log2.json")"
ok "an event judged under v2, read under v1 again (--json): v2.rules:4 and its text"

hit
apply v2
apply v1
rp_r log > "$RP_TMP/log3.txt" || fail "rampart log"
grep -q "a rule of an earlier policy (generation [0-9]*, slot 1)" "$RP_TMP/log3.txt" ||
	fail "an event two policies back: $(cat "$RP_TMP/log3.txt")"
grep -q "rules:" "$RP_TMP/log3.txt" && fail "an event two policies back names a rule: $(cat "$RP_TMP/log3.txt")"
hit
apply v2
apply v1
rp_r log --json > "$RP_TMP/log4.json" || fail "rampart log --json"
[ "$(field "$RP_TMP/log4.json" earlier_policy)" = True ] && [ "$(field "$RP_TMP/log4.json" rule)" = None ] ||
	fail "an event two policies back (--json): $(cat "$RP_TMP/log4.json")"
ok "an event two policies back: a rule of an earlier policy (generation N, slot 1)"
echo PASS
