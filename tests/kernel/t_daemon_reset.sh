#!/usr/bin/env bash
# `rampart reset`: the shipped default policy replaces the active policy
# file (the old one kept as FILE.bak-TIMESTAMP) and is applied; the default
# denies new inbound and allows outbound.
set -u
RP_ID=${RP_ID:-dr$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

POL=$RP_TMP/etc/policy.rules
mkdir -p "$RP_TMP/etc"
printf 'table root default allow {\n}\n' > "$POL"
rp_apply "$POL" --iface "$RP_IF_A" >/dev/null || fail "apply"
listen in_a tcp 8080 600
listen in_b tcp 7000 600
expect open in_b tcp $RP_A4 8080

out=$(rp_r reset --policy "$POL") || fail "reset: $out"
echo "$out"
cmp -s "$POL" "$RP_ROOT/policy/default.rules" || fail "the policy file is not the default policy"
bak=$(ls "$POL".bak-* 2>/dev/null | head -1)
[ -n "$bak" ] || fail "no backup next to $POL"
grep -q "default allow" "$bak" || fail "the backup does not hold the old policy"
ok "policy file reset, old one kept as $(basename "$bak")"
expect_mode enforcing apply
expect timeout in_b tcp $RP_A4 8080
expect open in_a tcp $RP_B4 7000
rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["policy"]["file"].endswith("/etc/policy.rules"), d["policy"]
' || fail "status does not show the reset policy"
rp_r reset --bogus >/dev/null 2>&1; [ $? = 2 ] || fail "reset --bogus should be a usage error"
echo PASS
