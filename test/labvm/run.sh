#!/bin/bash
# The lab VM: Debian's cloud kernel (real CUSE, seccomp user notification)
# under qemu's TCG, with a busybox initramfs that carries our binaries.
#
#   run.sh [--build DIR] [--timeout SEC] [--smp N] [--mem MB] MODE [ARG]
#
# MODE e2e [PATTERN]  run the end-to-end tests (test/e2e/run-all.sh)
#      demo           run the demo (test/demo/run-demo.sh)
#      systemd        boot systemd as PID 1 and run the installed unit
#                     (test/labvm/systemd/unit-test.sh; needs make install
#                     into BUILD/labvm-extra, as make check-e2e does)
#      cmd 'COMMAND'  run a shell command inside (for debugging)
#
# The guest console streams to stdout; the guest's result line becomes our
# exit status, and a VM that does not boot or report is a failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$top/build
timeout=${LABVM_TIMEOUT:-1800}
smp=2
mem=2048

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	*) break ;;
	esac
done
mode=${1:?usage: run.sh [--build DIR] e2e|demo|cmd [ARG]}
arg=${2:-}

die() {
	echo "labvm: $*" >&2
	exit 1
}

for tool in qemu-system-x86_64 cpio gzip; do
	command -v "$tool" >/dev/null || die "$tool is missing (make deps)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	busybox=/bin/busybox
[ -x "$busybox" ] || die "a static busybox is missing (apt-get install busybox-static)"

kdir=$("$here/kernel.sh") || die "no kernel for the lab VM"
vmlinuz=$(compgen -G "$kdir/boot/vmlinuz-*" | head -n 1)

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmshim-labvm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules,opt/kvmshim/bin,opt/kvmshim/e2e}

cp "$busybox" "$root/bin/busybox"

# modules, decompressed if the package ships them compressed
for m in fuse cuse; do
	ko=$(find "$kdir/lib/modules" -name "$m.ko*" | head -n 1)
	[ -n "$ko" ] || die "$m.ko not in $kdir"
	case $ko in
	*.xz) xz -dc "$ko" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$ko" >"$root/lib/modules/$m.ko" ;;
	*) cp "$ko" "$root/lib/modules/$m.ko" ;;
	esac
done

# Copies a dynamic executable and every library it loads.
stage_bin() {
	local src=$1 dst=$2 lib
	cp "$src" "$dst"
	ldd "$src" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done || true
}

for b in "$build"/kvmshimd "$build"/kvmshimctl "$build"/kvmshim-run; do
	[ -x "$b" ] && stage_bin "$b" "$root/opt/kvmshim/bin/$(basename "$b")"
done
[ -x "$root/opt/kvmshim/bin/kvmshimd" ] || die "$build/kvmshimd is not built (make)"
for t in "$build"/test/e2e/t_*; do
	[ -x "$t" ] && stage_bin "$t" "$root/opt/kvmshim/e2e/$(basename "$t")"
done
[ -x "$build/test/kvmshim-demo" ] &&
	stage_bin "$build/test/kvmshim-demo" "$root/opt/kvmshim/bin/kvmshim-demo"
[ -x "$build/test/unit-client" ] &&
	stage_bin "$build/test/unit-client" "$root/opt/kvmshim/bin/unit-client"
# extra files a test needs inside (static programs, installed trees)
if [ -d "$build/labvm-extra" ]; then
	cp -a "$build/labvm-extra/." "$root/"
fi
cp "$top/test/e2e/run-all.sh" "$top/test/demo/run-demo.sh" "$root/opt/kvmshim/"

# systemd as PID 1 with the journal and a few stand-in targets, the unit
# from the installed tree; the test adds the users with systemd-sysusers.
stage_systemd() {
	local sd=$here/systemd u
	[ -x /lib/systemd/systemd ] || die "systemd is missing (make deps)"
	[ -f "$root/usr/lib/systemd/system/kvmshimd@.service" ] ||
		die "no installed tree in $build/labvm-extra (make check-e2e)"
	mkdir -p "$root/lib/systemd/system" "$root/etc/systemd/system" \
		"$root/var/log" "$root/var/tmp" "$root/root"
	for b in /lib/systemd/systemd /lib/systemd/systemd-journald; do
		stage_bin "$b" "$root$b"
	done
	for b in systemctl journalctl systemd-sysusers; do
		stage_bin "$(command -v "$b")" "$root/bin/$b"
	done
	for u in systemd-journald.service systemd-journald.socket \
		systemd-journald-dev-log.socket systemd-journald-audit.socket; do
		cp "/lib/systemd/system/$u" "$root/lib/systemd/system/"
	done
	for u in sysinit basic shutdown sockets; do
		cp "$sd/stub.target" "$root/etc/systemd/system/$u.target"
	done
	cp "$sd/kvmshim-labvm.target" "$sd/kvmshim-labvm.service" \
		"$root/etc/systemd/system/"
	cp "$sd/unit-test.sh" "$root/opt/kvmshim/"
	# LeakSanitizer stops the world with ptrace, which the unit's
	# SystemCallFilter= refuses; the other e2e tests check for leaks
	if ldd "$build/kvmshimd" 2>/dev/null | grep -q libasan; then
		mkdir -p "$root/etc/systemd/system/kvmshimd@.service.d"
		printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
			>"$root/etc/systemd/system/kvmshimd@.service.d/asan.conf"
	fi
	: >"$root/etc/machine-id"
	cat >"$root/etc/os-release" <<'OS'
NAME="kvmshim lab VM"
ID=kvmshim-labvm
OS
	cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
	cat >"$root/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
GR
}

if [ "$mode" = systemd ]; then
	stage_systemd
else
	cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
kvmshim:x:990:990:kvmshim:/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
	cat >"$root/etc/group" <<'GR'
root:x:0:
kvm:x:991:
kvmshim:x:990:
nogroup:x:65534:
GR
fi

case $mode in
e2e) run="sh /opt/kvmshim/run-all.sh /opt/kvmshim '${arg:-t_*}'" ;;
demo) run="sh /opt/kvmshim/run-demo.sh /opt/kvmshim" ;;
systemd) ;;
cmd) run=$arg ;;
*) die "unknown mode $mode" ;;
esac

if [ "$mode" = systemd ]; then
	# unit-test.sh reports and powers off; systemd mounts the rest
	cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
insmod /lib/modules/fuse.ko
insmod /lib/modules/cuse.ko
exec /lib/systemd/systemd --unit=kvmshim-labvm.target
INIT
else
	cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
insmod /lib/modules/fuse.ko
insmod /lib/modules/cuse.ko
export PATH=/opt/kvmshim/bin:/bin:/sbin
export HOME=/tmp
cd /opt/kvmshim
echo "KVMSHIM-BOOTED: \$(uname -r) cpus=\$(nproc)"
$run
rc=\$?
echo "KVMSHIM-RESULT: rc=\$rc"
poweroff -f
INIT
fi
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

echo "labvm: booting $(basename "$vmlinuz") (tcg, $smp cpus, ${mem}M, limit ${timeout}s)"
log=$work/console.log
set +e
timeout --kill-after=10 "$timeout" qemu-system-x86_64 -accel tcg -cpu max \
	-smp "$smp" -m "$mem" -nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e

result=$(tr -d '\r' <"$log" | sed -n 's/^KVMSHIM-RESULT: rc=\([0-9]*\).*/\1/p' | tail -n 1)
if [ -z "$result" ]; then
	if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		echo "labvm: FAILED: the VM did not finish within ${timeout}s" >&2
	else
		echo "labvm: FAILED: the VM reported no result (qemu exit $qemu_rc); console above" >&2
	fi
	exit 1
fi
if [ "$result" != 0 ]; then
	echo "labvm: FAILED: the guest's run exited with $result; console above" >&2
	exit 1
fi
echo "labvm: passed"
