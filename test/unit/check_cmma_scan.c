// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_S390_GET_CMMA_BITS (spec: cmma.md §6, §8): the check order, PEEK,
 * the dirty scan with its gap rule, holes and wrap, the selftest's
 * sequences, and a randomised comparison with a literal implementation of
 * the spec's pseudocode.
 */
#include <stdio.h>

#include "check_cmma.h"
#include "core/cmma_store.h"

static uint8_t buf[2 * MiB];

/* The selftest's VM: slots 0 (gfn 0-511) and 1 (4096-4607), no flags. */
static struct cm_vm selftest_vm(void)
{
	struct cm_vm v = cm_new();

	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 4096, 512, 0x20000000), 0);
	return v;
}

static void log_dirty_on(struct cm_vm *v)
{
	ck_assert_int_eq(cm_region(v->h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v->h, 1, LOG, 4096, 512, 0x20000000), 0);
}

/* "Run the guest": a vCPU if none yet, then ESSA SET_STABLE. */
static void run_guest(struct cm_vm *v, uint64_t gfn, uint32_t count)
{
	ck_assert_int_eq(cm_vcpus(v->h, 1), 0);
	ck_assert_int_eq(cm_essa(v->h, gfn, count, 0, 0), 0);
}

/* guest_do_one_essa of the newest selftest */
static void guest_do_one_essa(struct cm_vm *v)
{
	run_guest(v, 4096, 1);
	run_guest(v, 4096 + 256, 1);
}

/* The dirty bits of slot index si equal want[0 .. npages). */
static void expect_dirty(struct cm_vm *v, size_t si, const bool *want)
{
	const struct ks_memslot *m = &v->h->vm->slots.v[si];
	const struct ks_bitmap *bm = m->arch;
	uint64_t i;

	for (i = 0; i < m->size >> 12; i++)
		if (ks_bitmap_test(bm, i) != want[i])
			ck_abort_msg("gfn 0x%llx: dirty %d, expected %d",
				     (unsigned long long)((m->gpa >> 12) + i),
				     !want[i], want[i]);
}

START_TEST(test_t1_basic)
{
	struct cm_vm v = selftest_vm();
	struct ks_s390_cmma_log log;
	size_t i;

	ck_assert_errno(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), ENXIO);
	/* ENXIO comes before the flags check */
	ck_assert_errno(cm_get(v.h, &log, 0, 1024, 0xfeedc0fe, buf, 1024),
			ENXIO);
	ck_assert_int_eq(cm_enable(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_errno(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), EINVAL);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, PEEK, buf, 1024), 0);
	/* the peek stops at the hole at gfn 512 */
	cm_expect_log(&log, 0, 512, 0);
	ck_assert_uint_eq(log.flags, PEEK);
	ck_assert_uint_eq(log.values, (uintptr_t)buf);
	for (i = 0; i < 512; i++)
		ck_assert_uint_eq(buf[i], 0);
	ck_assert_uint_eq(buf[512], 0xff);
	log_dirty_on(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_errno(cm_get(v.h, &log, 0, 1024, 0xfeedc0fe, buf, 1024),
			EINVAL);
	ck_assert_errno(cm_get(v.h, &log, 0, 1024, PEEK | 2, buf, 1024),
			EINVAL);
	cm_free(&v);
}
END_TEST

START_TEST(test_t2_migration_mode)
{
	struct cm_vm v = cm_new();

	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 4096, 512, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	log_dirty_on(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	guest_do_one_essa(&v);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 8192, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 8192, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 8192, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	guest_do_one_essa(&v);
	cm_free(&v);
}
END_TEST

/* assert_all_slots_cmma_dirty + assert_no_pages_cmma_dirty */
static void t3_queries(struct cm_vm *v)
{
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_get(v->h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 0, 512, 512);
	ck_assert_int_eq(cm_get(v->h, &log, 512, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 4096, 512, 0);
	ck_assert_uint_eq(buf[512], 0xff);
	ck_assert_int_eq(cm_get(v->h, &log, 4608, 1024, 0, buf, 1024), 0);
	cm_expect_zero(&log);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_int_eq(cm_get(v->h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_zero(&log);
}

START_TEST(test_t3_initial_dirty)
{
	struct cm_vm v = selftest_vm();

	ck_assert_int_eq(cm_enable(v.h), 0);
	guest_do_one_essa(&v);
	log_dirty_on(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	t3_queries(&v);
	cm_free(&v);
}
END_TEST

START_TEST(test_t4_skip_holes)
{
	static const struct {
		uint64_t start;
		uint32_t count;
		uint64_t out_start;
		uint32_t out_count;
		uint64_t remaining;
		/* dirty afterwards: [lo, hi) pairs relative to 0x1000 */
		uint32_t dirty[3][2];
	} steps[] = {
		{ 0, 1, 0x1000, 1, 511, { { 0x001, 0x200 } } },
		{ 0x1200, 0x20, 0x1001, 0x20, 479, { { 0x021, 0x200 } } },
		{ 0x1041,
		  0x20,
		  0x1041,
		  0x20,
		  447,
		  { { 0x021, 0x041 }, { 0x061, 0x200 } } },
		{ 0x1000,
		  1,
		  0x1021,
		  1,
		  446,
		  { { 0x022, 0x041 }, { 0x061, 0x200 } } },
		{ 0x1023,
		  15,
		  0x1023,
		  15,
		  431,
		  { { 0x022, 0x023 }, { 0x032, 0x041 }, { 0x061, 0x200 } } },
		{ 0x1022,
		  17,
		  0x1022,
		  17,
		  429,
		  { { 0x033, 0x041 }, { 0x061, 0x200 } } },
		{ 0x1040,
		  25,
		  0x1040,
		  1,
		  428,
		  { { 0x033, 0x040 }, { 0x061, 0x200 } } },
		{ 0x1033, 0x0d, 0x1033, 0x0d, 415, { { 0x061, 0x200 } } },
		{ 0x1000, 0x19f, 0x1061, 0x19f, 0, { { 0 } } },
	};
	struct cm_vm v = selftest_vm();
	struct ks_s390_cmma_log log;
	bool want[512];
	size_t i, r;
	uint32_t g;

	ck_assert_int_eq(cm_enable(v.h), 0);
	run_guest(&v, 4096, 512);
	log_dirty_on(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	t3_queries(&v);
	run_guest(&v, 4096, 512);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ck_assert_int_eq(cm_get(v.h, &log, steps[i].start,
					steps[i].count, 0, buf, 1024),
				 0);
		cm_expect_log(&log, steps[i].out_start, steps[i].out_count,
			      steps[i].remaining);
		for (g = 0; g < log.count; g++)
			ck_assert_uint_eq(buf[g], 0);
		ck_assert_uint_eq(buf[log.count], 0xff);
		memset(want, 0, sizeof(want));
		for (r = 0; r < 3; r++)
			for (g = steps[i].dirty[r][0]; g < steps[i].dirty[r][1];
			     g++)
				want[g] = true;
		expect_dirty(&v, 1, want);
	}
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_zero(&log);
	cm_free(&v);
}
END_TEST

START_TEST(test_gap_rule)
{
	static const struct {
		uint64_t dirty[3];
		size_t n;
		uint32_t count;
		uint64_t left; /* still dirty afterwards, 0 if none */
	} cases[] = {
		{ { 100, 101, 119 }, 3, 3, 119 },
		{ { 100, 101, 118 }, 3, 19, 0 },
		{ { 100, 117 }, 2, 1, 117 },
		{ { 100, 116 }, 2, 17, 0 },
	};
	struct ks_s390_cmma_log log;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cm_vm v = cm_dirty_vm(cases[i].dirty, cases[i].n);

		ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
		cm_expect_log(&log, 100, cases[i].count, cases[i].left ? 1 : 0);
		ck_assert_uint_eq(buf[log.count], 0xff);
		ck_assert_uint_eq(buf[0], 1);
		ck_assert_uint_eq(cm_info(v.h).dirty_bits,
				  cases[i].left ? 1 : 0);
		if (cases[i].left)
			ck_assert(ks_bitmap_test(v.h->vm->slots.v[0].arch,
						 cases[i].left));
		cm_free(&v);
	}
}
END_TEST

START_TEST(test_trailing_value_and_values)
{
	uint64_t d[] = { 100, 101, 110, 112, 200 };
	struct cm_vm v = cm_dirty_vm(d, 5);
	struct ks_s390_cmma_log log;

	/* states: 100:1 101:2 110:3 112:1; the trailing 113 is clean */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 100, 14, 1);
	ck_assert_mem_eq(buf, "\x01\x02\0\0\0\0\0\0\0\0\x03\0\x01\0\xff", 15);
	cm_free(&v);
}
END_TEST

START_TEST(test_limits_stop_without_trailing)
{
	uint64_t d[] = { 100, 101, 105, 106, 107, 108 };
	struct cm_vm v = cm_dirty_vm(d, 6);
	struct ks_s390_cmma_log log;

	/* the next dirty gfn would not fit: 105 - 100 >= 5 */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 5, 0, buf, 16), 0);
	cm_expect_log(&log, 100, 2, 4);
	ck_assert_uint_eq(buf[2], 0xff);
	/* count reaches B inside a dense run */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 3, 0, buf, 16), 0);
	cm_expect_log(&log, 105, 3, 1);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1, 0, buf, 16), 0);
	cm_expect_log(&log, 108, 1, 0);
	cm_free(&v);
}
END_TEST

/* Slots A [0, 256), C [256, 512) adjacent, B [1024, 1280), all logging. */
static struct cm_vm holes_vm(void)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 256, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	do
		ck_assert_int_eq(cm_get(v.h, &log, 0, 100000, 0, buf, MiB), 0);
	while (log.count);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	return v;
}

START_TEST(test_holes_adjacent_slots_and_wrap)
{
	struct cm_vm v = holes_vm();
	struct ks_s390_cmma_log log;

	/* a run crosses adjacent slots */
	ck_assert_int_eq(cm_essa(v.h, 250, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 260, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 250, 11, 0);
	/* a later page's trailing clean value comes from the next slot */
	ck_assert_int_eq(cm_essa(v.h, 1030, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 240, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 250, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 255, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 240, 17, 1);
	/* without it the run ends at the end of memory: no trailing value */
	ck_assert_int_eq(cm_essa(v.h, 1270, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1260, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1270, 1, 1);
	/* no trailing value when the next frame is a hole */
	ck_assert_int_eq(cm_essa(v.h, 500, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 511, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 500, 12, 1);
	ck_assert_uint_eq(buf[12], 0xff);
	/* Q11: from inside a hole the search goes up, never down */
	ck_assert_int_eq(cm_essa(v.h, 10, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 600, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1030, 1, 1);
	ck_assert_int_eq(cm_get(v.h, &log, 600, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1280, 0, 1);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_int_eq(cm_get(v.h, &log, 300, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1280, 0, 1);
	/* from the end of memory it wraps to the lowest slot */
	ck_assert_int_eq(cm_get(v.h, &log, 1280, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 10, 1, 0);
	/* and from any start above it */
	ck_assert_int_eq(cm_essa(v.h, 11, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, ~0ULL, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 11, 1, 0);
	/* the last frame of memory: the wrapped next is below, no trailing */
	ck_assert_int_eq(cm_essa(v.h, 5, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 1270, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 1279, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1200, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1270, 10, 1);
	/* from the last frame itself the next is NEXT(mem_end): wrapped */
	ck_assert_int_eq(cm_essa(v.h, 1279, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1279, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1279, 1, 1);
	ck_assert_int_eq(cm_get(v.h, &log, 1279, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1280, 0, 1);
	ck_assert_int_eq(cm_get(v.h, &log, 1280, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 5, 1, 0);
	cm_free(&v);
}
END_TEST

/*
 * QEMU resumes at start_gfn + count, where the previous scan already
 * looked for the next dirty frame: whatever happened in between must be
 * seen by the next call.
 */
START_TEST(test_resume_sees_changes)
{
	struct cm_vm v = holes_vm();
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_essa(v.h, 100, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 200, 1, 2, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 100, 1, 1);
	/* a page dirtied between the two: found first */
	ck_assert_int_eq(cm_essa(v.h, 150, 1, 3, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 101, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 150, 1, 1);
	ck_assert_uint_eq(buf[0], 3);
	/* the next one taken by a call that started elsewhere */
	ck_assert_int_eq(cm_get(v.h, &log, 190, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 200, 1, 0);
	ck_assert_int_eq(cm_essa(v.h, 1100, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 151, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1100, 1, 0);
	/* "nothing up to the end" no longer holds once a page is dirty */
	ck_assert_int_eq(cm_essa(v.h, 1200, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1101, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1200, 1, 0);
	ck_assert_int_eq(cm_essa(v.h, 1250, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1201, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1250, 1, 0);
	/* the slot of the next dirty frame moves: its bit moves with it */
	ck_assert_int_eq(cm_essa(v.h, 10, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 1030, 1, 2, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 10, 1, 1);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 2048, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 11, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 2054, 1, 0);
	ck_assert_uint_eq(buf[0], 2);
	/* the slot of the next dirty frame is deleted (Q16: still counted) */
	ck_assert_int_eq(cm_essa(v.h, 20, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 2100, 1, 1, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 20, 1, 1);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 0, 0, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 21, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 512, 0, 1);
	/* a new START marks everything again */
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 21, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 21, 491, 21);
	cm_free(&v);
}
END_TEST

START_TEST(test_peek)
{
	struct cm_vm v = holes_vm();
	struct ks_s390_cmma_log log;
	uint8_t vals[4] = { 3, 0x42, 1, 0x40 };

	ck_assert_int_eq(cm_set(v.h, 254, 4, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_essa(v.h, 300, 1, 1, 0), 0);
	/* across adjacent slots, up to the hole; start_gfn unchanged */
	ck_assert_int_eq(cm_get(v.h, &log, 250, 1000, PEEK, buf, 1024), 0);
	cm_expect_log(&log, 250, 262, 1);
	ck_assert_mem_eq(buf + 4, vals, 4);
	ck_assert_uint_eq(buf[262], 0xff);
	/* dirty bits untouched */
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1);
	/* count limits */
	ck_assert_int_eq(cm_get(v.h, &log, 255, 2, PEEK, buf, 8), 0);
	cm_expect_log(&log, 255, 2, 1);
	ck_assert_mem_eq(buf, "\x42\x01\xff", 3);
	/* row 8: the first frame is in no slot */
	ck_assert_errno(cm_get(v.h, &log, 512, 10, PEEK, buf, 16), EFAULT);
	ck_assert_uint_eq(log.start_gfn, 512);
	ck_assert_uint_eq(log.count, 10);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_errno(cm_get(v.h, &log, ~0ULL, 10, PEEK, buf, 16), EFAULT);
	/* the last frames of memory */
	ck_assert_int_eq(cm_get(v.h, &log, 1278, 10, PEEK, buf, 16), 0);
	cm_expect_log(&log, 1278, 2, 1);
	/* outside migration mode: remaining 0, still works */
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1, PEEK, buf, 16), 0);
	cm_expect_log(&log, 0, 1, 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_all_zero_cases)
{
	struct cm_vm v = selftest_vm();
	struct ks_s390_cmma_log log;

	log_dirty_on(&v);
	ck_assert_int_eq(cm_enable(v.h), 0);
	/* Q12: the guest never used CMM */
	ck_assert_int_eq(cm_get(v.h, &log, 5, 10, PEEK, buf, 16), 0);
	cm_expect_zero(&log);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 5, 10, 0, buf, 16), 0);
	cm_expect_zero(&log);
	ck_assert_uint_eq(buf[0], 0xff);
	/* even a peek into a hole */
	ck_assert_int_eq(cm_get(v.h, &log, 600, 10, PEEK, buf, 16), 0);
	cm_expect_zero(&log);
	/* the guest's first ESSA outside migration mode records the use */
	ck_assert_int_eq(cm_stop(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* count 0: values and flags are zeroed too */
	ck_assert_int_eq(cm_get(v.h, &log, 5, 0, PEEK, buf, 16), 0);
	cm_expect_zero(&log);
	ck_assert_int_eq(cm_get(v.h, &log, 600, 0, 0, buf, 16), 0);
	cm_expect_zero(&log);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	/* nothing dirty: all zero, but a peek still answers */
	do
		ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), 0);
	while (log.count);
	ck_assert_int_eq(cm_get(v.h, &log, 5, 10, 0, buf, 16), 0);
	cm_expect_zero(&log);
	ck_assert_int_eq(cm_get(v.h, &log, 5, 10, PEEK, buf, 16), 0);
	cm_expect_log(&log, 5, 10, 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_faults)
{
	struct cm_vm v = selftest_vm();
	struct ks_s390_cmma_log log;
	struct ks_uctx_direct d;

	log_dirty_on(&v);
	ck_assert_int_eq(cm_enable(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_errno(unit_ioctl(v.h, KS_S390_GET_CMMA_BITS, 8), EFAULT);
	ck_assert_errno(unit_ioctl_as(v.h, 7, KS_S390_GET_CMMA_BITS, 8), EIO);
	/* row 9: values unwritable; the consumed bits are lost */
	ks_uctx_direct_init(&d, UNIT_TGID);
	d.fault_lo = (uintptr_t)buf + 100;
	d.fault_hi = d.fault_lo + 1;
	memset(&log, 0, sizeof(log));
	log.count = 1024;
	log.values = (uintptr_t)buf;
	ck_assert_errno(cm_get_with(v.h, &d, &log), EFAULT);
	/* D8: the struct was written first */
	cm_expect_log(&log, 0, 512, 512);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	/* a peek with unwritable values */
	log.flags = PEEK;
	log.start_gfn = 0;
	ck_assert_errno(cm_get_with(v.h, &d, &log), EFAULT);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	cm_free(&v);
}
END_TEST

START_TEST(test_transport_limit)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	struct ks_uctx_direct d;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 1 << 20, 1ULL << 40), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* D1: as if count were at most the transport's out limit - 32 */
	ks_uctx_direct_init(&d, UNIT_TGID);
	d.u.out_cap = 131072;
	memset(&log, 0, sizeof(log));
	log.count = 524288;
	log.values = (uintptr_t)buf;
	ck_assert_int_eq(cm_get_with(v.h, &d, &log), 0);
	cm_expect_log(&log, 0, 131040, (1 << 20) - 131040);
	log.flags = PEEK;
	log.count = 0xffffffff;
	ck_assert_int_eq(cm_get_with(v.h, &d, &log), 0);
	cm_expect_log(&log, 0, 131040, (1 << 20) - 131040);
	/* the clamp to KVM_S390_SKEYS_MAX */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 0xffffffff, 0, buf, 2 * MiB), 0);
	cm_expect_log(&log, 131040, (1 << 20) - 131040, 0);
	ck_assert_uint_eq(buf[log.count], 0xff);
	cm_free(&v);
}
END_TEST

START_TEST(test_no_memslots_left)
{
	struct cm_vm v = selftest_vm();
	struct ks_s390_cmma_log log;

	log_dirty_on(&v);
	ck_assert_int_eq(cm_enable(v.h), 0);
	guest_do_one_essa(&v);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 0, 0, 0), 0);
	/* M5: the struct as sent, remaining counted, B zero bytes */
	ck_assert_int_eq(cm_get(v.h, &log, 77, 100, 0, buf, 128), 0);
	cm_expect_log(&log, 77, 100, 1024);
	ck_assert_mem_eq(buf, (uint8_t[100]){ 0 }, 100);
	ck_assert_uint_eq(buf[100], 0xff);
	ck_assert_errno(cm_get(v.h, &log, 0, 100, PEEK, buf, 128), EFAULT);
	cm_free(&v);
}
END_TEST

/*
 * Linux copies the values before the struct: where a values buffer
 * overlaps its own struct, the caller finds the struct.
 */
START_TEST(test_values_overlapping_the_struct)
{
	struct cm_vm v = holes_vm();
	union {
		struct ks_s390_cmma_log log;
		uint8_t bytes[160];
	} m;
	struct ks_s390_cmma_log want, *lg;
	uint8_t vals[4] = { 1, 2, 3, 0x43 };
	uint64_t i, words[8];

	ck_assert_int_eq(cm_set(v.h, 40, 4, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_essa(v.h, 300, 1, 2, 0), 0);
	/* values inside the struct, ending inside it */
	memset(&m, 0xee, sizeof(m));
	memset(&m.log, 0, sizeof(m.log));
	m.log.start_gfn = 40;
	m.log.count = 8;
	m.log.flags = PEEK;
	m.log.values = (uintptr_t)&m.bytes[8];
	want = m.log;
	want.remaining = 1;
	ck_assert_int_eq(
		unit_ioctl(v.h, KS_S390_GET_CMMA_BITS, (uintptr_t)&m.log), 0);
	ck_assert_mem_eq(&m.log, &want, sizeof(want));
	/* values at the struct's own address, running past it */
	memset(&m, 0xee, sizeof(m));
	memset(&m.log, 0, sizeof(m.log));
	m.log.start_gfn = 0;
	m.log.count = 100;
	m.log.flags = PEEK;
	m.log.values = (uintptr_t)&m.log;
	want = m.log;
	want.remaining = 1;
	ck_assert_int_eq(
		unit_ioctl(v.h, KS_S390_GET_CMMA_BITS, (uintptr_t)&m.log), 0);
	ck_assert_mem_eq(&m.log, &want, sizeof(want));
	for (i = 32; i < 100; i++)
		ck_assert_uint_eq(m.bytes[i],
				  i >= 40 && i < 44 ? vals[i - 40] : 0);
	ck_assert_uint_eq(m.bytes[100], 0xee);
	/* a non-peek run whose values start before the struct */
	ck_assert_int_eq(cm_essa(v.h, 300, 40, 1, 0), 0);
	memset(words, 0xee, sizeof(words));
	lg = (struct ks_s390_cmma_log *)&words[2];
	memset(lg, 0, sizeof(*lg));
	lg->start_gfn = 200;
	lg->count = 64;
	lg->values = (uintptr_t)&words[1];
	want = *lg;
	want.start_gfn = 300;
	want.count = 40;
	want.remaining = 0;
	ck_assert_int_eq(unit_ioctl(v.h, KS_S390_GET_CMMA_BITS, (uintptr_t)lg),
			 0);
	ck_assert_mem_eq(lg, &want, sizeof(want));
	ck_assert_mem_eq(&words[1], "\x01\x01\x01\x01\x01\x01\x01\x01", 8);
	ck_assert_uint_eq(words[6], 0xeeeeeeeeeeeeeeeeULL);
	cm_free(&v);
}
END_TEST

/*
 * The reference: cmma.md §6 executed literally on a dense model of the
 * same guest (a flat array of frames, holes marked).
 */
#define REF_FRAMES 72000

struct ref {
	bool mem[REF_FRAMES];
	bool dirty[REF_FRAMES];
	uint8_t state[REF_FRAMES];
	uint64_t dirty_count;
	uint64_t mem_end;
	uint64_t base[8], end[8];
	size_t nslots;
};

static uint64_t ref_next(const struct ref *r, uint64_t g)
{
	size_t i;
	uint64_t f;

	for (i = 0; i < r->nslots && r->end[i] <= g; i++)
		;
	if (i == r->nslots) {
		i = 0;
		g = r->base[0];
	}
	for (f = g > r->base[i] ? g : r->base[i]; f < r->mem_end; f++)
		if (r->mem[f] && r->dirty[f])
			return f;
	return r->mem_end;
}

static bool ref_in_mem(const struct ref *r, uint64_t g)
{
	return g < REF_FRAMES && r->mem[g];
}

static void ref_get(struct ref *r, struct ks_s390_cmma_log *log, uint8_t *out,
		    uint64_t B)
{
	uint64_t cur, nxt, start;
	uint32_t count = 0;

	cur = ref_next(r, log->start_gfn);
	log->start_gfn = start = cur;
	log->count = 0;
	if (!ref_in_mem(r, cur))
		goto out;
	nxt = ref_next(r, cur + 1);
	while (count < B) {
		if (r->dirty[cur]) {
			r->dirty[cur] = false;
			r->dirty_count--;
		}
		out[count++] = r->state[cur];
		if (nxt > cur + 16)
			break;
		if (cur == nxt)
			nxt = ref_next(r, cur + 1);
		if (nxt >= r->mem_end || nxt - start >= B)
			break;
		cur++;
		if (!ref_in_mem(r, cur))
			break;
	}
	log->count = count;
out:
	log->remaining = r->dirty_count;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(test_scan_matches_reference)
{
	/* adjacent slots, holes, a slot over two bitmap chunks */
	static const uint64_t layout[][2] = {
		{ 0, 256 },
		{ 256, 768 },
		{ 1000, 1256 },
		{ 5120, 70656 },
	};
	static struct ref r;
	static uint8_t got[80000], want[80000];
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log, exp;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, g, n, resume = 0;
	size_t i, k, op;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(cm_region(v.h, (uint32_t)i, LOG, layout[i][0],
					   layout[i][1] - layout[i][0],
					   (uint64_t)(i + 1) << 32),
				 0);
		r.base[i] = layout[i][0];
		r.end[i] = layout[i][1];
		for (g = layout[i][0]; g < layout[i][1]; g++)
			r.mem[g] = true;
	}
	r.nslots = 4;
	r.mem_end = 70656;
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	for (g = 0; g < REF_FRAMES; g++) {
		r.dirty[g] = r.mem[g];
		r.dirty_count += r.mem[g];
	}
	for (op = 0; op < 3000; op++) {
		uint64_t what = rnd(&seed) % 100;

		if (what < 2) {
			/* STOP + START: everything dirty again */
			ck_assert_int_eq(cm_stop(v.h), 0);
			ck_assert_int_eq(cm_start(v.h), 0);
			r.dirty_count = 0;
			for (g = 0; g < REF_FRAMES; g++) {
				r.dirty[g] = r.mem[g];
				r.dirty_count += r.mem[g];
			}
		} else if (what < 45) {
			/* ESSA on a run inside one slot (dense or single) */
			i = rnd(&seed) % 4;
			n = rnd(&seed) % 3 ? 1 + rnd(&seed) % 3 :
					     1 + rnd(&seed) % 300;
			g = r.base[i] + rnd(&seed) % (r.end[i] - r.base[i]);
			if (g + n > r.end[i])
				n = r.end[i] - g;
			k = rnd(&seed) % 4;
			ck_assert_int_eq(cm_essa(v.h, g, (uint32_t)n,
						 (uint8_t)k, k == 2),
					 0);
			for (; n; n--, g++) {
				r.state[g] = (uint8_t)(k | (k == 2 ? 0x40 : 0));
				if (!r.dirty[g]) {
					r.dirty[g] = true;
					r.dirty_count++;
				}
			}
		} else {
			uint64_t starts[] = { 0,    255,   768,	  999,	 1256,
					      5120, 70655, 70656, 70657, ~0ULL };
			uint64_t B;

			/* often where QEMU resumes, as the previous call says */
			if (rnd(&seed) % 3 == 0)
				g = resume;
			else
				g = rnd(&seed) % 2 ? rnd(&seed) % 72000 :
						     starts[rnd(&seed) % 10];
			n = rnd(&seed) % 4 ? 1 + rnd(&seed) % 64 :
					     1 + rnd(&seed) % 75000;
			ck_assert_int_eq(cm_get(v.h, &log, g, (uint32_t)n, 0,
						got, sizeof(got)),
					 0);
			if (!r.dirty_count) {
				cm_expect_zero(&log);
				continue;
			}
			memset(&exp, 0, sizeof(exp));
			exp.start_gfn = g;
			B = n;
			ref_get(&r, &exp, want, B);
			if (log.start_gfn != exp.start_gfn ||
			    log.count != exp.count ||
			    log.remaining != exp.remaining)
				ck_abort_msg("op %zu: GET(%llu, %llu) gave "
					     "%llu/%u/%llu, expected "
					     "%llu/%u/%llu",
					     op, (unsigned long long)g,
					     (unsigned long long)n,
					     (unsigned long long)log.start_gfn,
					     log.count,
					     (unsigned long long)log.remaining,
					     (unsigned long long)exp.start_gfn,
					     exp.count,
					     (unsigned long long)exp.remaining);
			ck_assert_mem_eq(got, want, log.count);
			ck_assert_uint_eq(got[log.count], 0xff);
			resume = log.start_gfn + log.count;
		}
		if (op % 500 == 0) {
			for (i = 0; i < 4; i++)
				expect_dirty(&v, i, r.dirty + r.base[i]);
			ck_assert_uint_eq(cm_info(v.h).dirty_bits,
					  r.dirty_count);
		}
	}
	cm_free(&v);
}
END_TEST

Suite *suite_cmma_scan(void);
Suite *suite_cmma_scan(void)
{
	Suite *s = suite_create("cmma_scan");
	TCase *tc = tcase_create("selftest");

	tcase_add_test(tc, test_t1_basic);
	tcase_add_test(tc, test_t2_migration_mode);
	tcase_add_test(tc, test_t3_initial_dirty);
	tcase_add_test(tc, test_t4_skip_holes);
	suite_add_tcase(s, tc);
	tc = tcase_create("get");
	tcase_add_test(tc, test_gap_rule);
	tcase_add_test(tc, test_trailing_value_and_values);
	tcase_add_test(tc, test_limits_stop_without_trailing);
	tcase_add_test(tc, test_holes_adjacent_slots_and_wrap);
	tcase_add_test(tc, test_resume_sees_changes);
	tcase_add_test(tc, test_peek);
	tcase_add_test(tc, test_all_zero_cases);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_transport_limit);
	tcase_add_test(tc, test_no_memslots_left);
	tcase_add_test(tc, test_values_overlapping_the_struct);
	suite_add_tcase(s, tc);
	tc = tcase_create("reference");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scan_matches_reference);
	suite_add_tcase(s, tc);
	return s;
}
