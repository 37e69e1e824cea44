// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_S390_GET/SET_CMMA_BITS through CUSE, with the kernel-less harness
 * (spec: cuse.md §7.3, §7.4; README D1, D8): the retry rounds, the per-call
 * value limit, the all-zero answer, errors before any value moves, the
 * struct written before unwritable values, and SET's values gathered over
 * several rounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cuse/xfer.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define NPAGES (1U << 20) /* one 4 GiB slot */
#define D1_VALUES 131040 /* 128 KiB per round less the 32-byte struct */

struct rig {
	struct ks_engine *eng;
	struct fk *k;
	uint64_t fh;
	pid_t me;
};

static void rig_up(struct rig *r)
{
	r->eng = unit_engine("s390x");
	r->k = fk_new(r->eng, KS_NODE_VM, NULL);
	r->me = fk_gettid();
	ck_assert_int_eq(fk_open(r->k, r->me, O_RDWR, &r->fh), 0);
}

static void rig_down(struct rig *r)
{
	struct xfer_stats xs;

	ck_assert_int_eq(fk_release(r->k, r->fh), 0);
	ck_assert_uint_eq(fk_free(r->k), 0);
	ks_engine_free(r->eng);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
}

static long rig_ioctl(struct rig *r, uint32_t cmd, const void *arg,
		      struct fk_ioctl *io)
{
	memset(io, 0, sizeof(*io));
	io->fh = r->fh;
	io->pid = r->me;
	io->cmd = cmd;
	io->arg = (uintptr_t)arg;
	return fk_ioctl_ex(r->k, io);
}

static long rig_call(struct rig *r, uint32_t cmd, const void *arg)
{
	struct fk_ioctl io;

	return rig_ioctl(r, cmd, arg, &io);
}

static long rig_attr(struct rig *r, uint32_t group, uint64_t attr)
{
	struct ks_device_attr a = { .group = group, .attr = attr };

	return rig_call(r, KS_SET_DEVICE_ATTR, &a);
}

static struct kvmshim_s390_cmma_info rig_info(struct rig *r)
{
	struct kvmshim_s390_cmma_info i;

	ck_assert_int_eq(rig_call(r, KVMSHIM_S390_CMMA_INFO, &i), 0);
	return i;
}

/* One logging slot of NPAGES frames at gfn 0; CMMA on; a vCPU. */
static void rig_vm(struct rig *r)
{
	struct ks_userspace_memory_region m = {
		.flags = KS_MEM_LOG_DIRTY_PAGES,
		.memory_size = (uint64_t)NPAGES << 12,
		.userspace_addr = 1ULL << 40,
	};
	struct kvmshim_vcpus v = { .created = 1 };

	ck_assert_int_eq(rig_call(r, KS_SET_USER_MEMORY_REGION, &m), 0);
	ck_assert_int_eq(rig_attr(r, KS_S390_VM_MEM_CTRL,
				  KS_S390_VM_MEM_ENABLE_CMMA),
			 0);
	ck_assert_int_eq(rig_call(r, KVMSHIM_SET_VCPUS, &v), 0);
}

static void rig_essa(struct rig *r, uint64_t gfn, uint32_t count, uint8_t usage)
{
	struct kvmshim_s390_essa e = {
		.gfn = gfn,
		.count = count,
		.usage = usage,
	};

	ck_assert_int_eq(rig_call(r, KVMSHIM_S390_ESSA, &e), 0);
}

/* Migration mode on: every frame of the VM's memory becomes dirty. */
static void rig_migrate(struct rig *r)
{
	ck_assert_int_eq(rig_attr(r, KS_S390_VM_MIGRATION,
				  KS_S390_VM_MIGRATION_START),
			 0);
}

static uint8_t vals[NPAGES + 64];

START_TEST(test_get_is_limited_per_call)
{
	struct ks_s390_cmma_log log;
	struct fk_ioctl io;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_essa(&r, 10, 1, 3);
	rig_migrate(&r);
	/* QEMU's request: every frame is dirty, 131040 fit (D1) */
	memset(vals, 0xee, sizeof(vals));
	memset(&log, 0, sizeof(log));
	log.count = 524288;
	log.flags = 0;
	log.values = (uintptr_t)vals;
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(io.rounds, 3);
	ck_assert_uint_eq(io.max_out, 131072);
	ck_assert_uint_eq(log.start_gfn, 0);
	ck_assert_uint_eq(log.count, D1_VALUES);
	ck_assert_uint_eq(log.flags, 0);
	ck_assert_uint_eq(log.values, (uintptr_t)vals);
	ck_assert_uint_eq(log.remaining, NPAGES - D1_VALUES);
	ck_assert_uint_eq(vals[9], 0);
	ck_assert_uint_eq(vals[10], 3);
	ck_assert_uint_eq(vals[11], 0);
	ck_assert_uint_eq(vals[D1_VALUES - 1], 0);
	ck_assert_uint_eq(vals[D1_VALUES], 0xee);
	ck_assert_uint_eq(rig_info(&r).dirty_bits, NPAGES - D1_VALUES);
	/* the clamp to 1048576 comes first; then D1 again */
	log.start_gfn = 0;
	log.count = 0xffffffff;
	log.flags = KS_S390_CMMA_PEEK;
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(log.count, D1_VALUES);
	ck_assert_uint_eq(log.flags, KS_S390_CMMA_PEEK);
	/* fewer than the limit: exactly what was asked for */
	log.start_gfn = 5;
	log.count = 7;
	memset(vals, 0xee, 16);
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(io.rounds, 3);
	ck_assert_uint_eq(log.start_gfn, 5);
	ck_assert_uint_eq(log.count, 7);
	ck_assert_mem_eq(vals, "\0\0\0\0\0\x03\0\xee", 8);
	rig_down(&r);
}
END_TEST

START_TEST(test_get_without_values_takes_two_rounds)
{
	struct ks_s390_cmma_log log;
	struct fk_ioctl io;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_migrate(&r);
	/* Q12: the guest never used CMM: 32 zero bytes, values untouched */
	memset(vals, 0xee, 16);
	memset(&log, 0x5a, sizeof(log));
	log.flags = 0;
	log.values = (uintptr_t)vals;
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_mem_eq(&log, (uint8_t[32]){ 0 }, 32);
	ck_assert_uint_eq(vals[0], 0xee);
	ck_assert_uint_eq(rig_info(&r).dirty_bits, NPAGES);
	/* an error leaves the struct as it was */
	memset(&log, 0, sizeof(log));
	log.count = 10;
	log.flags = 2;
	log.values = (uintptr_t)vals;
	ck_assert_errno(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io),
			EINVAL);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_uint_eq(log.count, 10);
	ck_assert_uint_eq(log.flags, 2);
	ck_assert_uint_eq(vals[0], 0xee);
	/* row 8: a peek at a hole, once the guest used CMM */
	ck_assert_int_eq(rig_attr(&r, KS_S390_VM_MIGRATION,
				  KS_S390_VM_MIGRATION_STOP),
			 0);
	rig_essa(&r, 0, 1, 1);
	log.start_gfn = NPAGES;
	log.flags = KS_S390_CMMA_PEEK;
	ck_assert_errno(rig_ioctl(&r, KS_S390_GET_CMMA_BITS, &log, &io),
			EFAULT);
	ck_assert_uint_eq(log.start_gfn, NPAGES);
	ck_assert_uint_eq(log.count, 10);
	ck_assert_uint_eq(vals[0], 0xee);
	rig_down(&r);
}
END_TEST

START_TEST(test_get_struct_written_before_values)
{
	struct ks_s390_cmma_log log;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_essa(&r, 0, 1, 2);
	rig_migrate(&r);
	memset(&log, 0, sizeof(log));
	log.start_gfn = 100;
	log.count = 64;
	log.values = (uintptr_t)vals;
	fk_fault(r.k, vals, 4096);
	ck_assert_errno(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), EFAULT);
	fk_unfault_all(r.k);
	/* D8: the struct arrived; the 64 frames were consumed anyway */
	ck_assert_uint_eq(log.start_gfn, 100);
	ck_assert_uint_eq(log.count, 64);
	ck_assert_uint_eq(log.remaining, NPAGES - 64);
	ck_assert_uint_eq(rig_info(&r).dirty_count, NPAGES - 64);
	rig_down(&r);
}
END_TEST

START_TEST(test_set_gathers_values)
{
	struct ks_s390_cmma_log log, peek;
	struct fk_ioctl io;
	struct rig r;
	uint32_t i;

	rig_up(&r);
	rig_vm(&r);
	for (i = 0; i < 524288; i++)
		vals[i] = (uint8_t)((i * 13 + (i >> 9)) & 0x43);
	memset(&log, 0, sizeof(log));
	log.start_gfn = 1000;
	log.count = 524288;
	log.mask = ~0ULL;
	log.values = (uintptr_t)vals;
	/* R1, R2 and 4 x 131040 + 128 bytes of values */
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_SET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(io.rounds, 7);
	ck_assert_uint_eq(io.max_in, 131072);
	ck_assert_uint_eq(rig_info(&r).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	/* read back in pieces of the per-call limit */
	for (i = 0; i < 524288; i += peek.count) {
		static uint8_t got[D1_VALUES + 1];

		memset(&peek, 0, sizeof(peek));
		peek.start_gfn = 1000 + i;
		peek.count = 524288 - i;
		peek.flags = KS_S390_CMMA_PEEK;
		peek.values = (uintptr_t)got;
		ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &peek), 0);
		ck_assert_uint_gt(peek.count, 0);
		ck_assert_mem_eq(got, vals + i, peek.count);
	}
	/* count 0: R1 and R2 only */
	log.count = 0;
	ck_assert_int_eq(rig_ioctl(&r, KS_S390_SET_CMMA_BITS, &log, &io), 0);
	ck_assert_uint_eq(io.rounds, 2);
	ck_assert_uint_eq(io.max_in, 32);
	rig_down(&r);
}
END_TEST

START_TEST(test_set_unreadable_slice_applies_nothing)
{
	struct ks_s390_cmma_log log, peek;
	struct fk_ioctl io;
	struct rig r;
	uint8_t got[8];

	rig_up(&r);
	rig_vm(&r);
	memset(vals, 0x41, 300000);
	/* the third slice cannot be read */
	fk_fault(r.k, vals + 2 * D1_VALUES + 100, 1);
	memset(&log, 0, sizeof(log));
	log.count = 300000;
	log.mask = ~0ULL;
	log.values = (uintptr_t)vals;
	ck_assert_errno(rig_ioctl(&r, KS_S390_SET_CMMA_BITS, &log, &io),
			EFAULT);
	fk_unfault_all(r.k);
	ck_assert_uint_eq(rig_info(&r).flags, KVMSHIM_CMMA_ENABLED);
	ck_assert_uint_eq(rig_info(&r).state_bytes, 0);
	/* the checks before the values come first, in one round after R1 */
	log.count = 1048577;
	ck_assert_errno(rig_ioctl(&r, KS_S390_SET_CMMA_BITS, &log, &io),
			EINVAL);
	ck_assert_uint_eq(io.rounds, 2);
	/* Q14 through CUSE: the frames before the hole keep their values */
	log.start_gfn = NPAGES - 2;
	log.count = 4;
	ck_assert_errno(rig_ioctl(&r, KS_S390_SET_CMMA_BITS, &log, &io),
			EFAULT);
	ck_assert_uint_eq(rig_info(&r).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	memset(&peek, 0, sizeof(peek));
	peek.start_gfn = NPAGES - 3;
	peek.count = 8;
	peek.flags = KS_S390_CMMA_PEEK;
	peek.values = (uintptr_t)got;
	memset(got, 0xee, sizeof(got));
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &peek), 0);
	ck_assert_uint_eq(peek.count, 3);
	ck_assert_mem_eq(got, "\0\x41\x41\xee", 4);
	rig_down(&r);
}
END_TEST

/* Values over their own struct: the caller finds the struct, as in Linux. */
START_TEST(test_get_values_over_the_struct)
{
	uint8_t v4[4] = { 3, 0x42, 1, 0x40 };
	struct ks_s390_cmma_log set, want;
	union {
		struct ks_s390_cmma_log log;
		uint8_t bytes[128];
	} m;
	struct rig r;
	unsigned int i;

	rig_up(&r);
	rig_vm(&r);
	memset(&set, 0, sizeof(set));
	set.start_gfn = 36;
	set.count = 4;
	set.mask = ~0ULL;
	set.values = (uintptr_t)v4;
	ck_assert_int_eq(rig_call(&r, KS_S390_SET_CMMA_BITS, &set), 0);
	/* inside the struct: the reply's values land in its struct part */
	memset(&m, 0xee, sizeof(m));
	memset(&m.log, 0, sizeof(m.log));
	m.log.start_gfn = 30;
	m.log.count = 8;
	m.log.flags = KS_S390_CMMA_PEEK;
	m.log.values = (uintptr_t)&m.bytes[4];
	want = m.log;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &m.log), 0);
	ck_assert_mem_eq(&m.log, &want, sizeof(want));
	/* from the struct's address on past its end */
	memset(&m, 0xee, sizeof(m));
	memset(&m.log, 0, sizeof(m.log));
	m.log.count = 64;
	m.log.flags = KS_S390_CMMA_PEEK;
	m.log.values = (uintptr_t)&m.log;
	want = m.log;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &m.log), 0);
	ck_assert_mem_eq(&m.log, &want, sizeof(want));
	for (i = 32; i < 64; i++)
		ck_assert_uint_eq(m.bytes[i],
				  i >= 36 && i < 40 ? v4[i - 36] : 0);
	ck_assert_uint_eq(m.bytes[64], 0xee);
	rig_down(&r);
}
END_TEST

static long attr_rounds(struct rig *r, uint32_t cmd, uint32_t group,
			uint64_t attr, void *addr, unsigned int *rounds)
{
	struct ks_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)addr,
	};
	struct fk_ioctl io;
	long ret = rig_ioctl(r, cmd, &a, &io);

	*rounds = io.rounds;
	return ret;
}

START_TEST(test_attribute_rounds)
{
	uint64_t v = 0xdead, limit = 1ULL << 30;
	unsigned int n;
	struct rig r;

	rig_up(&r);
	/* HAS and SET: the struct is all they need */
	ck_assert_int_eq(attr_rounds(&r, KS_HAS_DEVICE_ATTR, 4, 99, NULL, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_errno(attr_rounds(&r, KS_SET_DEVICE_ATTR, 4,
				    KS_S390_VM_MIGRATION_START, NULL, &n),
			EINVAL);
	ck_assert_uint_eq(n, 2);
	ck_assert_errno(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				    KS_S390_VM_MEM_CLR_CMMA, NULL, &n),
			EINVAL);
	ck_assert_uint_eq(n, 2);
	/* SET LIMIT_SIZE reads its value in a third round */
	ck_assert_int_eq(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				     KS_S390_VM_MEM_LIMIT_SIZE, &limit, &n),
			 0);
	ck_assert_uint_eq(n, 3);
	/* GET: group and attr checked in R2, the value written in R3 */
	ck_assert_errno(attr_rounds(&r, KS_GET_DEVICE_ATTR, 4,
				    KS_S390_VM_MIGRATION_START, &v, &n),
			ENXIO);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(attr_rounds(&r, KS_GET_DEVICE_ATTR, 4,
				     KS_S390_VM_MIGRATION_STATUS, &v, &n),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(attr_rounds(&r, KS_GET_DEVICE_ATTR, 0,
				     KS_S390_VM_MEM_LIMIT_SIZE, &v, &n),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v, 1ULL << 44);
	rig_down(&r);
}
END_TEST

/*
 * Only the values a call produces are copied out (cmma.md §6): through
 * CUSE the rest of the declared region may be unwritable.
 */
START_TEST(test_get_copies_only_result_values)
{
	struct ks_s390_cmma_log log;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_essa(&r, NPAGES - 1, 1, 3);
	memset(vals, 0xee, 64);
	fk_fault(r.k, vals + 12, 4096);
	/* a peek cut short by the end of memory: 12 values */
	memset(&log, 0, sizeof(log));
	log.start_gfn = NPAGES - 12;
	log.count = 100;
	log.flags = KS_S390_CMMA_PEEK;
	log.values = (uintptr_t)vals;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), 0);
	ck_assert_uint_eq(log.start_gfn, NPAGES - 12);
	ck_assert_uint_eq(log.count, 12);
	ck_assert_uint_eq(vals[11], 3);
	ck_assert_uint_eq(vals[0], 0);
	log.start_gfn = NPAGES - 13;
	log.count = 100;
	ck_assert_errno(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), EFAULT);
	/* a scan that finds nothing from its start copies no value */
	fk_unfault_all(r.k);
	rig_migrate(&r);
	fk_fault(r.k, vals, 4096);
	memset(&log, 0, sizeof(log));
	log.count = 100;
	log.values = (uintptr_t)vals;
	ck_assert_errno(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), EFAULT);
	ck_assert_uint_eq(rig_info(&r).dirty_count, NPAGES - 100);
	fk_unfault_all(r.k);
	do {
		log.start_gfn = 0;
		log.count = NPAGES;
		log.values = (uintptr_t)vals;
		ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), 0);
	} while (log.count);
	rig_essa(&r, 10, 1, 1);
	fk_fault(r.k, vals, 4096);
	log.start_gfn = 50;
	log.count = 10;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), 0);
	ck_assert_uint_eq(log.start_gfn, NPAGES);
	ck_assert_uint_eq(log.count, 0);
	ck_assert_uint_eq(log.remaining, 1);
	fk_unfault_all(r.k);
	rig_down(&r);
}
END_TEST

/* Attribute values that cannot be moved, through CUSE */
START_TEST(test_attribute_faults)
{
	uint64_t v = 1ULL << 45;
	unsigned int n;
	struct rig r;

	rig_up(&r);
	fk_fault(r.k, &v, sizeof(v));
	ck_assert_errno(attr_rounds(&r, KS_GET_DEVICE_ATTR, 4,
				    KS_S390_VM_MIGRATION_STATUS, &v, &n),
			EFAULT);
	ck_assert_errno(attr_rounds(&r, KS_GET_DEVICE_ATTR, 0,
				    KS_S390_VM_MEM_LIMIT_SIZE, &v, &n),
			EFAULT);
	ck_assert_errno(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				    KS_S390_VM_MEM_LIMIT_SIZE, &v, &n),
			EFAULT);
	/* the others never touch addr */
	ck_assert_errno(attr_rounds(&r, KS_GET_DEVICE_ATTR, 4,
				    KS_S390_VM_MIGRATION_STOP, &v, &n),
			ENXIO);
	ck_assert_int_eq(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				     KS_S390_VM_MEM_ENABLE_CMMA, &v, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(attr_rounds(&r, KS_HAS_DEVICE_ATTR, 0,
				     KS_S390_VM_MEM_LIMIT_SIZE, &v, &n),
			 0);
	fk_unfault_all(r.k);
	/* a value above the limit: E2BIG after the value round */
	ck_assert_errno(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				    KS_S390_VM_MEM_LIMIT_SIZE, &v, &n),
			E2BIG);
	ck_assert_uint_eq(n, 3);
	rig_down(&r);
}
END_TEST

/* Before a given round, the caller's struct is changed (another thread). */
struct morph {
	struct ks_s390_cmma_log *log;
	struct ks_s390_cmma_log to;
	unsigned int at;
	unsigned int seen;
};

static bool morph_round(void *opaque, unsigned int round)
{
	struct morph *m = opaque;

	m->seen = round;
	if (round == m->at)
		*m->log = m->to;
	return true;
}

static long morph_call(struct rig *r, uint32_t cmd, struct morph *m,
		       struct fk_ioctl *io)
{
	memset(io, 0, sizeof(*io));
	io->fh = r->fh;
	io->pid = r->me;
	io->cmd = cmd;
	io->arg = (uintptr_t)m->log;
	io->before_round = morph_round;
	io->opaque = m;
	return fk_ioctl_ex(r->k, io);
}

/* cuse.md §7.3 step 3: a struct changed before the last round counts */
START_TEST(test_get_struct_changed_between_rounds)
{
	static uint8_t other[256];
	struct ks_s390_cmma_log log, sent;
	struct fk_ioctl io;
	struct morph m;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_essa(&r, 7, 1, 2);
	rig_migrate(&r);
	memset(&log, 0, sizeof(log));
	log.count = 100;
	log.values = (uintptr_t)vals;
	sent = log;
	/* bad flags by round 3: EINVAL, no value moved, nothing consumed */
	m = (struct morph){ .log = &log, .to = sent, .at = 3 };
	m.to.flags = 0xfe;
	memset(vals, 0xee, 256);
	ck_assert_errno(morph_call(&r, KS_S390_GET_CMMA_BITS, &m, &io), EINVAL);
	ck_assert_uint_eq(log.flags, 0xfe);
	ck_assert_uint_eq(vals[0], 0xee);
	ck_assert_uint_eq(rig_info(&r).dirty_count, NPAGES);
	/* count 0 by round 3: the all-zero struct */
	log = sent;
	m = (struct morph){ .log = &log, .to = sent, .at = 3 };
	m.to.count = 0;
	ck_assert_int_eq(morph_call(&r, KS_S390_GET_CMMA_BITS, &m, &io), 0);
	ck_assert_mem_eq(&log, (uint8_t[32]){ 0 }, 32);
	ck_assert_uint_eq(vals[0], 0xee);
	ck_assert_uint_eq(rig_info(&r).dirty_count, NPAGES);
	/* another values buffer by round 3: the values go there */
	log = sent;
	m = (struct morph){ .log = &log, .to = sent, .at = 3 };
	m.to.values = (uintptr_t)other;
	m.to.count = 10;
	memset(other, 0xee, sizeof(other));
	ck_assert_int_eq(morph_call(&r, KS_S390_GET_CMMA_BITS, &m, &io), 0);
	ck_assert_uint_eq(log.start_gfn, 0);
	ck_assert_uint_eq(log.count, 10);
	ck_assert_uint_eq(log.values, (uintptr_t)other);
	ck_assert_uint_eq(log.remaining, NPAGES - 10);
	ck_assert_mem_eq(other, "\0\0\0\0\0\0\0\x02\0\0\xee", 11);
	ck_assert_uint_eq(vals[0], 0xee);
	/* a peek moved into a hole by round 3: EFAULT */
	log = sent;
	log.flags = KS_S390_CMMA_PEEK;
	m = (struct morph){ .log = &log, .to = log, .at = 3 };
	m.to.start_gfn = NPAGES + 5;
	ck_assert_errno(morph_call(&r, KS_S390_GET_CMMA_BITS, &m, &io), EFAULT);
	ck_assert_uint_eq(log.start_gfn, NPAGES + 5);
	ck_assert_uint_eq(log.count, 100);
	rig_down(&r);
}
END_TEST

/* cuse.md §7.4 step 3: a SET whose struct changes restarts */
START_TEST(test_set_struct_changed_between_rounds)
{
	struct ks_s390_cmma_log log, peek;
	struct fk_ioctl io;
	struct morph m;
	struct rig r;
	uint8_t got[4];

	rig_up(&r);
	rig_vm(&r);
	memset(vals, 0x43, 300000);
	memset(&log, 0, sizeof(log));
	log.start_gfn = 10;
	log.count = 300000;
	log.mask = ~0ULL;
	log.values = (uintptr_t)vals;
	/* in the middle of the gathering, the start moves */
	m = (struct morph){ .log = &log, .to = log, .at = 4 };
	m.to.start_gfn = 20;
	ck_assert_int_eq(morph_call(&r, KS_S390_SET_CMMA_BITS, &m, &io), 0);
	ck_assert_uint_gt(io.rounds, 5);
	memset(&peek, 0, sizeof(peek));
	peek.start_gfn = 18;
	peek.count = 4;
	peek.flags = KS_S390_CMMA_PEEK;
	peek.values = (uintptr_t)got;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &peek), 0);
	ck_assert_mem_eq(got, "\0\0\x43\x43", 4);
	/* flags turned bad in the middle: EINVAL, nothing applied */
	log.start_gfn = 500000;
	m = (struct morph){ .log = &log, .to = log, .at = 4 };
	m.to.flags = 1;
	ck_assert_errno(morph_call(&r, KS_S390_SET_CMMA_BITS, &m, &io), EINVAL);
	ck_assert_uint_eq(m.seen, 4);
	peek.start_gfn = 500000;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &peek), 0);
	ck_assert_mem_eq(got, "\0\0\0\0", 4);
	rig_down(&r);
}
END_TEST

/* Pointers whose regions run past 2^64: EFAULT, and nothing breaks */
START_TEST(test_pointers_at_the_top)
{
	uint64_t top = ~0ULL - 15;
	struct ks_s390_cmma_log log;
	unsigned int n;
	struct rig r;

	rig_up(&r);
	rig_vm(&r);
	rig_essa(&r, 0, 1, 1);
	memset(&log, 0, sizeof(log));
	log.count = 100;
	log.flags = KS_S390_CMMA_PEEK;
	log.values = top;
	ck_assert_errno(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), EFAULT);
	log.flags = 0;
	log.mask = ~0ULL;
	ck_assert_errno(rig_call(&r, KS_S390_SET_CMMA_BITS, &log), EFAULT);
	log.count = 1048576;
	ck_assert_errno(rig_call(&r, KS_S390_SET_CMMA_BITS, &log), EFAULT);
	ck_assert_errno(rig_call(&r, KS_S390_GET_CMMA_BITS, (void *)top),
			EFAULT);
	ck_assert_errno(attr_rounds(&r, KS_GET_DEVICE_ATTR, 4,
				    KS_S390_VM_MIGRATION_STATUS,
				    (void *)(top + 12), &n),
			EFAULT);
	ck_assert_errno(attr_rounds(&r, KS_SET_DEVICE_ATTR, 0,
				    KS_S390_VM_MEM_LIMIT_SIZE,
				    (void *)(top + 12), &n),
			EFAULT);
	/* the VM still answers */
	log.start_gfn = 0;
	log.count = 1;
	log.flags = KS_S390_CMMA_PEEK;
	log.values = (uintptr_t)vals;
	ck_assert_int_eq(rig_call(&r, KS_S390_GET_CMMA_BITS, &log), 0);
	ck_assert_uint_eq(vals[0], 1);
	rig_down(&r);
}
END_TEST

Suite *suite_cmma_cuse(void);
Suite *suite_cmma_cuse(void)
{
	Suite *s = suite_create("cmma_cuse");
	TCase *tc = tcase_create("rounds");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_get_is_limited_per_call);
	tcase_add_test(tc, test_get_without_values_takes_two_rounds);
	tcase_add_test(tc, test_get_struct_written_before_values);
	tcase_add_test(tc, test_set_gathers_values);
	tcase_add_test(tc, test_set_unreadable_slice_applies_nothing);
	tcase_add_test(tc, test_attribute_rounds);
	tcase_add_test(tc, test_get_values_over_the_struct);
	tcase_add_test(tc, test_get_copies_only_result_values);
	tcase_add_test(tc, test_attribute_faults);
	tcase_add_test(tc, test_get_struct_changed_between_rounds);
	tcase_add_test(tc, test_set_struct_changed_between_rounds);
	tcase_add_test(tc, test_pointers_at_the_top);
	suite_add_tcase(s, tc);
	return s;
}
