#!/usr/bin/env bash
# systemd, proven (make package-test): the package in a Debian 12 container
# booted by systemd-nspawn with systemd as PID 1, the units enabled.
#   boot 1: rampart-boot runs before network-pre.target, the daemon after it
#           applies the policy (mode enforcing); stopping rampart-shutdown by
#           hand does not lock down; `poweroff` does (ExecStop at shutdown).
#   boot 2: enforcing again; removing the package with
#           RAMPART_UNLOAD_ON_REMOVE=yes leaves no pins and no attachments.
# Safety: the container has its own network namespace (--private-network)
# with a veth pair made inside it, its own bpffs, and runs in a child
# cgroup of ours; its policy needs no socket hooks.
set -u
cd "$(dirname "$0")/../.."
. tests/package/lib.sh
DEB=${1:-$PKG_DEB}
[ -n "$DEB" ] || fail "no package: make deb"
command -v systemd-nspawn >/dev/null || { echo "systemd-nspawn missing (systemd-container)"; exit 77; }
CGMNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGMNT" ] || { echo "no cgroup2 mount"; exit 77; }
CG=$CGMNT/rampart-test-boot-$$
# on a hybrid host systemd-nspawn mirrors the container's cgroups in the
# named v1 hierarchy (name=systemd) at the same path: those go too
CGV1MNT=$(awk '$3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/ { print $2; exit }' /proc/mounts)
NSPAWN_PID=""

# rm_cgroup_tree DIR: kill what is left in DIR and its children, remove them
rm_cgroup_tree() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d | while read -r d; do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
}

boot_cleanup() {
	set +e
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID"; sleep 2; kill -TERM "$NSPAWN_PID" 2>/dev/null; sleep 1
		kill -KILL "$NSPAWN_PID" 2>/dev/null
	fi
	rm_cgroup_tree "$CG"
	[ -n "$CGV1MNT" ] && rm_cgroup_tree "$CGV1MNT/${CG#"$CGMNT"/}"
	pkg_cleanup
}
trap boot_cleanup EXIT

pkg_base
pkg_overlay boot
cp "$DEB" "$ROOT/root/rampart.deb"
in_root apt-get update -qq > "$PKG_TMP/apt.log" 2>&1 &&
	in_root apt-get install -y -qq --no-install-recommends /root/rampart.deb > "$PKG_TMP/apt.log" 2>&1 ||
	fail "install: $(tail "$PKG_TMP/apt.log")"
# a policy that needs no socket hooks, and an interface for the packet hooks
cat > "$ROOT/etc/rampart/policy.rules" <<'P'
table root default deny {
    allow on lo
    allow out
    deny in log
}
P
cat > "$ROOT/etc/systemd/system/rampart-test-veth.service" <<'U'
[Unit]
Description=test fixture: a veth pair for rampart to protect
DefaultDependencies=no
Before=rampart-boot.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/sbin/ip link add rpt0 type veth peer name rpt1
ExecStart=/sbin/ip link set rpt0 up
ExecStart=/sbin/ip link set rpt1 up
[Install]
WantedBy=sysinit.target
U
mkdir -p "$ROOT/var/log/journal"
in_root systemctl enable rampart-test-veth.service rampart-boot.service rampart.service rampart-shutdown.service \
	> /dev/null 2>&1 || fail "systemctl enable"
mkdir -p "$CG"

# boot: nspawn in our child cgroup; PID 1 of the container is systemd
boot() {
	: > "$PKG_TMP/console.log"
	( echo $BASHPID > "$CG/cgroup.procs" && exec systemd-nspawn -q --register=no --keep-unit \
		--private-network --console=pipe -D "$ROOT" --tmpfs=/sys/fs/bpf \
		--capability=CAP_BPF,CAP_PERFMON,CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_SYS_RESOURCE \
		--system-call-filter='bpf perf_event_open' --rlimit=RLIMIT_MEMLOCK=infinity \
		-b ) > "$PKG_TMP/console.log" 2>&1 &
	NSPAWN_PID=$!
	C=""
	for _ in $(seq 300); do
		C=$(pgrep -x systemd -P $NSPAWN_PID | head -1)
		if [ -n "$C" ]; then
			st=$(nsenter -t "$C" -a systemctl is-system-running 2>/dev/null)
			case $st in running|degraded) break ;; esac
		fi
		sleep 0.2
	done
	[ "${st:-}" = running ] || cat "$PKG_TMP/console.log"
	# never go on with a container outside our child cgroup
	grep -q "^0::${CG#$CGMNT}\(/\|\$\)" /proc/$C/cgroup || fail "the container is not in $CG: $(cat /proc/$C/cgroup)"
	[ "${st:-}" = running ] || fail "the container did not boot (state ${st:-none}): $(nsenter -t "$C" -a journalctl -b --no-pager -u "rampart*" 2>&1 | tail -30)"
}
in_c() { nsenter -t "$C" -a "$@"; }
# poweroff: ask systemd in the container to power off, wait for nspawn
poweroff() {
	in_c systemctl poweroff
	for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
	! kill -0 "$NSPAWN_PID" 2>/dev/null || fail "the container did not power off"
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID=""
}
mono() { in_c systemctl show -P "$2" "$1"; }

# ---- boot 1
boot
ok "container booted: systemd $(in_c systemctl --version | head -1 | awk '{print $2}') as PID 1, state running"
for u in rampart-boot rampart rampart-shutdown; do
	[ "$(in_c systemctl is-active $u.service)" = active ] || fail "$u.service: $(in_c systemctl status $u.service --no-pager)"
done
mode() { in_c rampart --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])'; }
# rampart.service is Type=simple: active at once, enforcing when its first apply is done
for _ in $(seq 100); do [ "$(mode)" = enforcing ] && break; sleep 0.1; done
st=$(in_c rampart --json status)
python3 - "$st" <<'PY' || fail "status after boot: $st"
import json, sys
s = json.loads(sys.argv[1])
assert s["mode"] == "enforcing" and s["mode_reason"] == "daemon", s
# a veth's ingress is judged by tc (docs/datapath.md, "Which program runs where")
assert any(a["interface"] == "rpt0" and a["hook"] in ("tc-ingress", "xdp") and a["alive"] for a in s["attachments"]), s["attachments"]
assert any(a["interface"] == "rpt0" and a["hook"] == "tc-egress" and a["alive"] for a in s["attachments"]), s["attachments"]
PY
# the order, from systemd's own timestamps (monotonic, microseconds)
boot_done=$(mono rampart-boot.service ExecMainExitTimestampMonotonic)
netpre=$(mono network-pre.target ActiveEnterTimestampMonotonic)
daemon=$(mono rampart.service ExecMainStartTimestampMonotonic)
[ "$boot_done" -gt 0 ] && [ "$boot_done" -le "$netpre" ] && [ "$netpre" -le "$daemon" ] ||
	fail "order: rampart boot done at $boot_done, network-pre.target at $netpre, daemon started at $daemon"
in_c journalctl -b -o short-monotonic --no-pager > "$PKG_TMP/journal1"
applied=$(grep -m1 'rampart daemon: start: applied' "$PKG_TMP/journal1") || fail "no apply in the journal"
ok "boot -> enforcing: rampart-boot done at $((boot_done / 1000)) ms, network-pre.target at $((netpre / 1000)) ms, daemon started at $((daemon / 1000)) ms"
echo "   journal: $(grep -m1 'Reached target.*[Nn]etwork.*[Pp]re' "$PKG_TMP/journal1" | sed 's/^\[ *\([0-9.]*\)\].*: /[\1] /')"
echo "   journal: $(echo "$applied" | sed 's/^\[ *\([0-9.]*\)\].*rampart daemon: /[\1] /' | cut -c1-120)"

in_c systemctl stop rampart-shutdown.service
[ "$(mode)" = enforcing ] || fail "systemctl stop rampart-shutdown locked the machine down"
in_c systemctl start rampart-shutdown.service
ok "systemctl stop rampart-shutdown by hand: still enforcing (lockdown only when the system goes down)"

poweroff
journalctl -D "$ROOT/var/log/journal" -b -1 -o short-monotonic --no-pager > "$PKG_TMP/journal1" 2>/dev/null ||
	journalctl -D "$ROOT/var/log/journal" -o short-monotonic --no-pager > "$PKG_TMP/journal1"
# `rampart shutdown` says "mode lockdown (was enforcing): ..."; once, at the poweroff
n=$(grep -c 'rampart\[[0-9]*\]: mode lockdown (was enforcing)' "$PKG_TMP/journal1")
[ "$n" = 1 ] || fail "lockdown at shutdown: $n times: $(grep -i 'rampart' "$PKG_TMP/journal1" | tail)"
ok "poweroff: $(grep -m1 'mode lockdown (was enforcing)' "$PKG_TMP/journal1" | sed 's/^\[ *\([0-9.]*\)\] [^ ]* /[\1] /' | cut -c1-100)"

# ---- boot 2: removal with unload
boot
for _ in $(seq 100); do [ "$(mode)" = enforcing ] && break; sleep 0.1; done
[ "$(mode)" = enforcing ] || fail "boot 2: not enforcing"
sed -i 's/^RAMPART_UNLOAD_ON_REMOVE=.*/RAMPART_UNLOAD_ON_REMOVE=yes/' "$ROOT/etc/default/rampart"
in_c env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq rampart > "$PKG_TMP/remove.log" 2>&1 ||
	fail "apt-get remove: $(cat "$PKG_TMP/remove.log")"
in_c test ! -e /sys/fs/bpf/rampart || fail "pins left after removal: $(in_c ls -R /sys/fs/bpf/rampart | head)"
in_c ip -d link show rpt0 | grep -q 'prog/xdp' && fail "an XDP program is still attached to rpt0"
# rampart's tcx attachments are links that only its pins hold (bpftool 7.1 and
# iproute2 6.1 cannot list tcx per device): no pins and no daemon, no links
[ "$(in_c systemctl is-active rampart.service)" != active ] || fail "the daemon still runs after removal"
ok "apt-get remove with RAMPART_UNLOAD_ON_REMOVE=yes: daemon stopped, no pins, nothing attached"
poweroff
