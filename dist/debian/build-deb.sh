#!/usr/bin/env bash
# `make deb`: builds the Debian package from a copy of the source tree (the
# files git knows, committed or not; everything but build/ outside git)
# with dist/debian as its debian/ directory.  Result: build/deb/*.deb.
set -eu
cd "$(dirname "$0")/../.."
version=$(dpkg-parsechangelog -l dist/debian/changelog -S Version)
out=build/deb
src=$out/rampart-$version
rm -rf "$out"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | grep -zv '^dist/debian/' |
		xargs -0 tar -cf - --no-recursion | tar -xf - -C "$src"
else
	tar -cf - --exclude=./build --exclude=./dist/debian --exclude=./vmlinux.h . | tar -xf - -C "$src"
fi
cp -a dist/debian "$src/debian"
rm -f "$src/debian/build-deb.sh"
echo "rampart: building the package $version in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1 || {
	tail -40 "$out/build.log"
	echo "rampart: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
ls "$out"/*.deb
