# Shared by the package tests (source it): a throw-away Debian root for
# installing the package, made from a cached debootstrap tree (Debian 12,
# minbase + systemd) with an overlay, so every run starts clean and the
# mirror is asked only once per machine.  Commands run in the root with
# systemd-nspawn.

PKG_ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PKG_CACHE=${RAMPART_TEST_CACHE:-/var/cache/rampart-test}
PKG_BASE=$PKG_CACHE/bookworm-systemd
PKG_DEB=$(ls "$PKG_ROOT_DIR"/build/deb/rampart_*_amd64.deb 2>/dev/null | head -1)
PKG_TMP=$(mktemp -d /tmp/rampart-pkg-XXXXXX)
PKG_MOUNTS=""

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

pkg_cleanup() {
	set +e
	for m in $PKG_MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m"; done
	rm -rf "$PKG_TMP"
}
trap pkg_cleanup EXIT
trap 'exit 130' INT TERM

# The Debian mirror apt uses on this machine (debootstrap needs one).
pkg_mirror() {
	local m
	m=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$m" ] || m=$(sed -n 's/^deb \(http[^ ]*\/debian\)\/\{0,1\} .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)
	echo "${m:-http://deb.debian.org/debian}"
}

# pkg_base: the cached tree, made by debootstrap on first use (a few
# minutes; serialized with a lock so parallel runs wait for one another).
pkg_base() {
	mkdir -p "$PKG_CACHE"
	(
		flock 9
		[ -e "$PKG_BASE/.complete" ] && exit 0
		rm -rf "$PKG_BASE"
		echo "package test: debootstrap of Debian 12 into $PKG_BASE (once per machine)"
		debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 \
			bookworm "$PKG_BASE" "$(pkg_mirror)" > "$PKG_CACHE/debootstrap.log" 2>&1 ||
			{ tail -20 "$PKG_CACHE/debootstrap.log"; exit 1; }
		# the base's apt lists are read when a test installs packages
		touch "$PKG_BASE/.complete"
	) 9> "$PKG_CACHE/.lock" || fail "debootstrap failed (log: $PKG_CACHE/debootstrap.log)"
}

# pkg_overlay NAME: a fresh root $PKG_TMP/NAME (the base below, changes in
# an upper layer that goes away with the test).  Sets ROOT.
pkg_overlay() {
	local d=$PKG_TMP/$1
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mount -t overlay overlay -o "lowerdir=$PKG_BASE,upperdir=$d/upper,workdir=$d/work" "$d/root" ||
		fail "cannot mount an overlay on $d/root"
	PKG_MOUNTS="$d/root $PKG_MOUNTS"
	ROOT=$d/root
}

# in_root CMD...: CMD in the root (its own mount, PID and UTS namespaces;
# the machine's network, for apt only: nothing here loads BPF).
# PKG_ROOT_TMP=1: the root's own /tmp instead of nspawn's empty tmpfs.
in_root() {
	SYSTEMD_NSPAWN_TMPFS_TMP=$([ -n "${PKG_ROOT_TMP:-}" ] && echo 0 || echo 1) \
	systemd-nspawn -q --register=no --keep-unit --console=pipe -E DEBIAN_FRONTEND=noninteractive \
		-D "$ROOT" "$@" 2> >(grep -v "Attempted to remove disk file system" >&2)
}
