#!/usr/bin/env bash
# `rampart boot --fail closed`: past the timeout the kernel keeps blocking
# new inbound traffic (no timer is armed; the datapath does not open by
# itself either), outbound keeps working; `status` says so.
set -u
RP_ID=${RP_ID:-bf$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

out=$(rp_r boot --timeout 2 --fail closed) || fail "boot: $out"
echo "$out"
echo "$out" | grep -q "keeps blocking" || fail "boot output: $out"
rp_r --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["boot"]["after_timeout"] == "closed", d["boot"]
' || fail "status does not say fail closed"
[ "$(rp_boot_timer_field armed_ns)" = 0 ] || fail "a timer was armed with --fail closed"
listen in_a tcp 8080 600
listen in_b tcp 7000 600
sleep 2.5
expect_mode boot boot
expect timeout in_b tcp $RP_A4 8080    # packets after the deadline do not open it
expect timeout in_b tcp $RP_A6 8080
ping_expect lost in_b $RP_A4
expect open in_a tcp $RP_B4 7000
sleep 1
expect_mode boot boot
rp_r status | grep -q "keeps blocking" || fail "status text: $(rp_r status)"
ok "still boot after the timeout with --fail closed"

# usage errors
rp_r boot --fail maybe >/dev/null 2>&1; [ $? = 2 ] || fail "--fail maybe should be a usage error"
rp_r boot --timeout x >/dev/null 2>&1; [ $? = 2 ] || fail "--timeout x should be a usage error"
ok "bad --fail / --timeout: exit 2"
echo PASS
