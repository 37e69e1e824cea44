// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A stand-in for an unmodified VMM: it knows nothing of kvmshim, includes
 * only <linux/kvm.h> and opens "/dev/kvm", the way QEMU does (spec:
 * clients.md).  Built twice, statically and dynamically, and run by the
 * t_run* tests under kvmshim-run, without it against kvmshim's node (D6),
 * and against the real /dev/kvm of the test machine's kernel.
 *
 *   vmm [-d DEVICE] [-x launcher|nolauncher|real] TEST...
 *
 * Prints TAP lines ("ok N - ...", "not ok N - ...") and exits 0 only if
 * every check passed.  -x says what to expect: kvmshim under kvmshim-run
 * (default), kvmshim without it, or a real KVM (ENOTTY and EINVAL for
 * everything but the generic ioctls).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * What <asm/kvm.h> adds to <linux/kvm.h> on powerpc and s390: this copy
 * is built for the test machine, which is neither.
 */
#ifndef KVM_GET_HTAB_WRITE
struct kvm_get_htab_fd {
	__u64 flags;
	__u64 start_index;
	__u64 reserved[2];
};

#define KVM_GET_HTAB_BOLTED_ONLY ((__u64)0x1)
#define KVM_GET_HTAB_WRITE ((__u64)0x2)

struct kvm_get_htab_header {
	__u32 index;
	__u16 n_valid;
	__u16 n_invalid;
};

struct kvm_allocate_rma {
	__u64 rma_size;
};
#endif
#ifndef KVM_S390_VM_MEM_CTRL
#define KVM_S390_VM_MEM_CTRL 0
#define KVM_S390_VM_MEM_ENABLE_CMMA 0
#define KVM_S390_VM_MIGRATION 4
#define KVM_S390_VM_MIGRATION_STOP 0
#define KVM_S390_VM_MIGRATION_START 1
#define KVM_S390_VM_MIGRATION_STATUS 2
#endif

enum expect { LAUNCHER, NOLAUNCHER, REAL };

static const char *dev = "/dev/kvm";
static enum expect expect = LAUNCHER;
static unsigned int n_tests, n_failed;

static void vreport(bool good, const char *fmt, va_list ap)
{
	n_tests++;
	n_failed += !good;
	printf("%sok %u - ", good ? "" : "not ", n_tests);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static void __attribute__((format(printf, 2, 3)))
ok(bool good, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(good, fmt, ap);
	va_end(ap);
}

static const char *res(long v)
{
	static char buf[4][64];
	static int k;

	k = (k + 1) % 4;
	if (v < 0)
		snprintf(buf[k], sizeof(buf[k]), "-%s", strerrorname_np(-v));
	else
		snprintf(buf[k], sizeof(buf[k]), "%ld", v);
	return buf[k];
}

static void __attribute__((format(printf, 3, 4)))
is(long got, long want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#   got %s, expected %s\n", res(got), res(want));
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ioctl(2): the result, or -errno. */
static long kvm(int fd, unsigned long req, const void *arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static long kvm_n(int fd, unsigned long req, unsigned long arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static int open_dev(void)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		ok(false, "open %s: %s", dev, strerror(errno));
		exit(1);
	}
	return fd;
}

/* The fd flags Linux gives: access mode and close-on-exec. */
static bool fd_is(int fd, int accmode, bool cloexec)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	return fl >= 0 && fdfl >= 0 && (fl & O_ACCMODE) == accmode &&
	       !!(fdfl & FD_CLOEXEC) == cloexec;
}

/* The lowest free descriptor number. */
static int lowest_free(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- powerpc: the hashed page table through HTAB fds ---- */

#define ORDER 18
#define NPTE (1U << (ORDER - 4))
#define VRMA_V 0x4001FFFFFF000015ULL /* 1 TiB, 16 MiB, bolted, valid */
#define VRMA_IDX (0x7FFU * 8) /* its hash position at order 18 */
#define N_BOLTED 200
#define N_PLAIN 100

struct hpte {
	uint32_t index;
	uint64_t v;
	uint64_t r;
	uint32_t new_index; /* after growing to order 19 (bolted only) */
};

static struct hpte table[1 + N_BOLTED + N_PLAIN];
static unsigned int n_entries;

/* HPTEs are big-endian in the stream; converting is its own inverse */
static uint64_t be64(uint64_t x)
{
	return htobe64(x);
}

/*
 * 4 KiB pages of 256 MiB segments, bolted ones at their own hash
 * position (so growing the table moves them without collisions), plain
 * ones anywhere free.
 */
static void make_entries(void)
{
	static uint8_t used[NPTE / 8];
	unsigned int k, slot;
	uint64_t vsid, pn, hash;

	memset(used, 0, sizeof(used));
	n_entries = 0;
	table[n_entries++] =
		(struct hpte){ VRMA_IDX, VRMA_V, 0x12, 0xFFFU * 8 };
	used[VRMA_IDX / 8] = 1;
	for (k = 0; n_entries < 1 + N_BOLTED; k++) {
		vsid = 0x2000 + 37 * k;
		pn = 3 * k % 2048; /* in the first 8 MiB: not in the AVPN */
		hash = vsid ^ pn;
		slot = 0;
		while (slot < 8 && (used[hash & 0x7FF] >> slot & 1))
			slot++;
		if (slot == 8)
			continue;
		used[hash & 0x7FF] |= (uint8_t)(1 << slot);
		table[n_entries++] = (struct hpte){
			.index = (uint32_t)((hash & 0x7FF) * 8 + slot),
			.v = (vsid << 5) << 7 | 0x11,
			.r = (0x20000 + (uint64_t)k) << 12 | 0x12,
			.new_index = (uint32_t)((hash & 0xFFF) * 8 + slot),
		};
	}
	for (k = 0; n_entries < 1 + N_BOLTED + N_PLAIN; k++) {
		uint32_t i = (k * 7919 + 13) % NPTE;

		if (used[i / 8] >> (i % 8) & 1)
			continue;
		used[i / 8] |= (uint8_t)(1 << (i % 8));
		table[n_entries++] = (struct hpte){
			.index = i,
			.v = (uint64_t)(0x9000 + k) << 12 | 0x1,
			.r = (0x30000 + (uint64_t)k) << 12 | 0x10,
		};
	}
}

static long htab_fd(int vm, uint64_t flags, uint64_t start)
{
	struct kvm_get_htab_fd g = { .flags = flags, .start_index = start };

	return kvm(vm, KVM_PPC_GET_HTAB_FD, &g);
}

/* One record per write(), as QEMU's load path does. */
static long write_entry(int fd, const struct hpte *e)
{
	unsigned char rec[24];
	struct kvm_get_htab_header h = { e->index, 1, 0 };
	uint64_t v = be64(e->v), r = be64(e->r);

	memcpy(rec, &h, 8);
	memcpy(rec + 8, &v, 8);
	memcpy(rec + 16, &r, 8);
	return write(fd, rec, sizeof(rec));
}

/* QEMU's save loop: read 2048 bytes until a read returns 0. */
static ssize_t save(int fd, unsigned char *buf, size_t size, int *reads)
{
	size_t len = 0;
	ssize_t n;

	*reads = 0;
	for (;;) {
		if (size - len < 2048)
			return -ENOSPC;
		n = read(fd, buf + len, 2048);
		if (n < 0)
			return -errno;
		++*reads;
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
	}
}

struct scan {
	uint64_t covered; /* valid + invalid indices */
	unsigned int valid;
	unsigned int matched; /* valid entries equal to what was written */
	bool sane; /* every record inside the table, none empty */
};

static const struct hpte *entry_at(uint32_t index, bool after_resize)
{
	unsigned int k;

	for (k = 0; k < n_entries; k++) {
		if (after_resize && !(table[k].v & 0x10))
			continue;
		if ((after_resize ? table[k].new_index : table[k].index) ==
		    index)
			return &table[k];
	}
	return NULL;
}

static struct scan parse(const unsigned char *buf, size_t len, uint32_t npte,
			 bool after_resize)
{
	struct scan s = { .sane = true };
	struct kvm_get_htab_header h;
	size_t pos = 0;
	unsigned int i;

	while (pos + 8 <= len) {
		memcpy(&h, buf + pos, 8);
		pos += 8;
		if ((!h.n_valid && !h.n_invalid) ||
		    (uint64_t)h.index + h.n_valid + h.n_invalid > npte ||
		    pos + 16ULL * h.n_valid > len) {
			s.sane = false;
			return s;
		}
		for (i = 0; i < h.n_valid; i++, pos += 16) {
			const struct hpte *e =
				entry_at(h.index + i, after_resize);
			uint64_t v, r;

			memcpy(&v, buf + pos, 8);
			memcpy(&r, buf + pos + 8, 8);
			/* Q3: every V read has HVLOCK */
			if (e && be64(v) == (e->v | 0x40) && be64(r) == e->r)
				s.matched++;
		}
		s.valid += h.n_valid;
		s.covered += h.n_valid + h.n_invalid;
	}
	s.sane = s.sane && pos == len;
	return s;
}

/* The table as a new read fd's first pass sees it. */
static struct scan read_table(int vm, unsigned char *buf, size_t size,
			      size_t *len, uint32_t npte, bool after_resize)
{
	struct scan bad = { 0 };
	ssize_t n;
	int fd, reads;

	fd = (int)htab_fd(vm, 0, 0);
	if (fd < 0)
		return bad;
	n = save(fd, buf, size, &reads);
	close(fd);
	if (n < 0)
		return bad;
	*len = (size_t)n;
	return parse(buf, (size_t)n, npte, after_resize);
}

static void htab_checks(int sys, int vm)
{
	size_t size = 1 << 20, len1 = 0, len2 = 0, pos;
	unsigned char *s1 = malloc(size), *s2 = malloc(size);
	struct kvm_ppc_resize_hpt rz = { .shift = ORDER + 1 };
	struct kvm_get_htab_header h;
	unsigned int k, bolted = 0, bad = 0;
	uint32_t order = ORDER;
	struct scan sc;
	long ret, rfd, wfd;
	int reads, tries;
	ssize_t n;

	make_entries();
	is(kvm(vm, KVM_PPC_ALLOCATE_HTAB, &order), 0, "ALLOCATE_HTAB(18)");
	is(order, ORDER, "  the order is left as it was");

	/* errors found before an fd is made */
	is(htab_fd(sys, 0, 0), -EINVAL, "GET_HTAB_FD on the system fd: EINVAL");
	is(htab_fd(vm, 4, 0), -EINVAL, "GET_HTAB_FD with flags 4: EINVAL");
	is(kvm(vm, KVM_PPC_GET_HTAB_FD, (void *)8), -EFAULT,
	   "GET_HTAB_FD with an unreadable struct: EFAULT");

	wfd = htab_fd(vm, KVM_GET_HTAB_WRITE, 0);
	ok(wfd >= 0, "GET_HTAB_FD(WRITE) gives an fd (%s)", res(wfd));
	if (wfd < 0)
		goto out;
	ok(fd_is((int)wfd, O_WRONLY, true), "  write-only, close-on-exec");
	is(read((int)wfd, s1, 64) < 0 ? -errno : 0, -EBADF,
	   "  read on it: EBADF");
	is(kvm((int)wfd, KVM_PPC_GET_HTAB_FD, &(struct kvm_get_htab_fd){ 0 }),
	   -ENOTTY, "  GET_HTAB_FD on it: ENOTTY");
	for (k = 0; k < n_entries; k++)
		bad += write_entry((int)wfd, &table[k]) != 24;
	is(bad, 0, "fill the table: %u records written, one per write()",
	   n_entries);
	close((int)wfd);

	rfd = htab_fd(vm, 0, 0);
	ok(rfd >= 0, "GET_HTAB_FD(read) gives an fd (%s)", res(rfd));
	if (rfd < 0)
		goto out;
	ok(fd_is((int)rfd, O_RDONLY, true), "  read-only, close-on-exec");
	is(write((int)rfd, s1, 24) < 0 ? -errno : 0, -EBADF,
	   "  write on it: EBADF");
	n = save((int)rfd, s1, size, &reads);
	ok(n > 0, "save loop: %zd bytes in %d reads of 2048", n, reads);
	len1 = n > 0 ? (size_t)n : 0;
	sc = parse(s1, len1, NPTE, false);
	ok(sc.sane, "  whole records inside the table");
	is(sc.covered, NPTE, "  the first pass covers every index");
	is(sc.valid, n_entries, "  every entry written is there");
	is(sc.matched, n_entries, "  with its V (plus HVLOCK) and R");
	is(read((int)rfd, s2, 2048), 0, "  then nothing is dirty: 0");

	/* the load path: reset, one write fd for the section */
	is(kvm(vm, KVM_PPC_ALLOCATE_HTAB, &order), 0,
	   "ALLOCATE_HTAB(18) again clears the table");
	sc = read_table(vm, s2, size, &len2, NPTE, false);
	is(sc.valid, 0, "  no entry left");
	wfd = htab_fd(vm, KVM_GET_HTAB_WRITE, 0);
	ok(wfd >= 0, "load loop: a write fd (%s)", res(wfd));
	if (wfd < 0)
		goto out_r;
	for (pos = 0, bad = 0; pos + 8 <= len1;) {
		size_t rec;

		memcpy(&h, s1 + pos, 8);
		rec = 8 + 16 * (size_t)h.n_valid;
		bad += write((int)wfd, s1 + pos, rec) != (ssize_t)rec;
		pos += rec;
	}
	is(bad, 0, "  every saved record written back whole");
	close((int)wfd);
	sc = read_table(vm, s2, size, &len2, NPTE, false);
	ok(len2 == len1 && !memcmp(s1, s2, len1),
	   "  a new read fd streams exactly what was saved");

	/* the guest resizes: PREPARE until ready, then COMMIT */
	ret = kvm(vm, KVM_PPC_RESIZE_HPT_PREPARE, &rz);
	is(ret, 100, "RESIZE_HPT_PREPARE(19) starts: 100 ms");
	for (tries = 0; ret == 100 && tries < 500; tries++) {
		sleep_ms(10);
		ret = kvm(vm, KVM_PPC_RESIZE_HPT_PREPARE, &rz);
	}
	is(ret, 0, "  and becomes ready");
	is(kvm(vm, KVM_PPC_RESIZE_HPT_COMMIT, &rz), 0,
	   "RESIZE_HPT_COMMIT(19) (the written VRMA entry made the MMU "
	   "ready)");
	for (k = 0; k < n_entries; k++)
		bolted += !!(table[k].v & 0x10);
	sc = read_table(vm, s2, size, &len2, NPTE * 2, true);
	ok(sc.sane, "  the grown table streams whole records");
	is(sc.covered, NPTE * 2, "  of its 32768 indices");
	is(sc.valid, bolted, "  the bolted entries survived, no other");
	is(sc.matched, bolted, "  each rehashed to its new position");
out_r:
	close((int)rfd);
out:
	free(s1);
	free(s2);
}

static void rma_checks(int sys, int vm)
{
	struct kvm_allocate_rma a = { 0 };
	size_t len;
	unsigned char *m1, *m2;
	struct stat st;
	long fd, more[2];
	int lo, k;

	if (kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_RMA) != 2) {
		diag("KVM_CAP_PPC_RMA is not 2: no RMA to allocate");
		return;
	}
	is(kvm(sys, KVM_ALLOCATE_RMA, &a), -EINVAL,
	   "ALLOCATE_RMA on the system fd: EINVAL");
	fd = kvm(vm, KVM_ALLOCATE_RMA, &a);
	ok(fd >= 0, "ALLOCATE_RMA gives an fd (%s)", res(fd));
	if (fd < 0)
		return;
	is((long)a.rma_size, 64L << 20, "  rma_size is the pool's 64 MiB");
	ok(fd_is((int)fd, O_RDWR, false),
	   "  read-write, not close-on-exec (3.1)");
	/* QEMU <= 2.x: map min(rma_size, 256 MiB) shared, keep the fd */
	len = a.rma_size < (256UL << 20) ? a.rma_size : 256UL << 20;
	m1 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	m2 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	ok(m1 != MAP_FAILED && m2 != MAP_FAILED, "  it can be mapped shared");
	if (m1 != MAP_FAILED && m2 != MAP_FAILED) {
		ok(!m1[0] && !m1[len - 1], "  a new RMA is zero");
		memcpy(m1 + 4096, "real mode area", 15);
		m1[len - 1] = 0x5a;
		ok(!memcmp(m2 + 4096, "real mode area", 15) &&
			   m2[len - 1] == 0x5a,
		   "  two mappings share their bytes");
		munmap(m1, len);
		munmap(m2, len);
	}

	/* Q17: rma_size cannot be written, the fd is installed anyway */
	lo = lowest_free();
	is(kvm(vm, KVM_ALLOCATE_RMA, (void *)8), -EFAULT,
	   "ALLOCATE_RMA with an unwritable struct: EFAULT");
	ok(!fstat(lo, &st) && S_ISREG(st.st_mode) &&
		   st.st_size == (off_t)(64 << 20),
	   "  and fd %d is the RMA all the same (Q17)", lo);
	for (k = 0; k < 2; k++)
		more[k] = kvm(vm, KVM_ALLOCATE_RMA, &a);
	ok(more[0] >= 0 && more[1] >= 0, "the pool's last two entries");
	is(kvm(vm, KVM_ALLOCATE_RMA, &a), -ENOMEM, "  then ENOMEM");
	is(kvm(vm, KVM_ALLOCATE_RMA, (void *)8), -ENOMEM,
	   "  ENOMEM comes before the struct is written");
}

/* What Linux on another architecture answers: nothing powerpc exists. */
static void real_kvm_checks(int sys, int vm)
{
	struct kvm_get_htab_fd g = { 0 };
	struct kvm_ppc_resize_hpt rz = { .shift = 19 };
	struct kvm_allocate_rma a = { 0 };
	struct kvm_s390_cmma_log log = { .count = 1 };
	uint32_t order = ORDER;

	is(kvm(vm, KVM_PPC_ALLOCATE_HTAB, &order), -ENOTTY,
	   "ALLOCATE_HTAB: ENOTTY");
	is(kvm(vm, KVM_PPC_GET_HTAB_FD, &g), -ENOTTY, "GET_HTAB_FD: ENOTTY");
	is(kvm(vm, KVM_PPC_RESIZE_HPT_PREPARE, &rz), -ENOTTY,
	   "RESIZE_HPT_PREPARE: ENOTTY");
	is(kvm(vm, KVM_ALLOCATE_RMA, &a), -ENOTTY, "ALLOCATE_RMA: ENOTTY");
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, &log), -ENOTTY,
	   "S390_GET_CMMA_BITS: ENOTTY");
	is(kvm(sys, KVM_PPC_GET_HTAB_FD, &g), -EINVAL,
	   "GET_HTAB_FD on the system fd: EINVAL");
	is(kvm(sys, KVM_ALLOCATE_RMA, &a), -EINVAL,
	   "ALLOCATE_RMA on the system fd: EINVAL");
}

/*
 * The kernel takes an ioctl's request as an unsigned int: bits above the
 * low 32 are ignored, and the call is the same ioctl.
 */
#define HIGH_BITS 0xFFFFFFFF00000000UL

static void high_bits_checks(int sys, int vm)
{
	struct kvm_get_htab_fd g = { 0 };
	long fd;

	fd = kvm_n(sys, KVM_CREATE_VM | HIGH_BITS, 0);
	ok(fd >= 0 && fd_is((int)fd, O_RDWR, true),
	   "CREATE_VM with high bits set in the request: a VM fd (%s)",
	   res(fd));
	if (fd >= 0)
		close((int)fd);
	fd = kvm(vm, KVM_PPC_GET_HTAB_FD | HIGH_BITS, &g);
	ok(fd >= 0 && fd_is((int)fd, O_RDONLY, true),
	   "GET_HTAB_FD with high bits set in the request: a read fd (%s)",
	   res(fd));
	if (fd >= 0)
		close((int)fd);
}

static void test_ppc(void)
{
	int sys = open_dev();
	long vm;

	diag("ppc: %s (%s)", dev,
	     expect == REAL	? "a real KVM" :
	     expect == LAUNCHER ? "kvmshim under kvmshim-run" :
				  "kvmshim without kvmshim-run");
	is(kvm_n(sys, KVM_GET_API_VERSION, 0), KVM_API_VERSION,
	   "KVM_GET_API_VERSION");
	is(kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_HTAB_FD),
	   expect == REAL ? 0 : 1, "KVM_CAP_PPC_HTAB_FD");
	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	if (expect == NOLAUNCHER) {
		/* D6: every check passes, the fd cannot be made */
		is(vm, -EOPNOTSUPP,
		   "CREATE_VM without the launcher: EOPNOTSUPP");
		is(kvm_n(sys, KVM_CREATE_VM, 2), -EINVAL,
		   "CREATE_VM(PR): EINVAL all the same");
		is(htab_fd(sys, 0, 0), -EINVAL,
		   "GET_HTAB_FD on the system fd: EINVAL");
		goto out;
	}
	ok(vm >= 0, "KVM_CREATE_VM gives an fd (%s)", res(vm));
	if (vm < 0)
		goto out;
	if (expect == REAL) {
		real_kvm_checks(sys, (int)vm);
		goto out_vm;
	}
	ok(fd_is((int)vm, O_RDWR, true), "  read-write, close-on-exec");
	is(kvm_n((int)vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1,
	   "  CHECK_EXTENSION works on it");
	is(kvm_n(sys, KVM_CREATE_VM, 2), -EINVAL, "CREATE_VM(PR): EINVAL");
	is(kvm_n((int)vm, KVM_CREATE_VM, 0), -ENOTTY,
	   "CREATE_VM on a VM fd: ENOTTY");
	high_bits_checks(sys, (int)vm);
	htab_checks(sys, (int)vm);
	rma_checks(sys, (int)vm);
out_vm:
	close((int)vm);
out:
	close(sys);
}

/* Is /dev/kvm kvmshim's node?  A VM, a table and, on ppc970, an RMA. */
static void test_basic(void)
{
	int sys = open_dev();
	uint32_t order = ORDER;
	struct kvm_allocate_rma a = { 0 };
	long vm, fd;

	is(kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_HTAB_FD), 1,
	   "%s is kvmshim's ppc node (KVM_CAP_PPC_HTAB_FD)", dev);
	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(vm >= 0, "KVM_CREATE_VM (%s)", res(vm));
	if (vm >= 0) {
		is(kvm((int)vm, KVM_PPC_ALLOCATE_HTAB, &order), 0,
		   "ALLOCATE_HTAB");
		if (kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_RMA) == 2) {
			fd = kvm((int)vm, KVM_ALLOCATE_RMA, &a);
			ok(fd >= 0 && a.rma_size == 64 << 20,
			   "ALLOCATE_RMA (%s)", res(fd));
			if (fd >= 0)
				close((int)fd);
		}
		close((int)vm);
	}
	close(sys);
}

/* ---- processes and threads ---- */

/* A VM of one's own, with a table and a read fd that works. */
static void own_vm(const char *who)
{
	int sys = open_dev();
	uint32_t order = ORDER;
	unsigned char buf[64];
	long vm, fd;

	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(vm >= 0, "%s: CREATE_VM (%s)", who, res(vm));
	if (vm >= 0) {
		is(kvm((int)vm, KVM_PPC_ALLOCATE_HTAB, &order), 0,
		   "%s: ALLOCATE_HTAB", who);
		fd = htab_fd((int)vm, 0, 0);
		ok(fd >= 0, "%s: GET_HTAB_FD (%s)", who, res(fd));
		if (fd >= 0) {
			/* an empty table: one record of NPTE invalid */
			is(read((int)fd, buf, sizeof(buf)), 8,
			   "%s: its first read", who);
			close((int)fd);
		}
		close((int)vm);
	}
	close(sys);
}

static void test_fork(const char *self)
{
	int sys = open_dev(), st;
	uint32_t order = ORDER;
	struct kvm_allocate_rma a;
	long vm;
	pid_t pid;

	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(vm >= 0, "parent: CREATE_VM (%s)", res(vm));
	if (vm < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Linux: a VM belongs to the address space that made it */
		is(kvm((int)vm, KVM_PPC_GET_HTAB_FD,
		       &(struct kvm_get_htab_fd){ 0 }),
		   -EIO, "child: GET_HTAB_FD on the parent's VM: EIO");
		is(kvm((int)vm, KVM_PPC_ALLOCATE_HTAB, &order), -EIO,
		   "child: ALLOCATE_HTAB on it: EIO");
		if (kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_RMA) == 2)
			is(kvm((int)vm, KVM_ALLOCATE_RMA, &a), -EIO,
			   "child: ALLOCATE_RMA on it: EIO");
		own_vm("child");
		fflush(stdout);
		_exit(n_failed ? 1 : 0);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		   !WEXITSTATUS(st),
	   "the child's checks passed");
	is(kvm((int)vm, KVM_PPC_ALLOCATE_HTAB, &order), 0,
	   "parent: its VM still works");
	/* the filter survives exec: a new program is served too */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "-d", dev, "own", (char *)NULL);
		_exit(127);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		   !WEXITSTATUS(st),
	   "an exec'd child makes and uses its own VM");
	close((int)vm);
	close(sys);
}

struct thread_arg {
	int sys;
	long vm;
	long fd;
};

static void *thread_main(void *p)
{
	struct thread_arg *t = p;
	uint32_t order = ORDER;

	t->vm = kvm_n(t->sys, KVM_CREATE_VM, 0);
	if (t->vm >= 0 && !kvm((int)t->vm, KVM_PPC_ALLOCATE_HTAB, &order))
		t->fd = htab_fd((int)t->vm, 0, 0);
	return NULL;
}

static void test_threads(void)
{
	struct thread_arg t[4];
	pthread_t th[4];
	int sys = open_dev(), k, good = 0;
	uint32_t order = ORDER;

	for (k = 0; k < 4; k++) {
		t[k] = (struct thread_arg){ .sys = sys, .vm = -1, .fd = -1 };
		pthread_create(&th[k], NULL, thread_main, &t[k]);
	}
	for (k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		good += t[k].vm >= 0 && t[k].fd >= 0;
	}
	is(good, 4, "4 threads at once: CREATE_VM, GET_HTAB_FD");
	is(t[0].vm >= 0 ? kvm((int)t[0].vm, KVM_PPC_ALLOCATE_HTAB, &order) :
			  -EBADF,
	   0, "another thread of the same process uses a thread's VM");
	for (k = 0; k < 4; k++) {
		if (t[k].fd >= 0)
			close((int)t[k].fd);
		if (t[k].vm >= 0)
			close((int)t[k].vm);
	}
	close(sys);
}

/* Lets the test look at the daemon: prints the tag, waits for a line. */
static void pause_for(const char *tag)
{
	char line[64];

	printf("# pause %s\n", tag);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		diag("no answer to pause %s", tag);
}

static void test_emfile(void)
{
	int sys = open_dev(), lo;
	struct rlimit rl, low;
	struct kvm_allocate_rma a;
	long vm, ret;
	bool rma;

	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(vm >= 0, "CREATE_VM (%s)", res(vm));
	if (vm < 0)
		return;
	rma = kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_PPC_RMA) == 2;
	getrlimit(RLIMIT_NOFILE, &rl);
	/* every new descriptor is over the limit */
	lo = lowest_free();
	low = rl;
	low.rlim_cur = (rlim_t)lo;
	setrlimit(RLIMIT_NOFILE, &low);
	is(kvm_n(sys, KVM_CREATE_VM, 0), -EMFILE,
	   "CREATE_VM at the fd limit: EMFILE");
	is(htab_fd((int)vm, 0, 0), -EMFILE,
	   "GET_HTAB_FD at the fd limit: EMFILE");
	if (rma) {
		a.rma_size = 0x1234;
		is(kvm((int)vm, KVM_ALLOCATE_RMA, &a), -EMFILE,
		   "ALLOCATE_RMA at the fd limit: EMFILE");
		is((long)a.rma_size, 0x1234, "  rma_size not written");
	}
	pause_for("emfile");
	setrlimit(RLIMIT_NOFILE, &rl);
	ret = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(ret >= 0, "below the limit again: CREATE_VM (%s)", res(ret));
	if (ret >= 0)
		close((int)ret);
	close((int)vm);
	close(sys);
}

/* For the kill tests: one call, announced first. */
static void test_hold(const char *what)
{
	int sys = open_dev();
	struct kvm_allocate_rma a;
	long vm = -1, ret;

	if (strcmp(what, "create")) {
		vm = kvm_n(sys, KVM_CREATE_VM, 0);
		ok(vm >= 0, "CREATE_VM (%s)", res(vm));
	}
	printf("# calling %s in %d\n", what, (int)getpid());
	fflush(stdout);
	if (!strcmp(what, "create"))
		ret = kvm_n(sys, KVM_CREATE_VM, 0);
	else if (!strcmp(what, "rma"))
		ret = kvm((int)vm, KVM_ALLOCATE_RMA, &a);
	else
		ret = htab_fd((int)vm, 0, 0);
	printf("# returned %s\n", res(ret));
	fflush(stdout);
	ok(ret >= 0, "%s (%s)", what, res(ret));
}

/* The supervisor dies while a grandchild waits in a trapped call. */
static void test_orphan(void)
{
	int sys = open_dev(), st;
	pid_t pid;
	long ret;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("# calling create in %d\n", (int)getpid());
		fflush(stdout);
		ret = kvm_n(sys, KVM_CREATE_VM, 0);
		/* the kernel's answer once the listener is gone */
		printf("# orphan: CREATE_VM returned %s\n", res(ret));
		fflush(stdout);
		_exit(ret == -ENOSYS ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	ok(false, "the supervisor was expected to be killed");
}

static volatile sig_atomic_t got_signal;

static void on_usr1(int sig)
{
	(void)sig;
	got_signal++;
}

/* A signal arrives while CREATE_VM waits for the supervisor. */
static void test_signal(bool restart)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int sys = open_dev(), st;
	pid_t parent = getpid(), pid;
	long vm;

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sleep_ms(300);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	ok(vm >= 0, "CREATE_VM with a signal on the way (%s)", res(vm));
	waitpid(pid, &st, 0);
	is(got_signal, 1, "  the handler ran once");
	pause_for("signal");
	if (vm >= 0)
		close((int)vm);
	close(sys);
}

/* ---- s390: CMMA migration with QEMU's buffer sizes ---- */

#define QEMU_COUNT 524288
#define SLOT_PAGES 524288ULL
#define HOLE_GFN (2 * SLOT_PAGES) /* slot 1 starts here */

static uint8_t state_of(uint64_t g)
{
	return (uint8_t)(((g * 7) ^ (g >> 9) ^ (g >> 17)) & 0x43);
}

static long memslot(int vm, uint32_t slot, uint64_t gfn, uint64_t pages,
		    uint64_t uaddr)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = gfn << 12,
		.memory_size = pages << 12,
		.userspace_addr = uaddr,
	};

	return kvm(vm, KVM_SET_USER_MEMORY_REGION, &m);
}

static long attr(int vm, unsigned long req, uint32_t group, uint64_t a,
		 void *addr)
{
	struct kvm_device_attr da = {
		.group = group,
		.attr = a,
		.addr = (uintptr_t)addr,
	};

	return kvm(vm, req, &da);
}

static long cmma(int vm, unsigned long req, struct kvm_s390_cmma_log *log,
		 uint64_t start, uint32_t count, uint32_t flags, void *values)
{
	memset(log, 0, sizeof(*log));
	log->start_gfn = start;
	log->count = count;
	log->flags = flags;
	log->mask = ~0ULL;
	log->values = (uintptr_t)values;
	return kvm(vm, req, log);
}

static uint64_t gfn_of(uint64_t i)
{
	return i < SLOT_PAGES ? i : i - SLOT_PAGES + HOLE_GFN;
}

/* QEMU's save loop; got[] is indexed by frame of the two slots. */
static long drain(int vm, uint8_t *buf, uint8_t *got, uint32_t *first,
		  uint64_t *values)
{
	struct kvm_s390_cmma_log log, peek;
	uint64_t cur = 0, i;
	uint8_t one;
	long calls = 0, ret;

	*values = 0;
	for (;;) {
		ret = cmma(vm, KVM_S390_GET_CMMA_BITS, &log, cur, QEMU_COUNT, 0,
			   buf);
		if (ret)
			return ret;
		if (!calls++)
			*first = log.count;
		if (!log.count)
			break;
		for (i = 0; i < log.count; i++) {
			uint64_t g = log.start_gfn + i;

			if (g < SLOT_PAGES)
				got[g] = buf[i];
			else if (g >= HOLE_GFN && g < HOLE_GFN + SLOT_PAGES)
				got[g - HOLE_GFN + SLOT_PAGES] = buf[i];
			else
				return -ERANGE;
		}
		*values += log.count;
		cmma(vm, KVM_S390_GET_CMMA_BITS, &peek, 0, 1,
		     KVM_S390_CMMA_PEEK, &one);
		if (!peek.remaining)
			break;
		cur = log.start_gfn + log.count;
		if (calls > 64)
			return -ELOOP;
	}
	return calls;
}

/* Linux writes GET's values, then the whole struct, and only on success. */
static void cmma_overlaps(int vm)
{
	struct kvm_s390_cmma_log log, before;
	uint64_t *words = (uint64_t *)&log;

	memset(&log, 0, sizeof(log));
	log.start_gfn = 40;
	log.count = 8;
	log.flags = KVM_S390_CMMA_PEEK;
	log.values = (uintptr_t)&words[1];
	before = log;
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, &log), 0,
	   "PEEK whose values are inside its own struct");
	ok(log.start_gfn == 40 && log.count == 8 &&
		   log.flags == KVM_S390_CMMA_PEEK &&
		   log.values == before.values,
	   "  the struct is written last, over the values");
	log.values = (uintptr_t)&log;
	before = log;
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, &log), 0,
	   "PEEK whose values are its own struct");
	ok(log.start_gfn == 40 && log.count == 8 &&
		   log.flags == KVM_S390_CMMA_PEEK &&
		   log.values == before.values,
	   "  the struct is written last, over the values");
	log.values = (uintptr_t)-100;
	log.count = 200;
	before = log;
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, &log), -EFAULT,
	   "PEEK whose values wrap past the end of memory: EFAULT");
	ok(!memcmp(&log, &before, sizeof(log)), "  the struct is as it was");
}

static void cmma_errors(int sys, int vm, uint8_t *want)
{
	struct kvm_s390_cmma_log log, peek;
	uint8_t *ro, *two, one;
	long ret;
	int st;
	pid_t pid;

	is(cmma(sys, KVM_S390_GET_CMMA_BITS, &log, 0, 1, KVM_S390_CMMA_PEEK,
		&one),
	   -EINVAL, "GET_CMMA_BITS on the system fd: EINVAL");
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, (void *)8), -EFAULT,
	   "GET with an unreadable struct: EFAULT");
	cmma_overlaps(vm);
	is(cmma(vm, KVM_S390_GET_CMMA_BITS, &log, 0, 1, 2, &one), -EINVAL,
	   "GET with flags 2: EINVAL");
	is(cmma(vm, KVM_S390_SET_CMMA_BITS, &log, 0, KVM_S390_SKEYS_MAX + 1, 0,
		want),
	   -EINVAL, "SET of KVM_S390_SKEYS_MAX + 1 values: EINVAL");
	/* row 7: unreadable values change nothing */
	two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(two, 3, 4096);
	mprotect(two + 4096, 4096, PROT_NONE);
	is(cmma(vm, KVM_S390_SET_CMMA_BITS, &log, 0, 8192, 0, two), -EFAULT,
	   "SET whose values are half unreadable: EFAULT");
	ret = cmma(vm, KVM_S390_GET_CMMA_BITS, &peek, 0, 4096,
		   KVM_S390_CMMA_PEEK, two);
	ok(!ret && peek.count == 4096 && !memcmp(two, want, 4096),
	   "  and changed nothing");
	munmap(two, 8192);

	/* rows 9, 10: Linux writes the values, then the struct */
	attr(vm, KVM_SET_DEVICE_ATTR, KVM_S390_VM_MIGRATION,
	     KVM_S390_VM_MIGRATION_STOP, NULL);
	attr(vm, KVM_SET_DEVICE_ATTR, KVM_S390_VM_MIGRATION,
	     KVM_S390_VM_MIGRATION_START, NULL);
	ro = mmap(NULL, QEMU_COUNT, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		  0);
	memset(&log, 0, sizeof(log));
	log.count = QEMU_COUNT;
	log.values = (uintptr_t)ro;
	log.remaining = 0x5a5a;
	is(kvm(vm, KVM_S390_GET_CMMA_BITS, &log), -EFAULT,
	   "GET into an unwritable buffer: EFAULT");
	ok(log.count == QEMU_COUNT && log.start_gfn == 0 &&
		   log.remaining == 0x5a5a,
	   "  the struct is not written (no D8 through kvmshim-run)");
	cmma(vm, KVM_S390_GET_CMMA_BITS, &peek, 0, 1, KVM_S390_CMMA_PEEK, &one);
	is((long)peek.remaining, (long)SLOT_PAGES,
	   "  the dirty bits it took are gone, as in Linux");
	munmap(ro, QEMU_COUNT);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		ret = cmma(vm, KVM_S390_GET_CMMA_BITS, &log, 0, 1,
			   KVM_S390_CMMA_PEEK, &one);
		_exit(ret == -EIO ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		   !WEXITSTATUS(st),
	   "a forked child's GET on the parent's VM: EIO");
}

static void test_s390(void)
{
	size_t total = 2 * SLOT_PAGES;
	uint8_t *want = malloc(total), *got = calloc(total, 1);
	uint8_t *buf = malloc(KVM_S390_SKEYS_MAX), one;
	struct kvm_s390_cmma_log log;
	int sys = open_dev();
	uint64_t i, values, status = 9;
	uint32_t first = 0;
	long vm, ret, calls;

	diag("s390x: %s", dev);
	is(kvm_n(sys, KVM_CHECK_EXTENSION, KVM_CAP_S390_CMMA_MIGRATION),
	   expect == REAL ? 0 : 1, "KVM_CAP_S390_CMMA_MIGRATION");
	vm = kvm_n(sys, KVM_CREATE_VM, 0);
	if (expect == NOLAUNCHER) {
		is(vm, -EOPNOTSUPP,
		   "CREATE_VM without the launcher: EOPNOTSUPP");
		goto out;
	}
	ok(vm >= 0, "KVM_CREATE_VM (%s)", res(vm));
	if (vm < 0)
		goto out;
	if (expect == REAL) {
		is(cmma((int)vm, KVM_S390_GET_CMMA_BITS, &log, 0, 1,
			KVM_S390_CMMA_PEEK, &one),
		   -ENOTTY, "GET_CMMA_BITS: ENOTTY");
		is(cmma((int)vm, KVM_S390_SET_CMMA_BITS, &log, 0, 1, 0, &one),
		   -ENOTTY, "SET_CMMA_BITS: ENOTTY");
		is(cmma(sys, KVM_S390_GET_CMMA_BITS, &log, 0, 1, 0, &one),
		   -EINVAL, "GET_CMMA_BITS on the system fd: EINVAL");
		goto out_vm;
	}
	/* 4 GiB of guest in two slots with a hole; no memory behind them */
	is(memslot((int)vm, 0, 0, SLOT_PAGES, 1ULL << 40), 0, "memslot 0");
	is(memslot((int)vm, 1, HOLE_GFN, SLOT_PAGES, 1ULL << 41), 0,
	   "memslot 1");
	is(attr((int)vm, KVM_HAS_DEVICE_ATTR, KVM_S390_VM_MEM_CTRL,
		KVM_S390_VM_MEM_ENABLE_CMMA, NULL),
	   0, "HAS_DEVICE_ATTR ENABLE_CMMA");
	is(attr((int)vm, KVM_SET_DEVICE_ATTR, KVM_S390_VM_MEM_CTRL,
		KVM_S390_VM_MEM_ENABLE_CMMA, NULL),
	   0, "ENABLE_CMMA");
	for (i = 0; i < total; i++)
		want[i] = state_of(gfn_of(i));
	/* the destination's path: one SET per block of QEMU's size */
	is(cmma((int)vm, KVM_S390_SET_CMMA_BITS, &log, 0, QEMU_COUNT, 0, want),
	   0, "SET_CMMA_BITS of 524288 values (slot 0)");
	is(cmma((int)vm, KVM_S390_SET_CMMA_BITS, &log, HOLE_GFN, QEMU_COUNT, 0,
		want + SLOT_PAGES),
	   0, "SET_CMMA_BITS of 524288 values (slot 1)");
	ret = cmma((int)vm, KVM_S390_GET_CMMA_BITS, &log, 0, QEMU_COUNT,
		   KVM_S390_CMMA_PEEK, buf);
	ok(!ret && log.count == QEMU_COUNT && !memcmp(buf, want, QEMU_COUNT),
	   "PEEK of 524288 values reads back every value (%s, count %u)",
	   res(ret), log.count);
	memset(buf, 0, QEMU_COUNT);
	ret = cmma((int)vm, KVM_S390_GET_CMMA_BITS | HIGH_BITS, &log, 0,
		   QEMU_COUNT, KVM_S390_CMMA_PEEK, buf);
	ok(!ret && log.count == QEMU_COUNT && !memcmp(buf, want, QEMU_COUNT),
	   "  the same with high bits set in the request (%s, count %u)",
	   res(ret), log.count);
	ret = cmma((int)vm, KVM_S390_GET_CMMA_BITS, &log, HOLE_GFN,
		   KVM_S390_SKEYS_MAX, KVM_S390_CMMA_PEEK, buf);
	ok(!ret && log.count == SLOT_PAGES &&
		   !memcmp(buf, want + SLOT_PAGES, SLOT_PAGES),
	   "PEEK of KVM_S390_SKEYS_MAX stops at the end of memory (%u)",
	   log.count);

	/* the source's path */
	is(attr((int)vm, KVM_SET_DEVICE_ATTR, KVM_S390_VM_MIGRATION,
		KVM_S390_VM_MIGRATION_START, NULL),
	   0, "migration START: every page is dirty");
	attr((int)vm, KVM_GET_DEVICE_ATTR, KVM_S390_VM_MIGRATION,
	     KVM_S390_VM_MIGRATION_STATUS, &status);
	is((long)status, 1, "  STATUS says so");
	calls = drain((int)vm, buf, got, &first, &values);
	ok(calls > 0 && calls <= 4, "QEMU's save loop ends after %ld calls",
	   calls);
	is(first, QEMU_COUNT, "  its first GET returns all 524288 values");
	is((long)values, (long)total, "  every page is reported once");
	ok(!memcmp(got, want, total), "  with the state SET gave it");
	ret = cmma((int)vm, KVM_S390_GET_CMMA_BITS, &log, 0, QEMU_COUNT, 0,
		   buf);
	ok(!ret && !log.count && !log.remaining && !log.start_gfn,
	   "a final GET finds nothing: the all-zero struct");
	cmma((int)vm, KVM_S390_GET_CMMA_BITS, &log, 0, 1, KVM_S390_CMMA_PEEK,
	     &one);
	is((long)log.remaining, 0, "  remaining 0");
	cmma_errors(sys, (int)vm, want);
	attr((int)vm, KVM_SET_DEVICE_ATTR, KVM_S390_VM_MIGRATION,
	     KVM_S390_VM_MIGRATION_STOP, NULL);
out_vm:
	close((int)vm);
out:
	close(sys);
	free(want);
	free(got);
	free(buf);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vmm [-d DEVICE] [-x launcher|nolauncher|real] "
		"ppc|basic|s390|fork|own|threads|emfile|hold-create|hold-rma|"
		"hold-htab|orphan|signal|signal-norestart...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *self = argv[0];
	int c, i;

	while ((c = getopt(argc, argv, "d:x:")) != -1) {
		if (c == 'd')
			dev = optarg;
		else if (c == 'x' && !strcmp(optarg, "real"))
			expect = REAL;
		else if (c == 'x' && !strcmp(optarg, "nolauncher"))
			expect = NOLAUNCHER;
		else if (c == 'x' && !strcmp(optarg, "launcher"))
			expect = LAUNCHER;
		else
			usage();
	}
	if (optind >= argc)
		usage();
	/* "/proc/self/exe": the exec test finds this same build */
	if (!strchr(self, '/'))
		self = "/proc/self/exe";
	for (i = optind; i < argc; i++) {
		const char *t = argv[i];

		if (!strcmp(t, "ppc"))
			test_ppc();
		else if (!strcmp(t, "basic"))
			test_basic();
		else if (!strcmp(t, "s390"))
			test_s390();
		else if (!strcmp(t, "fork"))
			test_fork(self);
		else if (!strcmp(t, "own"))
			own_vm("exec'd");
		else if (!strcmp(t, "threads"))
			test_threads();
		else if (!strcmp(t, "emfile"))
			test_emfile();
		else if (!strncmp(t, "hold-", 5))
			test_hold(t + 5);
		else if (!strcmp(t, "orphan"))
			test_orphan();
		else if (!strcmp(t, "signal"))
			test_signal(true);
		else if (!strcmp(t, "signal-norestart"))
			test_signal(false);
		else
			usage();
	}
	printf("# vmm: %u checks, %u failed\n", n_tests, n_failed);
	return n_failed || !n_tests ? 1 : 0;
}
