#!/usr/bin/env bash
# `make package-test`: the Debian package (build/deb, from `make deb`)
#  1. lintian reports no error and no warning;
#  2. on a clean Debian 12 root: apt installs it with its dependencies,
#     `rampart check /etc/rampart/policy.rules` passes, the man pages,
#     completion and units are in place, the units are not enabled;
#  3. an upgrade keeps the administrator's edit of the policy (conffile);
#  4. remove keeps the configuration, purge removes it;
#  5. the Containerfile's steps in a clean root;
#  6. systemd as PID 1 in a container (boot.sh): boot -> enforcing,
#     removal with RAMPART_UNLOAD_ON_REMOVE=yes leaves no pins or attachments.
set -u
cd "$(dirname "$0")/../.."
. tests/package/lib.sh
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -n "$PKG_DEB" ] || fail "no package in build/deb: run make deb"
pass=0
step() { ok "$*"; pass=$((pass + 1)); }

# 1. lintian
lintian --fail-on error,warning "$PKG_DEB" > "$PKG_TMP/lintian.log" 2>&1 ||
	fail "lintian: $(cat "$PKG_TMP/lintian.log")"
step "lintian: no errors, no warnings ($(grep -c '^[IP]:' "$PKG_TMP/lintian.log") info tags)"

# 2. a clean root; apt resolves the dependencies from the mirror
pkg_base
pkg_overlay install
cp "$PKG_DEB" "$ROOT/root/rampart.deb"
in_root apt-get update -qq > "$PKG_TMP/apt.log" 2>&1 || fail "apt-get update in the root: $(tail "$PKG_TMP/apt.log")"
in_root apt-get install -y -qq --no-install-recommends /root/rampart.deb > "$PKG_TMP/apt.log" 2>&1 ||
	fail "apt-get install: $(tail -20 "$PKG_TMP/apt.log")"
out=$(in_root rampart check /etc/rampart/policy.rules 2>&1) || fail "rampart check in the root: $out"
step "installed on a clean Debian 12 root with its dependencies; rampart check: $out"
for f in /usr/sbin/rampart /usr/share/man/man8/rampart.8.gz /usr/share/man/man5/rampart.rules.5.gz \
	/usr/share/bash-completion/completions/rampart /lib/systemd/system/rampart-boot.service \
	/lib/systemd/system/rampart.service /lib/systemd/system/rampart-shutdown.service \
	/usr/share/rampart/default.rules /etc/default/rampart; do
	[ -e "$ROOT$f" ] || fail "$f not installed"
done
grep -q 'ExecStart=/usr/sbin/rampart daemon' "$ROOT/lib/systemd/system/rampart.service" ||
	fail "rampart.service does not run /usr/sbin/rampart"
conf=$(in_root dpkg-query -W -f='${Conffiles}' rampart)
for f in /etc/rampart/policy.rules /etc/default/rampart; do
	grep -q " $f " <<< "$conf " || fail "$f is not a conffile: $conf"
done
for u in rampart-boot rampart rampart-shutdown; do
	st=$(in_root systemctl is-enabled $u.service 2>/dev/null)
	[ "$st" = disabled ] || fail "$u.service is '$st' after installation; want disabled (the admin enables it)"
done
step "binary, man pages, completion, units (not enabled), default policy; conffiles: policy.rules, default/rampart"

# 3. an upgrade whose default policy changed keeps the administrator's edit
echo "# edited by the administrator" >> "$ROOT/etc/rampart/policy.rules"
dpkg-deb -R "$PKG_DEB" "$PKG_TMP/up"
sed -i 's/^Version: \(.*\)/Version: \1+test1/' "$PKG_TMP/up/DEBIAN/control"
echo "# changed in the new version" >> "$PKG_TMP/up/etc/rampart/policy.rules"
dpkg-deb --root-owner-group -b "$PKG_TMP/up" "$ROOT/root/rampart-up.deb" >/dev/null
in_root apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	/root/rampart-up.deb > "$PKG_TMP/apt.log" 2>&1 || fail "upgrade: $(tail "$PKG_TMP/apt.log")"
grep -q "edited by the administrator" "$ROOT/etc/rampart/policy.rules" || fail "the upgrade replaced the edited policy"
grep -q "changed in the new version" "$ROOT/etc/rampart/policy.rules.dpkg-dist" ||
	fail "the new default is not beside it as policy.rules.dpkg-dist"
[ "$(in_root dpkg-query -W -f='${Version}' rampart)" = "$(dpkg-deb -f "$PKG_DEB" Version)+test1" ] || fail "not upgraded"
step "upgrade: the edited /etc/rampart/policy.rules stays, the new default lands in policy.rules.dpkg-dist"

# 4. remove keeps the configuration, purge removes it
in_root apt-get remove -y -qq rampart > "$PKG_TMP/apt.log" 2>&1 || fail "remove: $(tail "$PKG_TMP/apt.log")"
[ ! -e "$ROOT/usr/sbin/rampart" ] && [ -e "$ROOT/etc/rampart/policy.rules" ] || fail "remove"
touch "$ROOT/etc/rampart/policy.rules.bak-20260101-000000"   # what `rampart reset` leaves
in_root apt-get purge -y -qq rampart > "$PKG_TMP/apt.log" 2>&1 || fail "purge: $(tail "$PKG_TMP/apt.log")"
[ ! -e "$ROOT/etc/rampart" ] && [ ! -e "$ROOT/etc/default/rampart" ] || fail "purge left $(ls -A "$ROOT/etc/rampart" 2>&1)"
step "remove keeps /etc/rampart; purge removes it, reset's backups included"

# 5. the Containerfile, "built" without an engine: its COPY and RUN steps
#    in a fresh Debian 12 root (what debian:bookworm-slim is), then its
#    ENTRYPOINT checks the default policy
pkg_overlay image
python3 - > "$PKG_TMP/steps" <<'PY'
import json
text = open("dist/k8s/Containerfile").read().replace("\\\n", " ")
for line in text.splitlines():
    if line.strip() and not line.lstrip().startswith("#"):
        kind, rest = line.split(None, 1)
        if kind in ("COPY", "RUN"):
            print(kind + "\t" + rest.strip())
        elif kind == "ENTRYPOINT":
            print("ENTRYPOINT\t" + " ".join(json.loads(rest)))
PY
while IFS=$'\t' read -r kind arg; do
	case $kind in
	COPY) set -- $arg; mkdir -p "$ROOT$(dirname "$2")"; cp "$1" "$ROOT$2" || fail "Containerfile COPY $arg" ;;
	RUN) PKG_ROOT_TMP=1 in_root sh -c "$arg" > "$PKG_TMP/run.log" 2>&1 || fail "Containerfile RUN: $(tail "$PKG_TMP/run.log")" ;;
	ENTRYPOINT) entry=$arg ;;
	esac
done < "$PKG_TMP/steps"
out=$(in_root $entry check /etc/rampart/policy.rules 2>&1) || fail "the image's entrypoint: $out"
[ ! -e "$ROOT/tmp/rampart.deb" ] || fail "the image keeps the .deb"
step "Containerfile: COPY and RUN in a Debian 12 root install the package; ENTRYPOINT check: $out"

# 6. systemd as PID 1
bash tests/package/boot.sh "$PKG_DEB"; rc=$?
case $rc in
0) pass=$((pass + 1)) ;;
77) echo "skipped: systemd boot test" ;;
*) echo; echo "package: $pass passed, 1 failed"; exit 1 ;;
esac
echo
echo "package: $pass passed, 0 failed"
