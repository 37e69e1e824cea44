#!/bin/bash
# Prints the directory of an unpacked Debian cloud kernel (boot/vmlinuz-*,
# lib/modules/*/kernel/fs/fuse/{fuse,cuse}.ko), downloading the package
# into the cache on first use.  The cache lives outside git:
# $KVMSHIM_CACHE, else $XDG_CACHE_HOME/kvmshim, else ~/.cache/kvmshim.
set -euo pipefail

cache=${KVMSHIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmshim}
mkdir -p "$cache"

die() {
	echo "labvm: $*" >&2
	exit 1
}

unpacked() {
	local d
	for d in "$cache"/kernel-*/; do
		[ -d "$d" ] || continue
		if compgen -G "$d/boot/vmlinuz-*" >/dev/null &&
			[ -n "$(find "$d/lib/modules" -name 'cuse.ko*' 2>/dev/null)" ]; then
			echo "${d%/}"
			return 0
		fi
	done
	return 1
}

if dir=$(unpacked); then
	echo "$dir"
	exit 0
fi

deb=$(compgen -G "$cache/linux-image-*-cloud-amd64_*.deb" | head -n 1 || true)
if [ -z "$deb" ]; then
	command -v apt-get >/dev/null || die "no apt-get to fetch the kernel package"
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-/ { print $2; exit }')
	[ -n "$pkg" ] || die "apt does not know linux-image-cloud-amd64; run 'apt-get update' first"
	echo "labvm: downloading $pkg into $cache" >&2
	(cd "$cache" && apt-get download "$pkg" >&2) ||
		die "could not download $pkg (no access to the Debian archive?)"
	deb=$(compgen -G "$cache/$pkg"_*.deb | head -n 1 || true)
	[ -n "$deb" ] || die "download of $pkg left no .deb in $cache"
fi

ver=$(basename "$deb" .deb)
tmp=$(mktemp -d "$cache/unpack.XXXXXX")
dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; die "cannot unpack $deb"; }
rm -rf "$cache/kernel-$ver"
mv "$tmp" "$cache/kernel-$ver"
unpacked || die "$deb has no vmlinuz or cuse.ko"
