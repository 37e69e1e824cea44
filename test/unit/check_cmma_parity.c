// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GET/SET_CMMA_BITS through CUSE against the same calls made directly, on
 * two engines driven through the same history (spec: cuse.md §7.3, §7.4,
 * README D1): after all its rounds, a CUSE call must leave the struct, every
 * byte of the values buffer and the dirty state exactly as the direct call
 * with count limited to 131040 does.  Three slots (two adjacent, then a
 * hole) make the scan stop at slot ends and holes.  GET_DEVICE_ATTR, whose
 * struct may change between its check round and its write round, is held
 * to the same rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cuse/xfer.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define D1_VALUES 131040
#define MEM_END (1U << 20)
#define SLOT1 281600U /* slot 1 follows slot 0 directly */
#define HOLE 512000U /* slot 1 ends here; slot 2 starts at GAP_END */
#define GAP_END 614400U

struct side {
	struct ks_engine *eng;
	struct fk *k; /* NULL: direct calls on h */
	uint64_t fh;
	struct ks_handle *h;
	struct fk_ioctl io; /* the last CUSE call */
};

static uint8_t va[MEM_END + 64], vb[MEM_END + 64];
static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rnd_state >> 33);
}

static long call(struct side *s, uint32_t cmd, void *arg)
{
	if (!s->k)
		return unit_ioctl(s->h, cmd, (uintptr_t)arg);
	memset(&s->io, 0, sizeof(s->io));
	s->io.fh = s->fh;
	s->io.pid = fk_gettid();
	s->io.cmd = cmd;
	s->io.arg = (uintptr_t)arg;
	return fk_ioctl_ex(s->k, &s->io);
}

static void slot(struct side *s, uint32_t id, uint64_t gfn, uint64_t pages)
{
	struct ks_userspace_memory_region m = {
		.slot = id,
		.flags = KS_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = gfn << 12,
		.memory_size = pages << 12,
		.userspace_addr = (1ULL << 40) + (gfn << 12),
	};

	ck_assert_int_eq(call(s, KS_SET_USER_MEMORY_REGION, &m), 0);
}

static void attr(struct side *s, uint32_t group, uint64_t a)
{
	struct ks_device_attr da = { .group = group, .attr = a };

	ck_assert_int_eq(call(s, KS_SET_DEVICE_ATTR, &da), 0);
}

static long essa(struct side *s, uint64_t gfn, uint32_t count, uint8_t usage,
		 uint8_t nodat)
{
	struct kvmshim_s390_essa e = {
		.gfn = gfn, .count = count, .usage = usage, .nodat = nodat
	};

	return call(s, KVMSHIM_S390_ESSA, &e);
}

static struct kvmshim_s390_cmma_info info(struct side *s)
{
	struct kvmshim_s390_cmma_info i;

	ck_assert_int_eq(call(s, KVMSHIM_S390_CMMA_INFO, &i), 0);
	return i;
}

static void side_up(struct side *s, bool cuse)
{
	struct kvmshim_vcpus v = { .created = 1 };

	memset(s, 0, sizeof(*s));
	s->eng = unit_engine("s390x");
	if (cuse) {
		s->k = fk_new(s->eng, KS_NODE_VM, NULL);
		ck_assert_int_eq(fk_open(s->k, fk_gettid(), O_RDWR, &s->fh), 0);
	} else {
		s->h = unit_open(s->eng, 1, UNIT_TGID);
	}
	slot(s, 0, 0, SLOT1);
	slot(s, 1, SLOT1, HOLE - SLOT1);
	slot(s, 2, GAP_END, MEM_END - GAP_END);
	attr(s, KS_S390_VM_MEM_CTRL, KS_S390_VM_MEM_ENABLE_CMMA);
	ck_assert_int_eq(call(s, KVMSHIM_SET_VCPUS, &v), 0);
}

static void side_down(struct side *s)
{
	struct xfer_stats xs;

	if (s->k) {
		ck_assert_int_eq(fk_release(s->k, s->fh), 0);
		ck_assert_uint_eq(fk_free(s->k), 0);
	} else {
		ks_release(s->h);
	}
	ks_engine_free(s->eng);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
}

static void same_info(struct side *a, struct side *b)
{
	struct kvmshim_s390_cmma_info ia = info(a), ib = info(b);

	ck_assert_uint_eq(ia.flags, ib.flags);
	ck_assert_uint_eq(ia.dirty_count, ib.dirty_count);
	ck_assert_uint_eq(ia.dirty_bits, ib.dirty_bits);
}

/*
 * GET on a (CUSE, count as given) and b (direct, count limited as D1
 * says); returns the result after checking that both agree in every byte.
 */
static long get_both(struct side *a, struct side *b, uint64_t start,
		     uint32_t count, uint32_t flags,
		     struct ks_s390_cmma_log *out)
{
	struct ks_s390_cmma_log la = {
		.start_gfn = start,
		.count = count,
		.flags = flags,
		.remaining = 0x5555,
		.values = (uintptr_t)va,
	};
	struct ks_s390_cmma_log lb = la;
	long ra, rb;

	lb.count = count < D1_VALUES ? count : D1_VALUES;
	lb.values = (uintptr_t)vb;
	memset(va, 0xee, sizeof(va));
	memset(vb, 0xee, sizeof(vb));
	ra = call(a, KS_S390_GET_CMMA_BITS, &la);
	rb = call(b, KS_S390_GET_CMMA_BITS, &lb);
	ck_assert_msg(ra == rb, "start %llu count %u flags %u: %ld vs %ld",
		      (unsigned long long)start, count, flags, ra, rb);
	ck_assert(!a->io.kernel_check_failed);
	ck_assert_uint_le(a->io.max_out, 131072);
	ck_assert_uint_eq(la.start_gfn, lb.start_gfn);
	/* a failed call writes nothing back: each keeps its own count */
	if (ra >= 0)
		ck_assert_uint_eq(la.count, lb.count);
	else
		ck_assert_uint_eq(la.count, count);
	ck_assert_uint_eq(la.flags, lb.flags);
	ck_assert_uint_eq(la.remaining, lb.remaining);
	ck_assert_uint_eq(la.values == 0, lb.values == 0);
	ck_assert_msg(!memcmp(va, vb, sizeof(va)),
		      "start %llu count %u flags %u: values differ",
		      (unsigned long long)start, count, flags);
	same_info(a, b);
	if (out)
		*out = la;
	return ra;
}

static void essa_both(struct side *a, struct side *b, uint64_t gfn,
		      uint32_t count, uint8_t usage, uint8_t nodat)
{
	ck_assert_int_eq(essa(a, gfn, count, usage, nodat),
			 essa(b, gfn, count, usage, nodat));
}

static void random_states(struct side *a, struct side *b, unsigned int n)
{
	unsigned int i;
	uint64_t gfn;

	for (i = 0; i < n; i++) {
		gfn = rnd() % MEM_END;
		if (gfn >= HOLE && gfn < GAP_END)
			continue;
		essa_both(a, b, gfn, 1, (uint8_t)(rnd() % 4),
			  (uint8_t)(rnd() % 2));
	}
}

static const uint32_t counts[] = {
	0, 1, 17, 131039, 131040, 131041, 524288, 1048576, 1048577, 0xffffffff
};
static const uint64_t starts[] = { 0,		1,	 SLOT1 - 1,   SLOT1,
				   HOLE - 1,	HOLE,	 GAP_END - 1, GAP_END,
				   MEM_END - 1, MEM_END, ~0ULL };

START_TEST(test_get_equals_direct_get)
{
	struct side a, b;
	struct ks_s390_cmma_log l;
	unsigned int i, j, n;
	uint64_t at, gfn;
	long ret;

	rnd_state = 77;
	side_up(&a, true);
	side_up(&b, false);
	/* before the guest used CMM: every PEEK is all zero (row 5) */
	ck_assert_int_eq(get_both(&a, &b, 5, 100, KS_S390_CMMA_PEEK, &l), 0);
	ck_assert_uint_eq(l.values, 0);
	random_states(&a, &b, 4000);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j++)
			get_both(&a, &b, starts[i], counts[j],
				 KS_S390_CMMA_PEEK, NULL);
	/* every frame dirty; drain it as QEMU does, resuming at the end */
	attr(&a, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_START);
	attr(&b, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_START);
	ck_assert_uint_eq(info(&a).dirty_count, HOLE + MEM_END - GAP_END);
	at = 0;
	for (n = 0; info(&b).dirty_count && n < 40; n++) {
		ret = get_both(&a, &b, at, 524288, 0, &l);
		ck_assert_int_eq(ret, 0);
		ck_assert_uint_le(l.count, D1_VALUES);
		at = l.start_gfn + l.count;
	}
	ck_assert_uint_eq(info(&a).dirty_count, 0);
	/* nothing dirty: all zero (row 6) */
	ck_assert_int_eq(get_both(&a, &b, 0, 524288, 0, &l), 0);
	ck_assert_uint_eq(l.values, 0);
	/* sparse dirt: gaps of 16, 17 and 18, slot ends, the hole, mem end */
	static const uint64_t dirt[] = { 3,	     19,	36,
					 54,	     SLOT1 - 2, SLOT1 + 10,
					 HOLE - 1,   GAP_END,	GAP_END + 17,
					 MEM_END - 1 };
	for (i = 0; i < sizeof(dirt) / sizeof(dirt[0]); i++)
		essa_both(&a, &b, dirt[i], 1, (uint8_t)(i % 4), 0);
	for (i = 0; i < 300; i++) {
		gfn = rnd() % (MEM_END + 20);
		essa_both(&a, &b, gfn % MEM_END, 1 + rnd() % 40,
			  (uint8_t)(rnd() % 4), 0);
	}
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j += 2)
			get_both(&a, &b, starts[i], counts[j], 0, NULL);
	/* and drain the rest from where a scan leaves off */
	at = 0;
	for (n = 0; info(&b).dirty_count && n < 2000; n++) {
		get_both(&a, &b, at, counts[n % 10], 0, &l);
		at = l.start_gfn + l.count;
	}
	ck_assert_uint_eq(info(&a).dirty_count, 0);
	side_down(&a);
	side_down(&b);
}
END_TEST

/* SET of count c through CUSE vs directly; then the states must agree. */
static long set_both(struct side *a, struct side *b, uint64_t start,
		     uint32_t count, uint64_t mask)
{
	struct ks_s390_cmma_log l = {
		.start_gfn = start,
		.count = count,
		.mask = mask,
		.values = (uintptr_t)va,
	};
	struct ks_s390_cmma_log lb = l;
	unsigned int rounds;
	long ra, rb;

	ra = call(a, KS_S390_SET_CMMA_BITS, &l);
	rb = call(b, KS_S390_SET_CMMA_BITS, &lb);
	ck_assert_msg(ra == rb, "start %llu count %u: %ld vs %ld",
		      (unsigned long long)start, count, ra, rb);
	ck_assert(!a->io.kernel_check_failed);
	ck_assert_uint_le(a->io.max_in, 131072);
	/* R1, R2, then slices of 131040 (cuse.md §7.4) */
	if (count && count <= 1048576) {
		rounds = 2 + (count + D1_VALUES - 1) / D1_VALUES;
		ck_assert_uint_eq(a->io.rounds, rounds);
		if (count >= D1_VALUES)
			ck_assert_uint_eq(a->io.max_in, 131072);
	}
	/* nothing of the struct is written back */
	ck_assert_mem_eq(&l, &lb, sizeof(l));
	same_info(a, b);
	return ra;
}

START_TEST(test_set_equals_direct_set)
{
	static const struct {
		uint64_t start;
		uint32_t count;
		long ret;
	} sets[] = {
		{ 0, 1, 0 },
		{ 100, 131040, 0 },
		{ 200000, 131041, 0 }, /* across the adjacent slots */
		{ GAP_END, MEM_END - GAP_END, 0 },
		{ 0, 524288, -EFAULT }, /* into the hole after 512000 */
		{ 0, 262080, 0 },
		{ HOLE - 131040, 131041, -EFAULT }, /* Q14: a prefix stays */
		{ GAP_END - 5, 10, -EFAULT }, /* the hole first: nothing */
		{ 0, 1048577, -EINVAL },
		{ 7, 0, 0 },
	};
	struct side a, b;
	unsigned int i, k;
	uint64_t at;

	rnd_state = 99;
	side_up(&a, true);
	side_up(&b, false);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		for (k = 0; k < MEM_END; k++)
			va[k] = (uint8_t)rnd();
		ck_assert_int_eq(set_both(&a, &b, sets[i].start, sets[i].count,
					  i % 2 ? ~0ULL :
						  0x43000000ULL |
							  (rnd() & 0xff)),
				 sets[i].ret);
	}
	/* every frame's state agrees */
	for (at = 0; at < MEM_END; at += D1_VALUES) {
		if (at >= HOLE && at < GAP_END)
			continue;
		get_both(&a, &b, at, D1_VALUES, KS_S390_CMMA_PEEK, NULL);
	}
	get_both(&a, &b, GAP_END, D1_VALUES, KS_S390_CMMA_PEEK, NULL);
	side_down(&a);
	side_down(&b);
}
END_TEST

static bool stop_at(void *opaque, unsigned int round)
{
	return round < *(unsigned int *)opaque;
}

/*
 * A GET abandoned between rounds (a signal, a dying caller) consumes no
 * dirty bit and writes nothing; the next GET of the same thread then
 * leaves a and b alike.
 */
START_TEST(test_abandoned_get_changes_nothing)
{
	struct ks_s390_cmma_log l, keep;
	struct side a, b;
	unsigned int stop;

	rnd_state = 11;
	side_up(&a, true);
	side_up(&b, false);
	random_states(&a, &b, 500);
	attr(&a, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_START);
	attr(&b, KS_S390_VM_MIGRATION, KS_S390_VM_MIGRATION_START);
	for (stop = 2; stop <= 3; stop++) {
		memset(&l, 0, sizeof(l));
		l.start_gfn = 1000;
		l.count = 524288;
		l.values = (uintptr_t)va;
		keep = l;
		memset(va, 0xee, D1_VALUES + 64);
		memset(&a.io, 0, sizeof(a.io));
		a.io.fh = a.fh;
		a.io.pid = fk_gettid();
		a.io.cmd = KS_S390_GET_CMMA_BITS;
		a.io.arg = (uintptr_t)&l;
		a.io.before_round = stop_at;
		a.io.opaque = &stop;
		ck_assert_errno(fk_ioctl_ex(a.k, &a.io), EINTR);
		ck_assert_uint_eq(a.io.rounds, stop - 1);
		ck_assert_mem_eq(&l, &keep, sizeof(l));
		ck_assert_uint_eq(va[0], 0xee);
		ck_assert_uint_eq(va[D1_VALUES - 1], 0xee);
		same_info(&a, &b);
	}
	/* the thread's next call starts afresh */
	get_both(&a, &b, 1000, 524288, 0, NULL);
	get_both(&a, &b, 0, 1048576, 0, NULL);
	side_down(&a);
	side_down(&b);
}
END_TEST

/* Before round at, the attribute struct becomes to. */
struct attr_morph {
	struct ks_device_attr *a;
	struct ks_device_attr to;
	unsigned int at;
};

static bool attr_morph_round(void *opaque, unsigned int round)
{
	struct attr_morph *m = opaque;

	if (round == m->at)
		*m->a = m->to;
	return true;
}

/*
 * GET_DEVICE_ATTR checks group and attr in R2 and writes in R3
 * (cuse.md §7.1): when the struct changes in between, the answer is the
 * direct answer for the struct of the last round, written where that
 * struct points, exactly once.
 */
START_TEST(test_get_attr_struct_changes_between_rounds)
{
	static const struct {
		uint32_t group;
		uint64_t attr;
		bool other_addr;
	} tos[] = {
		{ KS_S390_VM_MEM_CTRL, KS_S390_VM_MEM_LIMIT_SIZE, true },
		{ KS_S390_VM_MEM_CTRL, 99, false },
		{ KS_S390_VM_MEM_CTRL, KS_S390_VM_MEM_ENABLE_CMMA, false },
		{ 77, KS_S390_VM_MEM_LIMIT_SIZE, false },
		{ KS_S390_VM_MIGRATION, 0, true },
		{ KS_S390_VM_MIGRATION, 5, false },
		{ KS_S390_VM_TOD, 0, true },
	};
	uint64_t va8, vb8, wa8, wb8;
	struct ks_device_attr a, b;
	struct attr_morph m;
	struct side sa, sb;
	unsigned int i, at;
	long ra, rb;

	side_up(&sa, true);
	side_up(&sb, false);
	for (i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
		for (at = 2; at <= 3; at++) {
			va8 = vb8 = wa8 = wb8 = 0xeeeeeeeeeeeeeeeeULL;
			a = (struct ks_device_attr){
				.group = KS_S390_VM_MEM_CTRL,
				.attr = KS_S390_VM_MEM_LIMIT_SIZE,
				.addr = (uintptr_t)&va8,
			};
			m.a = &a;
			m.at = at;
			m.to = (struct ks_device_attr){
				.group = tos[i].group,
				.attr = tos[i].attr,
				.addr = (uintptr_t)(tos[i].other_addr ? &wa8 :
									&va8),
			};
			b = m.to;
			b.addr = (uintptr_t)(tos[i].other_addr ? &wb8 : &vb8);
			memset(&sa.io, 0, sizeof(sa.io));
			sa.io.fh = sa.fh;
			sa.io.pid = fk_gettid();
			sa.io.cmd = KS_GET_DEVICE_ATTR;
			sa.io.arg = (uintptr_t)&a;
			sa.io.before_round = attr_morph_round;
			sa.io.opaque = &m;
			ra = fk_ioctl_ex(sa.k, &sa.io);
			rb = call(&sb, KS_GET_DEVICE_ATTR, &b);
			ck_assert_msg(ra == rb, "%u at %u: %ld vs %ld", i, at,
				      ra, rb);
			ck_assert(!sa.io.kernel_check_failed);
			ck_assert_uint_eq(va8, vb8);
			ck_assert_uint_eq(wa8, wb8);
			if (i == 0) {
				/* only the new address is written */
				ck_assert_int_eq(ra, 0);
				ck_assert_uint_eq(va8, 0xeeeeeeeeeeeeeeeeULL);
				ck_assert_uint_ne(wa8, 0xeeeeeeeeeeeeeeeeULL);
			}
		}
	}
	side_down(&sa);
	side_down(&sb);
}
END_TEST

Suite *suite_cmma_parity(void);
Suite *suite_cmma_parity(void)
{
	Suite *s = suite_create("cmma_parity");
	TCase *tc = tcase_create("cuse_vs_direct");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_get_equals_direct_get);
	tcase_add_test(tc, test_set_equals_direct_set);
	tcase_add_test(tc, test_abandoned_get_changes_nothing);
	tcase_add_test(tc, test_get_attr_struct_changes_between_rounds);
	suite_add_tcase(s, tc);
	return s;
}
