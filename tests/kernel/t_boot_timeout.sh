#!/usr/bin/env bash
# Boot timeout (docs/operations.md, after Kerio): when no policy is applied in time, the
# kernel opens by itself.  No process of ours runs after `rampart boot`
# returns and no packet passes meanwhile: the bpf_timer pinned in
# rp_boot_timer writes mode open (reason boot-timeout), then traffic flows.
set -u
RP_ID=${RP_ID:-bt$$}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/traffic_lib.sh"
. "$(dirname "$0")/boot_lib.sh"
rp_setup

out=$(rp_r boot --timeout 3 --iface "$RP_IF_A") || fail "boot: $out"
echo "$out"
echo "$out" | grep -q "SK_LOOKUP" && fail "boot --iface should not hook the whole namespace: $out"
[ -e "$RP_PIN/links/sk_lookup" ] && fail "sk_lookup link pinned with --iface"
expect_mode boot boot
t0=$(date +%s.%N)
# no process of ours is left: `rampart boot` has exited
pgrep -f "build/rampart" >/dev/null && ok "(note: some other rampart runs on this machine)"
sleep 3.6
[ "$(rp_boot_timer_field opened)" = 1 ] || fail "the boot timer did not open the mode"
fired=$(rp_boot_timer_field fired_ns); armed=$(rp_boot_timer_field armed_ns)
python3 -c "import sys; d=($fired-$armed)/1e9; print('timer fired after %.2f s' % d); sys.exit(0 if 2.5 <= d <= 3.6 else 1)" ||
	fail "the timer fired at the wrong time"
ok "the kernel's timer switched boot -> open by itself"
expect_mode open boot-timeout
rp_r status | grep -q "by boot-timeout" || fail "status text does not say why: $(rp_r status)"
ok "status text says the mode changed by boot-timeout"

listen in_a tcp 8080 600
expect open in_b tcp $RP_A4 8080
expect open in_b tcp $RP_A6 8080
ping_expect ok in_b $RP_A4
ping_expect ok in_b $RP_A6

# a policy applied later still takes over
cat > "$RP_TMP/p.rules" <<'P'
table root default deny {
    allow out
}
P
out=$(rp_apply "$RP_TMP/p.rules") || fail "apply after the timeout: $out"
expect_mode enforcing apply
expect timeout in_b tcp $RP_A4 8080
echo PASS
