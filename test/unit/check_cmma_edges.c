// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * s390 CMMA edge cases taken from the spec text alone (cmma.md,
 * generic.md §4.3): inputs wrong in several ways at once, state after
 * failing calls, boundary values and call sequences.
 */
#include <pthread.h>

#include "check_cmma.h"

static uint8_t buf[MiB];

/* GET with a caller-built struct, kept as sent unless written back. */
static long get_raw(struct ks_handle *h, struct ks_s390_cmma_log *log)
{
	return unit_ioctl(h, KS_S390_GET_CMMA_BITS, (uintptr_t)log);
}

/* Drains every dirty bit with non-peek GETs. */
static void drain(struct ks_handle *h)
{
	struct ks_s390_cmma_log log;

	do
		ck_assert_int_eq(
			cm_get(h, &log, 0, 100000, 0, buf, sizeof(buf)), 0);
	while (log.count);
}

/* §4: device attributes, several faults at once */
START_TEST(test_attr_orders)
{
	struct cm_vm v = cm_new();
	uint64_t out = 0x5555;

	/* caller check before the struct read, for all three */
	ck_assert_errno(unit_ioctl_as(v.h, 9, KS_SET_DEVICE_ATTR, 8), EIO);
	ck_assert_errno(unit_ioctl_as(v.h, 9, KS_GET_DEVICE_ATTR, 8), EIO);
	/* attr is compared as a 64-bit number */
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 2 | (1ULL << 32),
				(uintptr_t)&out),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 2 | (1ULL << 32),
				0),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 1ULL << 63, 0),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 4, 2 | (1ULL << 32),
				(uintptr_t)&out),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0x104, 0, 0), ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 4, 0, 16), ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 0, 16), ENXIO);
	ck_assert_uint_eq(out, 0x5555);
	/* CLR_CMMA: "not enabled" wins over anything else */
	ck_assert_int_eq(cm_vcpus(v.h, 3), 0);
	ck_assert_errno(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), EINVAL);
	/* ENABLE_CMMA: vCPUs created -> EBUSY, and nothing enabled */
	ck_assert_errno(cm_enable(v.h), EBUSY);
	ck_assert_uint_eq(cm_info(v.h).flags, 0);
	ck_assert_errno(cm_set(v.h, 0, 1, ~0ULL, buf), ENXIO);
	/* SET MIGRATION STATUS is not settable; GET writes exactly 8 bytes */
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 4, 2, (uintptr_t)&out),
			ENXIO);
	memset(buf, 0xee, 16);
	ck_assert_int_eq(cm_attr(v.h, KS_GET_DEVICE_ATTR, 4, 2, (uintptr_t)buf),
			 0);
	ck_assert_mem_eq(buf, "\0\0\0\0\0\0\0\0\xee", 9);
	cm_free(&v);
}
END_TEST

/* ENABLE_CMMA and CLR_CMMA ignore flags and addr */
START_TEST(test_enable_ignores_addr_and_flags)
{
	struct cm_vm v = cm_new();
	struct ks_device_attr a = {
		.flags = 0xffffffff,
		.group = 0,
		.attr = 0,
		.addr = 16,
	};

	ck_assert_int_eq(unit_ioctl(v.h, KS_SET_DEVICE_ATTR, (uintptr_t)&a), 0);
	a.attr = 1;
	ck_assert_int_eq(unit_ioctl(v.h, KS_SET_DEVICE_ATTR, (uintptr_t)&a), 0);
	a.group = 4;
	a.attr = 0;
	ck_assert_int_eq(unit_ioctl(v.h, KS_SET_DEVICE_ATTR, (uintptr_t)&a), 0);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED);
	cm_free(&v);
}
END_TEST

/* §4.3 START/STOP sequences */
START_TEST(test_start_sequences)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	/* START without CMMA: mode on; enabling later marks nothing */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	/* "already on" comes before "no memory slots" */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	/* a failing START keeps the counter STOP left */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_set(v.h, 0, 1, ~0ULL, buf), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 100, 0, buf, 128), 0);
	cm_expect_log(&log, 0, 100, 412);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 412);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 4096, 256, 0x30000000), 0);
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 412);
	/* non-peek needs the mode; the failing START did not turn it on */
	ck_assert_errno(cm_get(v.h, &log, 0, 100, 0, buf, 128), EINVAL);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	/* START while on does not re-mark */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 10, 0, buf, 128), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 502);
	cm_free(&v);
}
END_TEST

/* §5 and generic.md §4.3 row 12: which slot changes stop migration */
START_TEST(test_slot_changes_and_mode)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	/* without CMMA: slots without logging, mode on */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* an identical re-set is a no-op: the mode stays on */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	/* failing creations change nothing */
	ck_assert_errno(cm_region(v.h, 1, 0, 128, 256, 0x20000000), EEXIST);
	ck_assert_errno(cm_region(v.h, 1, 0, 1024, 256, 0x20001000), EINVAL);
	ck_assert_errno(cm_region(v.h, 1, 0, 1024, 255, 0x20000000), EINVAL);
	ck_assert_errno(cm_region(v.h, 1, 0, (1ULL << 32) - 128, 256,
				  0x20000000),
			EINVAL);
	ck_assert_errno(cm_region(v.h, 0, 0, 0, 512, 0x10000000), EINVAL);
	ck_assert_errno(cm_region(v.h, 0, 0, 0, 256, 0x11000000), EINVAL);
	ck_assert_errno(cm_region(v.h, 5, 0, 0, 0, 0), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 1);
	/* deleting keeps the mode */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	/* a create with logging keeps it, one without ends it */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	/* with CMMA: a MOVE keeping logging keeps the mode and the bits */
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_set(v.h, 0, 1, ~0ULL, buf), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 10, 0, buf, 128), 0);
	cm_expect_log(&log, 0, 10, 502);
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 2048, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 502);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 502);
	/* slot 1 [1024, 1280) all dirty, then slot 0 now at [2048, 2304) */
	ck_assert_int_eq(cm_get(v.h, &log, 1280, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 2058, 246, 256);
	/* a MOVE that drops logging ends the mode */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 4096, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 256);
	cm_free(&v);
}
END_TEST

/* Q16 with Q11: deleting a slot leaves remaining above the bits */
START_TEST(test_delete_keeps_counter)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 4096, 512, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_set(v.h, 0, 1, ~0ULL, buf), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 0, 0, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 0, 512, 512);
	/* nothing dirty, but the counter says 512: mem_end, count 0 */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 512, 0, 512);
	ck_assert_uint_eq(buf[0], 0xff);
	ck_assert_int_eq(cm_get(v.h, &log, 512, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 512, 0, 512);
	/* re-created slot starts clean and is not counted */
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 4096, 512, 0x20000000), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1024, 0, buf, 1024), 0);
	cm_expect_log(&log, 4608, 0, 512);
	/* the next START corrects it */
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	cm_free(&v);
}
END_TEST

/* §6 rows 2-6: several faults at once; the first row decides */
START_TEST(test_get_orders)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log, sent;

	memset(&log, 0, sizeof(log));
	log.start_gfn = 999;
	log.count = 0;
	log.flags = 0xfffffffe;
	log.values = 16;
	sent = log;
	/* not enabled beats bad flags, count 0 and a bad pointer */
	ck_assert_errno(get_raw(v.h, &log), ENXIO);
	ck_assert_mem_eq(&log, &sent, sizeof(log));
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	/* bad flags beat count 0 / never used */
	ck_assert_errno(get_raw(v.h, &log), EINVAL);
	log.flags = 3;
	ck_assert_errno(get_raw(v.h, &log), EINVAL);
	log.flags = 1U << 31;
	ck_assert_errno(get_raw(v.h, &log), EINVAL);
	/* not migrating beats count 0 */
	log.flags = 0;
	ck_assert_errno(get_raw(v.h, &log), EINVAL);
	ck_assert_mem_eq(&log.start_gfn, &sent.start_gfn, 8);
	/* peek, count 0, start in a hole, bad values: all zero */
	log.flags = PEEK;
	ck_assert_int_eq(get_raw(v.h, &log), 0);
	cm_expect_zero(&log);
	/* peek, never used, start in a hole: all zero */
	log = sent;
	log.flags = PEEK;
	log.count = 5;
	ck_assert_int_eq(get_raw(v.h, &log), 0);
	cm_expect_zero(&log);
	/* migrating with dirty pages but never used: all zero */
	ck_assert_int_eq(cm_start(v.h), 0);
	log = sent;
	log.flags = 0;
	log.count = 5;
	ck_assert_int_eq(get_raw(v.h, &log), 0);
	cm_expect_zero(&log);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	/* used now: a peek into a hole faults and writes nothing back */
	ck_assert_int_eq(cm_set(v.h, 0, 1, ~0ULL, buf), 0);
	log = sent;
	log.flags = PEEK;
	log.count = 5;
	log.values = (uintptr_t)buf;
	sent = log;
	memset(buf, 0xff, 8);
	ck_assert_errno(get_raw(v.h, &log), EFAULT);
	ck_assert_mem_eq(&log, &sent, sizeof(log));
	ck_assert_uint_eq(buf[0], 0xff);
	log.start_gfn = 512; /* mem_end */
	ck_assert_errno(get_raw(v.h, &log), EFAULT);
	log.start_gfn = ~0ULL;
	ck_assert_errno(get_raw(v.h, &log), EFAULT);
	/* peek fault beats the unwritable-values fault */
	log.values = 16;
	ck_assert_errno(get_raw(v.h, &log), EFAULT);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	cm_free(&v);
}
END_TEST

/* §6.1: a peek stops at a hole and at the end of memory */
START_TEST(test_peek_edges)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[4] = { 0xff, 0xbc, 0x41, 0x02 };

	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 256, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 1024, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_set(v.h, 254, 4, ~0ULL, vals), 0);
	/* adjacent slots are crossed; 0x80 and 0x3c are never kept */
	ck_assert_int_eq(cm_get(v.h, &log, 253, 6, PEEK, buf, 16), 0);
	cm_expect_log(&log, 253, 6, 0);
	ck_assert_mem_eq(buf, "\0\x43\0\x41\x02\0\xff", 7);
	ck_assert_uint_eq(log.flags, PEEK);
	ck_assert_uint_eq(log.values, (uintptr_t)buf);
	/* the hole at 512 ends it */
	ck_assert_int_eq(cm_get(v.h, &log, 500, 100, PEEK, buf, 128), 0);
	cm_expect_log(&log, 500, 12, 0);
	ck_assert_uint_eq(buf[12], 0xff);
	/* last page of memory */
	ck_assert_int_eq(cm_get(v.h, &log, 1279, 100, PEEK, buf, 128), 0);
	cm_expect_log(&log, 1279, 1, 0);
	ck_assert_errno(cm_get(v.h, &log, 1280, 100, PEEK, buf, 128), EFAULT);
	ck_assert_errno(cm_get(v.h, &log, 600, 100, PEEK, buf, 128), EFAULT);
	ck_assert_uint_eq(buf[0], 0xff);
	/* in migration mode, remaining is the counter; bits untouched */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 256, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 1024, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 0xffffffff, PEEK, buf, 1024), 0);
	cm_expect_log(&log, 0, 512, 768);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 768);
	cm_free(&v);
}
END_TEST

/* §6.3: the gap rule at its exact boundaries */
START_TEST(test_gap_boundaries)
{
	static const struct {
		uint64_t dirty[4];
		size_t n;
		uint64_t start;
		uint32_t count;
		uint32_t want_count;
		uint64_t want_start;
		uint64_t left;
	} cases[] = {
		/* first gap: 16 bridged, 17 not */
		{ { 10, 26 }, 2, 0, 1000, 17, 10, 0 },
		{ { 10, 27 }, 2, 0, 1000, 1, 10, 1 },
		/* later gap: 17 bridged, 18 not (trailing clean value) */
		{ { 10, 11, 28 }, 3, 0, 1000, 19, 10, 0 },
		{ { 10, 11, 29 }, 3, 0, 1000, 3, 10, 1 },
		{ { 10, 26, 43 }, 3, 0, 1000, 34, 10, 0 },
		{ { 10, 26, 44 }, 3, 0, 1000, 18, 10, 1 },
		/* the last page of memory: no trailing value */
		{ { 1022, 1023 }, 2, 0, 1000, 2, 1022, 0 },
		{ { 1023 }, 1, 0, 1000, 1, 1023, 0 },
		/* next dirty would not fit: checked at each dirty gfn */
		{ { 10, 11, 14 }, 3, 0, 4, 2, 10, 1 },
		{ { 10, 11, 13 }, 3, 0, 4, 4, 10, 0 },
		{ { 10, 11, 13 }, 3, 0, 1, 1, 10, 2 },
		/* start beyond the last dirty page, inside memory: Q11 */
		{ { 10, 11 }, 2, 12, 1000, 0, 1024, 2 },
		{ { 10, 11 }, 2, 1024, 1000, 2, 10, 0 },
		{ { 10, 11 }, 2, ~0ULL, 1000, 2, 10, 0 },
		{ { 10, 11 }, 2, 1ULL << 40, 1000, 2, 10, 0 },
	};
	struct ks_s390_cmma_log log;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cm_vm v = cm_dirty_vm(cases[i].dirty, cases[i].n);

		ck_assert_int_eq(cm_get(v.h, &log, cases[i].start,
					cases[i].count, 0, buf, 2048),
				 0);
		if (log.start_gfn != cases[i].want_start ||
		    log.count != cases[i].want_count ||
		    log.remaining != cases[i].left)
			ck_abort_msg("case %zu: start %llu count %u rem %llu",
				     i, (unsigned long long)log.start_gfn,
				     log.count,
				     (unsigned long long)log.remaining);
		ck_assert_uint_eq(buf[log.count], 0xff);
		ck_assert_uint_eq(cm_info(v.h).dirty_bits, cases[i].left);
		cm_free(&v);
	}
}
END_TEST

/* A dirty page ending a slot before a hole gets no trailing value. */
START_TEST(test_no_trailing_before_hole)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	drain(v.h);
	ck_assert_int_eq(cm_essa(v.h, 254, 2, 2, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 1100, 1, 3, 0), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 100000, 0, buf, 2048), 0);
	cm_expect_log(&log, 254, 2, 1);
	ck_assert_mem_eq(buf, "\x42\x42\xff", 3);
	/* a start in the hole finds the next slot's page */
	ck_assert_int_eq(cm_get(v.h, &log, 300, 100000, 0, buf, 2048), 0);
	cm_expect_log(&log, 1100, 1, 0);
	ck_assert_mem_eq(buf, "\x03\xff", 2);
	/* nothing dirty now: all zero */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 10, 0, buf, 16), 0);
	cm_expect_zero(&log);
	cm_free(&v);
}
END_TEST

/* §7: SET check order and the state after failures */
START_TEST(test_set_orders)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log = {
		.start_gfn = 600,
		.count = 1048577,
		.flags = 1,
		.mask = ~0ULL,
		.values = 16,
	};
	uint8_t vals[4] = { 1, 2, 3, 0x40 };

	ck_assert_errno(unit_ioctl_as(v.h, 3, KS_S390_SET_CMMA_BITS, 8), EIO);
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, 8), EFAULT);
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			ENXIO);
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	/* PEEK is a bad flag for SET */
	log.count = 0;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	log.flags = 0;
	log.count = 1048577;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	log.count = 0xffffffff;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	/* count 0: success, nothing read, the guest still "unused" */
	log.count = 0;
	ck_assert_int_eq(
		unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log), 0);
	/* unreadable values: EFAULT before any gfn is looked at */
	log.count = 1048576;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EFAULT);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED);
	/* the struct is not written back */
	ck_assert_uint_eq(log.start_gfn, 600);
	ck_assert_uint_eq(log.count, 1048576);
	/* Q14: the loop ran, though it stopped at its first gfn */
	ck_assert_errno(cm_set(v.h, 600, 4, ~0ULL, vals), EFAULT);
	ck_assert_uint_eq(cm_info(v.h).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	ck_assert_errno(cm_set(v.h, ~0ULL, 4, ~0ULL, vals), EFAULT);
	/* partial: 510 and 511 changed */
	ck_assert_errno(cm_set(v.h, 510, 4, ~0ULL, vals), EFAULT);
	ck_assert_int_eq(cm_get(v.h, &log, 508, 10, PEEK, buf, 16), 0);
	cm_expect_log(&log, 508, 4, 0);
	ck_assert_mem_eq(buf, "\0\0\x01\x02\xff", 5);
	cm_free(&v);
}
END_TEST

/* Q13: the mask is in PGSTE positions */
START_TEST(test_set_masks)
{
	static const struct {
		uint64_t mask;
		uint8_t want;
	} cases[] = {
		{ 0x43, 0x41 },	      { 0, 0x41 },
		{ 0x03000000, 0x42 }, { 0x01000000, 0x40 },
		{ 0x40000000, 0x01 }, { 0x80000000, 0x41 },
		{ 0x3c000000, 0x41 }, { 0xffffffff00000000ULL, 0x41 },
		{ 0x43000000, 0x02 }, { ~0ULL, 0x02 },
	};
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t init = 0x41, val = 0xbe; /* usage 2, NODAT off, junk bits */
	size_t i;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(cm_set(v.h, 7, 1, ~0ULL, &init), 0);
		ck_assert_int_eq(cm_set(v.h, 7, 1, cases[i].mask, &val), 0);
		ck_assert_int_eq(cm_get(v.h, &log, 7, 1, PEEK, buf, 4), 0);
		if (buf[0] != cases[i].want)
			ck_abort_msg("mask %llx: 0x%02x, want 0x%02x",
				     (unsigned long long)cases[i].mask, buf[0],
				     cases[i].want);
	}
	/* SET never touches dirty state */
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 256);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 256);
	cm_free(&v);
}
END_TEST

/* CLR_CMMA resets every host page, even those of a deleted slot */
START_TEST(test_clear_covers_unmapped_pages)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[2] = { 0x43, 0x01 };

	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 256, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_set(v.h, 255, 2, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 0, 0, 0), 0);
	/* survives delete and re-create at another gfn */
	ck_assert_int_eq(cm_region(v.h, 1, 0, 1024, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1024, 1, PEEK, buf, 4), 0);
	ck_assert_uint_eq(buf[0], 0x01);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 256, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 255, 2, PEEK, buf, 4), 0);
	ck_assert_mem_eq(buf, "\0\0\xff", 3);
	/* "used" survives the clear */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1, PEEK, buf, 4), 0);
	cm_expect_log(&log, 0, 1, 0);
	cm_free(&v);
}
END_TEST

/* generic.md §4.4: other profiles do not know these ioctls */
START_TEST(test_other_profiles)
{
	static const char *const profiles[] = { "ppc970", "power7", "power8" };
	static const uint32_t cmds[] = {
		KS_S390_GET_CMMA_BITS, KS_S390_SET_CMMA_BITS,
		KS_SET_DEVICE_ATTR,    KS_GET_DEVICE_ATTR,
		KS_HAS_DEVICE_ATTR,    0x8020AEB9,
	};
	struct ks_s390_cmma_log log = { .count = 1, .values = 16 };
	size_t p, c;

	for (p = 0; p < 3; p++) {
		struct ks_engine *eng = unit_engine(profiles[p]);
		struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

		for (c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
			ck_assert_errno(unit_ioctl(h, cmds[c], (uintptr_t)&log),
					ENOTTY);
			ck_assert_errno(unit_ioctl(h, cmds[c], 8), ENOTTY);
			ck_assert_errno(unit_ioctl_as(h, 77, cmds[c], 8), EIO);
		}
		ck_assert_int_eq(unit_ioctl(h, KS_CHECK_EXTENSION,
					    KS_CAP_S390_CMMA_MIGRATION),
				 0);
		ks_release(h);
		ks_engine_free(eng);
	}
}
END_TEST

/* s390: the ppc encoding and wrong sizes are unknown ioctls */
START_TEST(test_s390_unknown_encodings)
{
	struct cm_vm v = cm_new();
	struct ks_handle *sys = unit_open(v.eng, 0, UNIT_TGID);
	struct ks_s390_cmma_log log = { .count = 1 };

	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_errno(unit_ioctl(v.h, 0x8020AEB9, (uintptr_t)&log), ENOTTY);
	ck_assert_errno(unit_ioctl(v.h, 0xC021AEB8, (uintptr_t)&log), ENOTTY);
	ck_assert_errno(unit_ioctl(v.h, 0x4018AEB9, (uintptr_t)&log), ENOTTY);
	ck_assert_errno(unit_ioctl(v.h, 0x8020AEB8, (uintptr_t)&log), ENOTTY);
	/* Q18: on the system fd, unknown is EINVAL */
	ck_assert_errno(unit_ioctl(sys, KS_S390_GET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	ck_assert_errno(unit_ioctl(sys, KS_SET_DEVICE_ATTR, (uintptr_t)&log),
			EINVAL);
	ks_release(sys);
	cm_free(&v);
}
END_TEST

/* generic.md §4.3 on s390: order of the checks */
START_TEST(test_region_orders)
{
	struct cm_vm v = cm_new();

	/* slot ids */
	ck_assert_int_eq(cm_region(v.h, 32765, 0, 0, 256, 0x10000000), 0);
	ck_assert_errno(cm_region(v.h, 32766, 0, 1024, 256, 0x20000000),
			EINVAL);
	ck_assert_errno(cm_region(v.h, 0x10000 | 1, 0, 1024, 256, 0x20000000),
			EINVAL);
	ck_assert_int_eq(
		unit_ioctl(v.h, KS_CHECK_EXTENSION, KS_CAP_NR_MEMSLOTS), 32766);
	/* deleting checks flags, alignment and ids first */
	ck_assert_errno(cm_region(v.h, 32765, KS_MEM_READONLY, 0, 0, 0),
			EINVAL);
	ck_assert_errno(cm_region(v.h, 32765, 4, 0, 0, 0), EINVAL);
	ck_assert_errno(cm_region(v.h, 32765, 0, 0, 0, 0x123), EINVAL);
	ck_assert_errno(cm_region(v.h, 0x10000 | 32765, 0, 0, 0, 0), EINVAL);
	ck_assert_uint_eq(v.h->vm->slots.n, 1);
	/* a delete ignores a different but aligned address and gpa */
	ck_assert_int_eq(cm_region(v.h, 32765, LOG, 77, 0, 0x5000), 0);
	ck_assert_uint_eq(v.h->vm->slots.n, 0);
	ck_assert_errno(cm_region(v.h, 32765, 0, 0, 0, 0), EINVAL);
	/* guest address need not be 1 MiB aligned */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 1, 256, 0x10000000), 0);
	/* overlap beats the 1 MiB checks */
	ck_assert_errno(cm_region(v.h, 1, 0, 256, 3, 0x20001000), EEXIST);
	/* a changed size beats the overlap */
	ck_assert_errno(cm_region(v.h, 0, 0, 1, 512, 0x10000000), EINVAL);
	/* a MOVE into another slot */
	ck_assert_int_eq(cm_region(v.h, 1, 0, 1024, 256, 0x20000000), 0);
	ck_assert_errno(cm_region(v.h, 0, 0, 1100, 256, 0x10000000), EEXIST);
	/* a MOVE beyond the limit */
	ck_assert_errno(cm_region(v.h, 0, 0, (1ULL << 32) - 255, 256,
				  0x10000000),
			EINVAL);
	ck_assert_int_eq(
		cm_region(v.h, 0, 0, (1ULL << 32) - 256, 256, 0x10000000), 0);
	/* READONLY toggled on an existing slot: row 4 first anyway */
	ck_assert_errno(cm_region(v.h, 0, KS_MEM_READONLY, (1ULL << 32) - 256,
				  256, 0x10000000),
			EINVAL);
	/* guest address wrap, page-count limit */
	ck_assert_errno(cm_region(v.h, 2, 0, (1ULL << 52) - 1, 256, 0x30000000),
			EINVAL);
	ck_assert_errno(cm_region(v.h, 2, 0, 1ULL << 33, 1ULL << 31,
				  0x30000000),
			EINVAL);
	/* s390 has no user-range check: a wrapping host range is fine */
	ck_assert_int_eq(cm_region(v.h, 2, 0, 4096, 512, ~0ULL << 20), 0);
	ck_assert_uint_eq(v.h->vm->slots.n, 3);
	cm_free(&v);
}
END_TEST

/* The struct written back keeps flags and values as sent */
START_TEST(test_get_writes_back_exact_struct)
{
	uint64_t d[] = { 3, 4 };
	struct cm_vm v = cm_dirty_vm(d, 2);
	struct ks_s390_cmma_log log;

	memset(&log, 0, sizeof(log));
	log.start_gfn = 1;
	log.count = 7;
	log.remaining = 0xdeadbeef;
	log.values = (uintptr_t)buf;
	memset(buf, 0xff, 16);
	ck_assert_int_eq(get_raw(v.h, &log), 0);
	cm_expect_log(&log, 3, 2, 0);
	ck_assert_uint_eq(log.flags, 0);
	ck_assert_uint_eq(log.values, (uintptr_t)buf);
	ck_assert_mem_eq(buf, "\x01\x02\xff", 3);
	cm_free(&v);
}
END_TEST

/* §6: exactly count result bytes are written, so only those must be */
START_TEST(test_values_only_result_bytes)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	struct ks_uctx_direct d;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_set(v.h, 0, 1, ~0ULL, buf), 0);
	ks_uctx_direct_init(&d, UNIT_TGID);
	d.fault_lo = (uintptr_t)buf + 12;
	d.fault_hi = (uintptr_t)buf + 4096;
	/* a peek cut short by the hole writes 12 bytes */
	memset(&log, 0, sizeof(log));
	log.start_gfn = 500;
	log.count = 100;
	log.flags = PEEK;
	log.values = (uintptr_t)buf;
	ck_assert_int_eq(cm_get_with(v.h, &d, &log), 0);
	cm_expect_log(&log, 500, 12, 0);
	log.start_gfn = 499;
	log.count = 100;
	ck_assert_errno(cm_get_with(v.h, &d, &log), EFAULT);
	/* a non-peek that finds nothing writes no byte at all */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 100, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 100, 412, 100);
	memset(&log, 0, sizeof(log));
	log.start_gfn = 400;
	log.count = 100;
	log.values = 16;
	ck_assert_int_eq(get_raw(v.h, &log), 0);
	cm_expect_log(&log, 512, 0, 100);
	ck_assert_uint_eq(log.values, 16);
	/* the bits of a run whose values fault are lost */
	log.start_gfn = 0;
	log.count = 50;
	ck_assert_errno(get_raw(v.h, &log), EFAULT);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 50);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 50);
	cm_free(&v);
}
END_TEST

/*
 * Migration mode started before CMMA: slots without a CMMA bitmap take
 * part in runs as clean pages and never crash the scan.
 */
START_TEST(test_slot_without_bitmap_in_run)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 256, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_region(v.h, 2, 0, 1024, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 1024, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 254, 2, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 300, 1, 1, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 1100, 1, 1, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 3);
	/* not used yet (ESSA in migration mode does not record it) */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 100, 0, buf, 128), 0);
	cm_expect_zero(&log);
	ck_assert_int_eq(cm_set(v.h, 300, 1, ~0ULL, (uint8_t[]){ 2 }), 0);
	/* 254, 255, then one trailing clean value from the bitmap-less slot */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 254, 3, 1);
	ck_assert_mem_eq(buf, "\x01\x01\0\xff", 4);
	ck_assert_int_eq(cm_get(v.h, &log, 256, 1000, 0, buf, 1024), 0);
	cm_expect_log(&log, 1100, 1, 0);
	cm_free(&v);
}
END_TEST

/* vCPUs once created stay created: ENABLE_CMMA stays EBUSY */
START_TEST(test_vcpus_never_uncreated)
{
	struct cm_vm v = cm_new();

	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_errno(cm_vcpus(v.h, 0), EINVAL);
	ck_assert_errno(cm_enable(v.h), EBUSY);
	cm_free(&v);
}
END_TEST

/* ppc: the page-count limit counts host pages (64 KiB by default) */
START_TEST(test_ppc_region_page_count)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);
	struct ks_userspace_memory_region m = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = ((1ULL << 31) - 1) << 16,
		.userspace_addr = 1ULL << 40,
	};

	ck_assert_int_eq(
		unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	m.slot = 1;
	m.guest_phys_addr = 1ULL << 50;
	m.memory_size = 1ULL << 47;
	ck_assert_errno(unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m),
			EINVAL);
	/* ppc rejects a wrapping host range, even for an otherwise good slot */
	m.memory_size = 1ULL << 20;
	m.userspace_addr = ~0ULL << 16;
	ck_assert_errno(unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m),
			EINVAL);
	m.userspace_addr = ~0ULL << 21;
	ck_assert_int_eq(
		unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	/* slot ids up to 32766 */
	m.slot = 32767;
	m.guest_phys_addr = 1ULL << 51;
	m.userspace_addr = 1ULL << 42;
	ck_assert_errno(unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m),
			EINVAL);
	m.slot = 32766;
	ck_assert_int_eq(
		unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

/* generic.md §4.3 rows 9-10: MOVE onto its own old range, containment */
START_TEST(test_region_move_and_overlap)
{
	struct cm_vm v = cm_new();

	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 256, 0x10000000), 0);
	/* a slot never overlaps itself: a MOVE by half its size works */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 128, 256, 0x10000000), 0);
	ck_assert_uint_eq(v.h->vm->slots.v[0].gpa, 128 << 12);
	/* containing or contained ranges overlap */
	ck_assert_errno(cm_region(v.h, 1, 0, 0, 1024, 0x20000000), EEXIST);
	ck_assert_errno(cm_region(v.h, 1, 0, 383, 256, 0x20000000), EEXIST);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 384, 256, 0x20000000), 0);
	ck_assert_errno(cm_region(v.h, 2, 0, 0, 128, 0x30000000), EINVAL);
	/* a MOVE applies the new flags too */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 1024, 256, 0x10000000), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 384, 256, 0x20000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 512);
	cm_free(&v);
}
END_TEST

/*
 * Hostile concurrency: threads mix scans, peeks, SETs, ESSAs, START/STOP,
 * CLR_CMMA and slot changes on one VM.  Afterwards the model must still
 * be consistent: a fresh START counts exactly the slots' pages.
 */
struct race_arg {
	struct ks_handle *h;
	unsigned int seed;
};

static void *race_worker(void *p)
{
	struct race_arg *a = p;
	uint8_t *b = malloc(4096);
	int i;

	ck_assert_ptr_nonnull(b);
	memset(b, 0x41, 4096);
	for (i = 0; i < 3000; i++) {
		unsigned int r = (unsigned int)rand_r(&a->seed);
		uint64_t gfn = r % 1400;
		struct ks_s390_cmma_log log = {
			.start_gfn = gfn,
			.count = 1 + (r >> 8) % 3000,
			.values = (uintptr_t)b,
		};

		if (log.count > 4096)
			log.count = 4096;
		switch ((r >> 20) % 10) {
		case 0:
		case 1:
			unit_ioctl(a->h, KS_S390_GET_CMMA_BITS,
				   (uintptr_t)&log);
			break;
		case 2:
			log.flags = PEEK;
			unit_ioctl(a->h, KS_S390_GET_CMMA_BITS,
				   (uintptr_t)&log);
			break;
		case 3:
			log.mask = ~0ULL;
			unit_ioctl(a->h, KS_S390_SET_CMMA_BITS,
				   (uintptr_t)&log);
			break;
		case 4:
			cm_essa(a->h, gfn, 1 + r % 64, r & 3, (r >> 2) & 1);
			break;
		case 5:
			cm_start(a->h);
			break;
		case 6:
			if (r & 64)
				cm_stop(a->h);
			else
				cm_set_attr(a->h, 0, KS_S390_VM_MEM_CLR_CMMA);
			break;
		case 7:
			cm_region(a->h, 1, r & 1 ? LOG : 0, 512, 256,
				  0x20000000);
			break;
		case 8:
			cm_region(a->h, 1, 0, 0, 0, 0);
			break;
		default:
			cm_region(a->h, 2, LOG, r & 128 ? 1024 : 1100, 256,
				  0x30000000);
			break;
		}
	}
	free(b);
	return NULL;
}

START_TEST(test_concurrent_mix)
{
	struct cm_vm v = cm_new();
	struct race_arg args[4];
	pthread_t t[4];
	struct kvmshim_s390_cmma_info info;
	uint64_t pages = 0;
	size_t i;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 2), 0);
	for (i = 0; i < 4; i++) {
		args[i].h = v.h;
		args[i].seed = 1234 + (unsigned int)i;
		ck_assert_int_eq(
			pthread_create(&t[i], NULL, race_worker, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	/* every slot logging, then a fresh START */
	for (i = 0; i < v.h->vm->slots.n; i++) {
		const struct ks_memslot *m = &v.h->vm->slots.v[i];

		ck_assert_int_eq(cm_region(v.h, m->id, LOG, m->gpa >> 12,
					   m->size >> 12, m->uaddr),
				 0);
		pages += m->size >> 12;
	}
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	info = cm_info(v.h);
	ck_assert_uint_eq(info.dirty_count, pages);
	ck_assert_uint_eq(info.dirty_bits, pages);
	cm_free(&v);
}
END_TEST

/*
 * clients.md §3.2-3.3: QEMU's save loop against a guest that keeps
 * changing states, and its SETs on a destination VM.  The migration must
 * converge and the destination must end with the source's states.
 */
static void qemu_layout(struct ks_handle *h, uint32_t flags)
{
	ck_assert_int_eq(cm_region(h, 0, flags, 0, 4096, 0x10000000), 0);
	ck_assert_int_eq(cm_region(h, 1, flags, 4096, 1024, 0x40000000), 0);
	ck_assert_int_eq(cm_region(h, 2, flags, 8192, 2048, 0x50000000), 0);
}

static uint64_t random_gfn(unsigned int *seed)
{
	uint64_t g = (uint64_t)rand_r(seed) % (5120 + 2048);

	return g < 5120 ? g : g - 5120 + 8192;
}

START_TEST(test_qemu_migration_converges)
{
	static uint8_t src_buf[524288], a[2048], b[2048];
	struct cm_vm src = cm_new(), dst = cm_new();
	struct ks_s390_cmma_log log, pk;
	unsigned int seed = 99;
	uint64_t cur = 0, g;
	int pass, i;

	qemu_layout(src.h, 0);
	qemu_layout(dst.h, 0);
	ck_assert_int_eq(cm_enable(src.h), 0);
	ck_assert_int_eq(cm_enable(dst.h), 0);
	ck_assert_int_eq(cm_vcpus(src.h, 1), 0);
	for (i = 0; i < 3000; i++) {
		g = random_gfn(&seed);
		ck_assert_int_eq(cm_essa(src.h, g, 1, rand_r(&seed) & 3,
					 rand_r(&seed) & 1),
				 0);
	}
	qemu_layout(src.h, LOG);
	ck_assert_int_eq(cm_start(src.h), 0);
	for (pass = 0; pass < 1000; pass++) {
		bool final = pass >= 20;
		uint64_t remaining = 1;

		for (i = 0; i < 64 && remaining; i++) {
			memset(&log, 0, sizeof(log));
			log.start_gfn = cur;
			log.count = 524288;
			log.values = (uintptr_t)src_buf;
			ck_assert_int_eq(unit_ioctl(src.h,
						    KS_S390_GET_CMMA_BITS,
						    (uintptr_t)&log),
					 0);
			if (!log.count)
				break;
			ck_assert_int_eq(cm_set(dst.h, log.start_gfn, log.count,
						~0ULL, src_buf),
					 0);
			cur = log.start_gfn + log.count;
			ck_assert_int_eq(cm_get(src.h, &pk, 0, 1, PEEK, a, 4),
					 0);
			remaining = pk.remaining;
			/* the guest goes on using its pages */
			if (!final && (i & 1))
				ck_assert_int_eq(cm_essa(src.h,
							 random_gfn(&seed), 1,
							 rand_r(&seed) & 3, 0),
						 0);
		}
		if (final && cm_info(src.h).dirty_count == 0)
			break;
	}
	ck_assert_int_lt(pass, 1000);
	ck_assert_int_eq(cm_stop(src.h), 0);
	for (g = 0; g < 10240; g += 2048) {
		if (g >= 5120 && g < 8192)
			continue;
		ck_assert_int_eq(cm_get(src.h, &log, g, 2048, PEEK, a, 2048),
				 0);
		ck_assert_int_eq(cm_get(dst.h, &pk, g, 2048, PEEK, b, 2048), 0);
		ck_assert_uint_eq(log.count, pk.count);
		ck_assert_mem_eq(a, b, log.count);
	}
	cm_free(&dst);
	cm_free(&src);
}
END_TEST

Suite *suite_cmma_edges(void);
Suite *suite_cmma_edges(void)
{
	Suite *s = suite_create("cmma_edges");
	TCase *tc = tcase_create("spec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_attr_orders);
	tcase_add_test(tc, test_enable_ignores_addr_and_flags);
	tcase_add_test(tc, test_start_sequences);
	tcase_add_test(tc, test_slot_changes_and_mode);
	tcase_add_test(tc, test_delete_keeps_counter);
	tcase_add_test(tc, test_get_orders);
	tcase_add_test(tc, test_peek_edges);
	tcase_add_test(tc, test_gap_boundaries);
	tcase_add_test(tc, test_no_trailing_before_hole);
	tcase_add_test(tc, test_set_orders);
	tcase_add_test(tc, test_set_masks);
	tcase_add_test(tc, test_clear_covers_unmapped_pages);
	tcase_add_test(tc, test_other_profiles);
	tcase_add_test(tc, test_s390_unknown_encodings);
	tcase_add_test(tc, test_region_orders);
	tcase_add_test(tc, test_get_writes_back_exact_struct);
	tcase_add_test(tc, test_values_only_result_bytes);
	tcase_add_test(tc, test_slot_without_bitmap_in_run);
	tcase_add_test(tc, test_vcpus_never_uncreated);
	tcase_add_test(tc, test_ppc_region_page_count);
	tcase_add_test(tc, test_region_move_and_overlap);
	tcase_add_test(tc, test_concurrent_mix);
	tcase_add_test(tc, test_qemu_migration_converges);
	suite_add_tcase(s, tc);
	return s;
}
