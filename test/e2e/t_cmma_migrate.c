// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU's CMMA migration through a real CUSE node (spec: clients.md §3,
 * cuse.md §7.3-7.4): the source's stattrib loop converges on a guest with
 * scattered dirty pages, the destination's SET applies every value, and
 * the transport limits behave as documented (D1, D8).  Also the VM
 * attributes through the retry rounds, and the creator check.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"
#include "lib/kvmcalls.h"

#define PAGES (1ULL << 18) /* 1 GiB */
#define QEMU_COUNT 524288
#define CUSE_VALUES 131040 /* 128 KiB minus the struct */
#define SKEYS_MAX 1048576

static struct e2e_daemon daemon_;

static long get(int vm, struct ks_s390_cmma_log *log, uint64_t start,
		uint32_t count, uint32_t flags, void *values)
{
	memset(log, 0, sizeof(*log));
	log->start_gfn = start;
	log->count = count;
	log->flags = flags;
	log->values = (uintptr_t)values;
	return e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)log);
}

static long set(int vm, uint64_t start, uint32_t count, uint64_t mask,
		const void *values)
{
	struct ks_s390_cmma_log log = {
		.start_gfn = start,
		.count = count,
		.mask = mask,
		.values = (uintptr_t)values,
	};

	return e2e_ioctl(vm, KS_S390_SET_CMMA_BITS, (unsigned long)&log);
}

/* A VM with PAGES of memory in two slots with a hole, CMMA enabled. */
static int guest_vm(bool log_dirty)
{
	int vm = e2e_open(daemon_.vm_path, O_RDWR);
	uint32_t f = log_dirty ? KS_MEM_LOG_DIRTY_PAGES : 0;
	struct kvmshim_vcpus v = { .created = 1 };

	if (e2e_s390_region(vm, 0, f, 0, PAGES / 2, 1ULL << 32) ||
	    e2e_s390_region(vm, 1, f, PAGES, PAGES / 2, 1ULL << 33) ||
	    e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0,
			    KS_S390_VM_MEM_ENABLE_CMMA, NULL) ||
	    e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&v))
		e2e_bail("cannot set up a guest");
	return vm;
}

static bool in_memory(uint64_t g)
{
	return g < PAGES / 2 || (g >= PAGES && g < PAGES + PAGES / 2);
}

/* Frame index of gfn g in a dense array of the guest's memory. */
static uint64_t idx(uint64_t g)
{
	return g < PAGES ? g : g - PAGES / 2;
}

/*
 * QEMU's cmma_save loop: GET 524288 values from the current gfn, a
 * one-value PEEK for remaining, resume at start_gfn + count; until count
 * or remaining is 0.  Records each value in got[].  Returns the calls.
 */
static long qemu_save(int vm, uint8_t *buf, uint8_t *got, bool *seen,
		      uint64_t *values)
{
	struct ks_s390_cmma_log log, peek;
	uint64_t cur = 0, i;
	uint8_t one;
	long calls = 0;

	*values = 0;
	for (;;) {
		if (get(vm, &log, cur, QEMU_COUNT, 0, buf))
			return -1;
		calls++;
		if (log.count > CUSE_VALUES)
			return -1;
		if (!log.count)
			break;
		for (i = 0; i < log.count; i++) {
			uint64_t g = log.start_gfn + i;

			if (!in_memory(g))
				return -1;
			got[idx(g)] = buf[i];
			seen[idx(g)] = true;
		}
		*values += log.count;
		get(vm, &peek, 0, 1, KS_S390_CMMA_PEEK, &one);
		if (!peek.remaining)
			break;
		cur = log.start_gfn + log.count;
		if (calls > 100000)
			return -1;
	}
	return calls;
}

static void test_source_and_destination(void)
{
	uint8_t *buf = malloc(QEMU_COUNT), *got = calloc(PAGES, 1);
	uint8_t *want = calloc(PAGES, 1), *back = malloc(CUSE_VALUES);
	bool *seen = calloc(PAGES, sizeof(bool)), *dirty;
	uint64_t g, n, values, ndirty = 0, seed = 12345;
	struct ks_s390_cmma_log log;
	long calls, ret = 0;
	int src, dst;
	bool ok;

	dirty = calloc(PAGES, sizeof(bool));
	e2e_diag("source: QEMU's save loop on scattered dirty pages");
	src = guest_vm(true);
	/* the guest used CMM before migration: every page gets a state */
	for (g = 0; g < PAGES && !ret; g += 4096) {
		uint64_t f = g < PAGES / 2 ? g : g + PAGES / 2;

		ret = e2e_s390_essa(src, f, 4096, (uint8_t)((g / 4096) % 4), 0);
		memset(want + g, (int)((g / 4096) % 4), 4096);
	}
	e2e_is(ret, 0, "guest sets states on all of memory");
	e2e_is(e2e_device_attr(src, KS_SET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			       KS_S390_VM_MIGRATION_START, NULL),
	       0, "migration START");
	calls = qemu_save(src, buf, got, seen, &values);
	e2e_ok(calls > 0 && calls < 10, "first pass: %ld calls", calls);
	e2e_is((long long)values, (long long)PAGES,
	       "  every page was reported");
	e2e_ok(!memcmp(got, want, PAGES), "  with its state");
	/* the guest keeps running: scattered pages change */
	memset(seen, 0, PAGES * sizeof(bool));
	for (n = 0; n < 1500 && !ret; n++) {
		uint64_t r = (seed = seed * 6364136223846793005ULL + 1) >> 33;
		uint64_t i = r % PAGES, f = i < PAGES / 2 ? i : i + PAGES / 2;
		uint8_t usage = (uint8_t)(r >> 20) & 3, nodat = (r >> 24) & 1;

		ret = e2e_s390_essa(src, f, 1, usage, nodat);
		want[i] = (uint8_t)(usage | (nodat ? 0x40 : 0));
		ndirty += !dirty[i];
		dirty[i] = true;
	}
	e2e_is(ret, 0, "guest changes %llu scattered pages",
	       (unsigned long long)ndirty);
	calls = qemu_save(src, buf, got, seen, &values);
	e2e_ok(calls > 0, "second pass converges: %ld calls, %llu values",
	       calls, (unsigned long long)values);
	ok = true;
	for (g = 0; g < PAGES; g++)
		if (dirty[g] && (!seen[g] || got[g] != want[g]))
			ok = false;
	e2e_ok(ok, "  every changed page was reported with its new state");
	e2e_ok(!memcmp(got, want, PAGES), "  the copy matches the guest");
	e2e_is(get(src, &log, 0, QEMU_COUNT, 0, buf), 0, "a final GET");
	e2e_ok(!log.count && !log.remaining, "  finds nothing");
	e2e_is(e2e_device_attr(src, KS_SET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			       KS_S390_VM_MIGRATION_STOP, NULL),
	       0, "migration STOP");

	e2e_diag("destination: SET_CMMA_BITS per block of guest memory");
	dst = guest_vm(false);
	ret = 0;
	for (g = 0; g < PAGES && !ret; g += QEMU_COUNT / 4) {
		/* per block of guest memory, as newer QEMU does */
		uint64_t f = g < PAGES / 2 ? g : g + PAGES / 2;

		ret = set(dst, f, QEMU_COUNT / 4, ~0ULL, got + g);
	}
	e2e_is(ret, 0, "the destination applies the stream");
	ok = true;
	for (g = 0; g < PAGES && ok; g += n) {
		uint64_t f = g < PAGES / 2 ? g : g + PAGES / 2;

		ok = !get(dst, &log, f, CUSE_VALUES, KS_S390_CMMA_PEEK, back);
		n = log.count;
		ok = ok && n && !memcmp(back, want + g, n);
	}
	e2e_ok(ok, "  every state arrived");
	close(src);
	close(dst);
	free(buf);
	free(got);
	free(want);
	free(back);
	free(seen);
	free(dirty);
}

/*
 * Exactly the struct and count values are written back, in that order
 * (cuse.md §7.3): the buffer may end after the values returned, and a
 * struct that cannot be written back stops the reply before the values.
 * The three frames before the end of memory hold want[0..2].
 */
static void test_written_regions(int vm, const uint8_t *want)
{
	uint8_t *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ks_s390_cmma_log log, *ro = (void *)(pages + 4096);
	uint8_t *end = pages + 4096 - 3;

	if (pages == MAP_FAILED || mprotect(pages + 4096, 4096, PROT_NONE))
		e2e_bail("cannot map the buffers");
	e2e_is(get(vm, &log, 2 * SKEYS_MAX - 3, 16, KS_S390_CMMA_PEEK, end), 0,
	       "PEEK of up to 16 values into the last 3 bytes of a mapping");
	e2e_ok(log.count == 3 && !memcmp(end, want, 3),
	       "  the 3 values returned are all that was written");
	memset(pages, 0xab, 4096);
	if (mprotect(pages + 4096, 4096, PROT_READ | PROT_WRITE))
		e2e_bail("cannot map the struct");
	memset(ro, 0, sizeof(*ro));
	ro->start_gfn = 2 * SKEYS_MAX - 3;
	ro->count = 16;
	ro->flags = KS_S390_CMMA_PEEK;
	ro->values = (uintptr_t)pages;
	if (mprotect(pages + 4096, 4096, PROT_READ))
		e2e_bail("cannot protect the struct");
	e2e_is(e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)ro), -EFAULT,
	       "GET whose struct cannot be written back: EFAULT");
	e2e_ok(pages[0] == 0xab && pages[1] == 0xab && pages[2] == 0xab &&
		       ro->count == 16,
	       "  D8: the values after it are not written either");
	munmap(pages, 8192);
}

static void test_large_set(void)
{
	uint8_t *vals = malloc(SKEYS_MAX + 1), *back = malloc(CUSE_VALUES);
	struct ks_s390_cmma_log log;
	uint64_t i, done;
	bool ok = true;
	void *hole;
	int vm = e2e_open(daemon_.vm_path, O_RDWR);

	e2e_diag("SET_CMMA_BITS through the retry rounds");
	if (e2e_s390_region(vm, 0, 0, 0, 2 * SKEYS_MAX, 1ULL << 40) ||
	    e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0,
			    KS_S390_VM_MEM_ENABLE_CMMA, NULL))
		e2e_bail("cannot set up a guest");
	for (i = 0; i <= SKEYS_MAX; i++)
		vals[i] = (uint8_t)((i * 2654435761U) >> 13) & 0x43;
	e2e_is(set(vm, 7, QEMU_COUNT, ~0ULL, vals), 0, "SET of 524288 values");
	for (done = 0; ok && done < QEMU_COUNT; done += log.count) {
		ok = !get(vm, &log, 7 + done, CUSE_VALUES, KS_S390_CMMA_PEEK,
			  back) &&
		     log.count &&
		     !memcmp(back, vals + done,
			     log.count < QEMU_COUNT - done ? log.count :
							     QEMU_COUNT - done);
	}
	e2e_ok(ok, "  all 524288 applied");
	e2e_is(set(vm, 1000, SKEYS_MAX, ~0ULL, vals + 1), 0,
	       "SET of 1048576 values");
	for (done = 0; ok && done < SKEYS_MAX; done += log.count)
		ok = !get(vm, &log, 1000 + done, CUSE_VALUES, KS_S390_CMMA_PEEK,
			  back) &&
		     log.count &&
		     !memcmp(back, vals + 1 + done,
			     log.count < SKEYS_MAX - done ? log.count :
							    SKEYS_MAX - done);
	e2e_ok(ok, "  all 1048576 applied");
	/* an unmapped buffer shows whether values were read */
	hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e2e_is(set(vm, 0, SKEYS_MAX + 1, ~0ULL, hole), -EINVAL,
	       "SET of 1048577 values: EINVAL before any value is read");
	e2e_is(set(vm, 0, 4, ~0ULL, hole), -EFAULT,
	       "SET from an unreadable buffer: EFAULT");
	e2e_is(set(vm, 2 * SKEYS_MAX - 2, 4, ~0ULL, vals), -EFAULT,
	       "SET across the end of memory: EFAULT");
	e2e_is(get(vm, &log, 2 * SKEYS_MAX - 3, 4, KS_S390_CMMA_PEEK, back), 0,
	       "  PEEK there");
	e2e_ok(log.count == 3 && back[1] == vals[0] && back[2] == vals[1],
	       "  the frames before the hole were changed");
	test_written_regions(vm, back);

	e2e_diag("GET limits through CUSE");
	e2e_is(get(vm, &log, 0, 200000, KS_S390_CMMA_PEEK, back), 0,
	       "PEEK of 200000 values");
	e2e_is(log.count, CUSE_VALUES, "  D1: one transfer, 131040 values");
	memset(back, 0xab, 64);
	e2e_is(get(vm, &log, 0, 0, KS_S390_CMMA_PEEK, back), 0,
	       "PEEK of 0 values");
	e2e_ok(!log.start_gfn && !log.count && !log.flags && !log.values &&
		       !log.remaining && back[0] == 0xab,
	       "  all-zero struct, values untouched");
	e2e_is(get(vm, &log, 2 * SKEYS_MAX - 3, 16, KS_S390_CMMA_PEEK, hole),
	       -EFAULT, "PEEK into an unwritable buffer: EFAULT");
	e2e_ok(log.count == 3 && log.start_gfn == 2 * SKEYS_MAX - 3,
	       "  D8: the struct was written back (count 3)");
	e2e_is(get(vm, &log, 2 * SKEYS_MAX, 16, KS_S390_CMMA_PEEK, back),
	       -EFAULT, "PEEK in a hole: EFAULT");
	e2e_is(e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)hole),
	       -EFAULT, "GET with an unreadable struct: EFAULT");
	munmap(hole, 4096);
	close(vm);
	free(vals);
	free(back);
}

static void test_attributes(void)
{
	uint64_t v = 0xdead, big = ~0ULL, small = 1ULL << 30;
	int vm = e2e_open(daemon_.vm_path, O_RDWR);
	void *hole =
		mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	e2e_diag("VM attributes through the retry rounds");
	e2e_is(e2e_device_attr(vm, KS_HAS_DEVICE_ATTR, 0, 1, NULL), 0,
	       "HAS CLR_CMMA");
	e2e_is(e2e_device_attr(vm, KS_HAS_DEVICE_ATTR, 4, 77, NULL), 0,
	       "HAS any MIGRATION attribute");
	e2e_is(e2e_device_attr(vm, KS_HAS_DEVICE_ATTR, 1, 0, NULL), -ENXIO,
	       "HAS TOD");
	e2e_is(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, 0, 2, &v), 0,
	       "GET LIMIT_SIZE");
	e2e_is((long long)v, 1LL << 44, "  2^44");
	e2e_is(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, 0, 2, hole), -EFAULT,
	       "GET LIMIT_SIZE to an unwritable address: EFAULT");
	e2e_is(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, 0, 0, &v), -ENXIO,
	       "GET ENABLE_CMMA: ENXIO");
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0, 2, hole), -EFAULT,
	       "SET LIMIT_SIZE from an unreadable address: EFAULT");
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0, 2, &big), -E2BIG,
	       "SET LIMIT_SIZE above the limit: E2BIG");
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0, 2, &small), 0,
	       "SET LIMIT_SIZE 1 GiB");
	v = 0;
	e2e_is(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, 0, 2, &v), 0,
	       "GET LIMIT_SIZE");
	e2e_is((long long)v, 1LL << 44, "  unchanged");
	e2e_is(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, 4, 2, hole), -EFAULT,
	       "GET MIGRATION STATUS to an unwritable address: EFAULT");
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 4, 1, NULL), -EINVAL,
	       "START without memory: EINVAL");
	e2e_is(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, 0, 1, NULL), -EINVAL,
	       "CLR_CMMA before ENABLE_CMMA: EINVAL");
	e2e_is(e2e_ioctl(vm, KS_HAS_DEVICE_ATTR, (unsigned long)hole), -EFAULT,
	       "HAS with an unreadable struct: EFAULT");

	/* Linux's creator check: a forked child gets EIO on the VM fd */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(e2e_device_attr(vm, KS_HAS_DEVICE_ATTR, 0, 0, NULL) ==
					      -EIO &&
				      e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, 0) ==
					      -EIO ?
			      0 :
			      1);
	e2e_ok(pid > 0 && waitpid(pid, &status, 0) == pid &&
		       WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "a forked child gets EIO");
	e2e_is(e2e_ioctl(vm, 0xc020aeb8 ^ 0x8000, 0), -ENOTTY,
	       "an unknown VM ioctl: ENOTTY");
	munmap(hole, 4096);
	close(vm);
}

int main(void)
{
	e2e_daemon_start(&daemon_, "kvmshim-cmmamig", "--profile", "s390x",
			 NULL);
	test_attributes();
	test_large_set();
	test_source_and_destination();
	e2e_is(e2e_daemon_stop(&daemon_), 0, "daemon exits cleanly");
	return e2e_done();
}
