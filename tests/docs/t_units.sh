#!/usr/bin/env bash
# The systemd units as `make install` writes them: `systemd-analyze verify`
# accepts them (syntax, executables, man page, no ordering cycle with the
# system's own units), and their order is the one docs/operations.md asks for:
# rampart-boot before network-pre.target with no default dependencies,
# the daemon after boot protection and network-pre.target, the lockdown
# unit after network.target (so it stops, and locks down, before the
# network goes) and only when the system is going down.
# (make package-test boots them in a real systemd: tests/package/boot.sh.)
set -u
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing"; exit 77; }
[ -x build/rampart ] || fail "build/rampart missing (make)"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

make -s --no-print-directory install-files DESTDIR="$T" PREFIX=/usr UNITDIR=/lib/systemd/system > "$T/install.log" 2>&1 ||
	fail "make install-files: $(cat "$T/install.log")"
# verify looks for ExecStart's binary and the man page on this machine:
# point the units at the binary under $T, and man at $T's man pages
mkdir "$T/verify"
for u in "$T"/lib/systemd/system/*.service; do
	sed "s|/usr/sbin/rampart|$T/usr/sbin/rampart|g" "$u" > "$T/verify/${u##*/}"
done
out=$(MANPATH=$T/usr/share/man systemd-analyze verify "$T"/verify/*.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
ok "systemd-analyze verify: rampart-boot, rampart, rampart-shutdown (no warnings)"

python3 - "$T/lib/systemd/system" <<'PY' || exit 1
import sys, os
def unit(name):
    d = {}
    for line in open(os.path.join(sys.argv[1], name)):
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            d.setdefault(k, []).extend(v.split() if k in ("After", "Before", "Wants", "WantedBy") else [v])
    return d
def need(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
b, r, s = unit("rampart-boot.service"), unit("rampart.service"), unit("rampart-shutdown.service")
need(b.get("DefaultDependencies") == ["no"], "rampart-boot: DefaultDependencies=no (it runs in early boot)")
need("network-pre.target" in b.get("Before", []) and "network-pre.target" in b.get("Wants", []),
     "rampart-boot: Before= and Wants= network-pre.target")
need("sysinit.target" in b.get("WantedBy", []), "rampart-boot: WantedBy=sysinit.target")
need(b["ExecStart"] == ["/usr/sbin/rampart boot"], f"rampart-boot: ExecStart {b['ExecStart']}")
need({"network-pre.target", "rampart-boot.service", "sys-fs-bpf.mount"} <= set(r.get("After", [])),
     f"rampart: After= {r.get('After')}")
need(r["ExecStart"][0].startswith("/usr/sbin/rampart daemon"), "rampart: runs the daemon")
need(r.get("ExecReload") and "-HUP" in r["ExecReload"][0], "rampart: reload is SIGHUP")
need("network.target" in s.get("After", []), "rampart-shutdown: After=network.target")
need(any("is-system-running" in e and "/usr/sbin/rampart shutdown" in e for e in s.get("ExecStop", [])),
     f"rampart-shutdown: ExecStop locks down when the system stops: {s.get('ExecStop')}")
need(not s.get("ExecStart") or s["ExecStart"] == ["/bin/true"], "rampart-shutdown: nothing at start")
print("ok: order: rampart-boot before network-pre.target; rampart after rampart-boot, network-pre.target and bpffs; lockdown after network.target, at system stop only")
PY
