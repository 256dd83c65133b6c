# Shared set-up for kernel tests, the demo and benchmarks (source it).
# Two network namespaces joined by a veth pair, a unique pin dir, a child
# cgroup, and a cleanup trap that removes all of it even when a test fails.
#
#   host ns  RP_NS_A: veth RP_IF_A  192.0.2.1/24  2001:db8::1/64   (protected by rampart)
#   peer ns  RP_NS_B: veth RP_IF_B  192.0.2.2/24  2001:db8::2/64
#
# Run rampart inside the host namespace with `in_a ./rampart ...` (nsenter
# --net keeps bpffs and cgroup2 visible, unlike `ip netns exec`).

RP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RP_ID=${RP_ID:-$$}
RP_NS_A=rpa$RP_ID
RP_NS_B=rpb$RP_ID
RP_IF_A=rpa$RP_ID
RP_IF_B=rpb$RP_ID
RP_A4=192.0.2.1 RP_B4=192.0.2.2
RP_A6=2001:db8::1 RP_B6=2001:db8::2
RP_PIN=/sys/fs/bpf/rampart-test-$RP_ID
RAMPART=$RP_ROOT/build/rampart
RP_CG=""
RP_CLEANUP_EXTRA=""

rp_need_root() {
	if [ "$(id -u)" != 0 ]; then echo "needs root"; exit 77; fi
}

rp_mount_bpffs() {
	grep -q ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
}

rp_cgroup2_mount() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

in_a() { nsenter --net=/run/netns/$RP_NS_A "$@"; }
in_b() { nsenter --net=/run/netns/$RP_NS_B "$@"; }

rp_cleanup() {
	set +e
	[ -n "$RP_CLEANUP_EXTRA" ] && eval "$RP_CLEANUP_EXTRA"
	if [ -d "$RP_PIN" ]; then
		in_a "$RAMPART" unload --pin-dir "$RP_PIN" >/dev/null 2>&1
		rm -rf "$RP_PIN"
	fi
	ip netns del "$RP_NS_A" 2>/dev/null
	ip netns del "$RP_NS_B" 2>/dev/null
	if [ -n "$RP_CG" ] && [ -d "$RP_CG" ]; then
		# move stragglers out, then remove child cgroups bottom-up
		find "$RP_CG" -depth -type d | while read -r d; do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			rmdir "$d" 2>/dev/null
		done
	fi
}

# rp_setup: namespaces, veth, addresses, bpffs, pin dir, cleanup trap.
rp_setup() {
	rp_need_root
	rp_mount_bpffs
	trap rp_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$RP_NS_A"
	ip netns add "$RP_NS_B"
	ip link add "$RP_IF_A" netns "$RP_NS_A" type veth peer name "$RP_IF_B" netns "$RP_NS_B"
	in_a ip link set lo up
	in_b ip link set lo up
	in_a ip addr add $RP_A4/24 dev "$RP_IF_A"
	in_b ip addr add $RP_B4/24 dev "$RP_IF_B"
	in_a ip -6 addr add $RP_A6/64 dev "$RP_IF_A" nodad
	in_b ip -6 addr add $RP_B6/64 dev "$RP_IF_B" nodad
	in_a ip link set "$RP_IF_A" up
	in_b ip link set "$RP_IF_B" up
	# nothing on the peer: like the host side of a container, or any veth
	# pair a user makes (rampart must work without help from the other end)
	mkdir -p "$RP_PIN"
	rmdir "$RP_PIN"   # rampart creates it
}

# rp_foreign_xdp NSFN IF: attaches somebody else's XDP program (pass-all) to
# IF (by netlink: once the temporary pin is removed, only the interface
# holds it, and it goes away with the namespace).
rp_foreign_xdp() {
	local obj=$RP_ROOT/build/bpf/peer_pass.o
	if [ ! -s "$obj" ]; then
		mkdir -p "$(dirname "$obj")"
		printf '%s\n' \
			'__attribute__((section("xdp"), used)) int peer_pass(void *ctx) { return 2; /* XDP_PASS */ }' \
			'char LICENSE[] __attribute__((section("license"), used)) = "GPL";' \
			> "$obj.$$.c"
		clang -target bpf -O2 -c "$obj.$$.c" -o "$obj.$$.tmp" && mv "$obj.$$.tmp" "$obj"
		rm -f "$obj.$$.c"
	fi
	local pin=/sys/fs/bpf/rampart-peer-$RP_ID
	bpftool prog load "$obj" "$pin" type xdp &&
		$1 bpftool net attach xdp pinned "$pin" dev "$2"
	local rc=$?
	rm -f "$pin"
	return $rc
}

# rp_child_cgroup NAME: creates $RP_CG/NAME, a child of the cgroup2 mount
# (never the root itself), removed on exit.  Call it in the test's shell,
# not in $(...), so RP_CG is set for the cleanup.
rp_child_cgroup() {
	local mnt; mnt=$(rp_cgroup2_mount)
	[ -n "$mnt" ] || { echo "no cgroup2 mount"; exit 77; }
	RP_CG=$mnt/rampart-test-$RP_ID
	mkdir -p "$RP_CG/$1"
}

# rp_wait_port NS PORT: wait (bounded) until something listens on PORT in NS.
rp_wait_port() {
	for _ in $(seq 50); do
		nsenter --net=/run/netns/$1 ss -ltnH "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
