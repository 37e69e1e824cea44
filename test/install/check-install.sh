#!/bin/bash
# Checks what "make install" delivers: the manual lints clean, the systemd
# unit verifies, the installed file list is the expected one, and
# "make uninstall" removes all of it.  Usage: check-install.sh BUILD
set -euo pipefail
build=${1:?usage: check-install.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top"
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmshim-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bad() {
	echo "check-install: FAILED: $*" >&2
	fail=1
}

for m in man/*.[1-8]; do
	mandoc -Tlint -W warning "$m" || bad "mandoc -Tlint $m"
done

make -s install DESTDIR="$tmp/root" PREFIX=/usr BUILD="$build" >/dev/null
(cd "$tmp/root" && find . -type f | sed 's|^\.||' | sort) >"$tmp/files"
if ! diff -u "$here/expected-files.txt" "$tmp/files"; then
	bad "installed files differ from test/install/expected-files.txt"
fi

# The unit as installed, but naming the daemon in the build tree so that
# systemd-analyze finds the executable; the man pages come from DESTDIR.
unit=$tmp/unit/kvmshimd@power8.service
mkdir -p "$tmp/unit"
sed "s|/usr/sbin/kvmshimd|$(cd "$build" && pwd)/kvmshimd|" \
	"$tmp/root/usr/lib/systemd/system/kvmshimd@.service" >"$unit"
grep -q "^ExecStart=$(cd "$build" && pwd)/kvmshimd " "$unit" ||
	bad "the installed unit does not start /usr/sbin/kvmshimd"
MANPATH=$tmp/root/usr/share/man systemd-analyze verify "$unit" ||
	bad "systemd-analyze verify"
exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "check-install: systemd-analyze security exposure $exposure"

make -s uninstall DESTDIR="$tmp/root" PREFIX=/usr BUILD="$build" >/dev/null
left=$(find "$tmp/root" -type f)
[ -z "$left" ] || bad "make uninstall left: $left"

[ "$fail" = 0 ] && echo "check-install: passed"
exit "$fail"
