// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * s390 CMMA: VM attributes, migration mode, memory-slot side effects,
 * SET_CMMA_BITS, the simulated ESSA and the sparse storage (spec: cmma.md
 * §1-§5, §7).
 */
#include "check_cmma.h"
#include "core/cmma_store.h"
#include "core/status.h"

static uint8_t buf[2 * MiB];

/* Two slots as in the selftest: gfns 0-511 and 4096-4607. */
static void two_slots(struct ks_handle *h, uint32_t flags)
{
	ck_assert_int_eq(cm_region(h, 0, flags, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_region(h, 1, flags, 4096, 512, 0x20000000), 0);
}

START_TEST(test_has_attr)
{
	struct cm_vm v = cm_new();
	uint64_t attrs[] = { 0, 1, 2, 3, 99, 1ULL << 32 };
	uint32_t groups[] = { 1, 2, 3, 5, 6, 0xffffffff };
	size_t i;

	ck_assert_int_eq(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 0, 0), 0);
	ck_assert_int_eq(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 1, 0), 0);
	ck_assert_int_eq(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 2, 0), 0);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 3, 0), ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 1ULL << 32, 0),
			ENXIO);
	/* Q15: any attribute of the MIGRATION group */
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		ck_assert_int_eq(
			cm_attr(v.h, KS_HAS_DEVICE_ATTR, 4, attrs[i], 0), 0);
	/* M6: TOD, CRYPTO, CPU_MODEL, CPU_TOPOLOGY are not modelled */
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, groups[i], 0,
					0),
				ENXIO);
		ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, groups[i], 0,
					(uintptr_t)buf),
				ENXIO);
		ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, groups[i], 0,
					(uintptr_t)buf),
				ENXIO);
	}
	ck_assert_errno(unit_ioctl(v.h, KS_HAS_DEVICE_ATTR, 8), EFAULT);
	ck_assert_errno(unit_ioctl(v.h, KS_SET_DEVICE_ATTR, 8), EFAULT);
	ck_assert_errno(unit_ioctl(v.h, KS_GET_DEVICE_ATTR, 8), EFAULT);
	ck_assert_errno(unit_ioctl_as(v.h, 1, KS_HAS_DEVICE_ATTR, 8), EIO);
	cm_free(&v);
}
END_TEST

START_TEST(test_machine_without_cmma)
{
	struct ks_engine_config cfg;
	struct cm_vm v;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "s390x"), 0);
	cfg.s390_has_cmma = false;
	ck_assert_int_eq(ks_engine_new(&cfg, &v.eng), 0);
	v.h = unit_open(v.eng, 1, UNIT_TGID);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 0, 0), ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 1, 0), ENXIO);
	ck_assert_int_eq(cm_attr(v.h, KS_HAS_DEVICE_ATTR, 0, 2, 0), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	/* ENXIO comes before EBUSY */
	ck_assert_errno(cm_enable(v.h), ENXIO);
	ck_assert_errno(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), ENXIO);
	/* Q15: the capability says 1 anyway */
	ck_assert_int_eq(unit_ioctl(v.h, KS_CHECK_EXTENSION,
				    KS_CAP_S390_CMMA_MIGRATION),
			 1);
	cm_free(&v);
}
END_TEST

START_TEST(test_enable_and_clear)
{
	struct cm_vm v = cm_new();
	uint8_t vals[4] = { 0x01, 0x42, 0x03, 0x40 };
	struct ks_s390_cmma_log log;

	ck_assert_errno(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), EINVAL);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_errno(cm_set_attr(v.h, 0, 3), ENXIO);
	ck_assert_errno(cm_set_attr(v.h, 0, 1ULL << 32), ENXIO);
	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_set(v.h, 4096, 4, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_errno(cm_enable(v.h), EBUSY);
	ck_assert_int_eq(cm_get(v.h, &log, 4096, 4, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, vals, 4);
	/* CLR_CMMA: stable, no NODAT; dirty bits and "used" untouched */
	ck_assert_int_eq(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), 0);
	ck_assert_uint_eq(cm_info(v.h).state_bytes, 0);
	ck_assert_int_eq(cm_get(v.h, &log, 4096, 4, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, "\0\0\0\0\xff", 5);
	ck_assert_uint_eq(log.remaining, 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1024);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED |
						      KVMSHIM_CMMA_USED |
						      KVMSHIM_CMMA_MIGRATING);
	cm_free(&v);
}
END_TEST

START_TEST(test_limit_size)
{
	struct cm_vm v = cm_new();
	uint64_t limit = 1ULL << 44, val, out = 0;
	struct ks_uctx_direct d;
	struct ks_device_attr a = { .group = 0, .attr = 2 };

	ck_assert_int_eq(
		cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 2, (uintptr_t)&out), 0);
	ck_assert_uint_eq(out, limit);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 2, 16), EFAULT);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 0, (uintptr_t)&out),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 1, (uintptr_t)&out),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, 16), EFAULT);
	val = limit + 1;
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val),
			E2BIG);
	val = 0;
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val),
			EINVAL);
	val = 1ULL << 30;
	ck_assert_int_eq(
		cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val), 0);
	/* §4.4: the reported and enforced limit do not change */
	val = limit;
	ck_assert_int_eq(
		cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val), 0);
	ck_assert_int_eq(
		cm_attr(v.h, KS_GET_DEVICE_ATTR, 0, 2, (uintptr_t)&out), 0);
	ck_assert_uint_eq(out, limit);
	ck_assert_int_eq(cm_region(v.h, 0, 0, (limit >> 12) - SEG, SEG, 0), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 2), 0);
	val = 1ULL << 30;
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val),
			EBUSY);
	/* E2BIG and EINVAL come before EBUSY */
	val = 0;
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val),
			EINVAL);
	val = ~0ULL;
	ck_assert_errno(cm_attr(v.h, KS_SET_DEVICE_ATTR, 0, 2, (uintptr_t)&val),
			E2BIG);
	/* flags are not checked */
	a.flags = 0xffffffff;
	a.addr = (uintptr_t)&out;
	ks_uctx_direct_init(&d, UNIT_TGID);
	ck_assert_int_eq(ks_ioctl(v.h, KS_GET_DEVICE_ATTR, (uintptr_t)&a, &d.u),
			 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_migration_attrs)
{
	struct cm_vm v = cm_new();
	uint64_t out;

	/* Q15: no memory slots, even without CMMA */
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_errno(cm_set_attr(v.h, 4, KS_S390_VM_MIGRATION_STATUS),
			ENXIO);
	ck_assert_errno(cm_set_attr(v.h, 4, 3), ENXIO);
	ck_assert_errno(cm_set_attr(v.h, 4, (1ULL << 32) | 1), ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 4, 1, (uintptr_t)&out),
			ENXIO);
	ck_assert_errno(cm_attr(v.h, KS_GET_DEVICE_ATTR, 4, 2, 16), EFAULT);
	/* without CMMA, START needs slots but not dirty logging */
	two_slots(v.h, 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	/* with CMMA every slot must log dirty pages */
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 512, 0x10000000), 0);
	ck_assert_errno(cm_start(v.h), EINVAL);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, 4096, 512, 0x20000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1024);
	cm_free(&v);
}
END_TEST

START_TEST(test_start_stop_keep_and_reinit)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 4096, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 100, 0, buf, 512), 0);
	ck_assert_uint_eq(log.count, 100);
	ck_assert_uint_eq(log.remaining, 924);
	/* already on: no re-marking */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 924);
	/* STOP keeps bitmaps and counter (classic) */
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 924);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 924);
	ck_assert_errno(cm_get(v.h, &log, 0, 100, 0, buf, 512), EINVAL);
	/* PEEK outside migration mode reports remaining 0 */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 1, PEEK, buf, 512), 0);
	ck_assert_uint_eq(log.remaining, 0);
	/* the next START marks everything again */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1024);
	cm_free(&v);
}
END_TEST

START_TEST(test_memslot_changes_in_migration_mode)
{
	struct cm_vm v = cm_new();
	struct kvmshim_s390_cmma_info i;
	struct ks_s390_cmma_log log;

	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 4096, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* a slot with logging keeps the mode; its pages are clean */
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 8192, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	i = cm_info(v.h);
	ck_assert_uint_eq(i.dirty_count, 1024);
	ck_assert_uint_eq(i.dirty_bits, 1024);
	/* a failed change does not stop migration mode */
	ck_assert_errno(cm_region(v.h, 3, 0, 8192, 256, 0x40000000), EEXIST);
	ck_assert_errno(cm_region(v.h, 3, 0, 9000, 256, 0x40001000), EINVAL);
	ck_assert_int_eq(cm_status(v.h), 1);
	/* a move keeps the bitmap and its bits */
	ck_assert_int_eq(cm_essa(v.h, 8192 + 5, 1, 1, 0), 0);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 16384, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1025);
	/* Q16: deleting a slot keeps the mode and the counter */
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 0, 0), 0);
	ck_assert_int_eq(cm_status(v.h), 1);
	i = cm_info(v.h);
	ck_assert_uint_eq(i.dirty_count, 1025);
	ck_assert_uint_eq(i.dirty_bits, 513);
	ck_assert_int_eq(cm_get(v.h, &log, 16384, 1, PEEK, buf, 4), 0);
	ck_assert_uint_eq(log.remaining, 1025);
	/* turning logging off (flags only) stops it, bitmap gone */
	ck_assert_int_eq(cm_region(v.h, 2, 0, 16384, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 512);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1025);
	/* back on: a clean bitmap */
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 16384, 256, 0x30000000), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 512);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 768);
	/* a move that drops logging stops it as well */
	ck_assert_int_eq(cm_region(v.h, 2, 0, 20480, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 2, LOG, 20480, 256, 0x30000000), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* and so does a new slot without logging */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 512, 0x10000000), 0);
	ck_assert_int_eq(cm_status(v.h), 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_essa)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	struct kvmshim_s390_essa bad = { .gfn = 0, .count = 1, .flags = 1 };

	two_slots(v.h, LOG);
	/* argument checks come first */
	ck_assert_errno(cm_essa(v.h, 0, 1, 4, 0), EINVAL);
	ck_assert_errno(cm_essa(v.h, 0, 1, 0, 2), EINVAL);
	ck_assert_errno(cm_essa(v.h, 0, 0, 0, 0), EINVAL);
	ck_assert_errno(cm_essa(v.h, 0, KVMSHIM_S390_ESSA_MAX + 1, 0, 0),
			EINVAL);
	ck_assert_errno(unit_ioctl(v.h, KVMSHIM_S390_ESSA, (uintptr_t)&bad),
			EINVAL);
	ck_assert_errno(unit_ioctl(v.h, KVMSHIM_S390_ESSA, 8), EFAULT);
	/* no vCPU to execute it, then no CMMA: operation exception */
	ck_assert_errno(cm_essa(v.h, 0, 1, 1, 0), ESRCH);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_errno(cm_essa(v.h, 0, 1, 1, 0), ENXIO);
	ck_assert_uint_eq(cm_info(v.h).flags, 0);
	ck_assert_errno(cm_enable(v.h), EBUSY);
	cm_free(&v);

	v = cm_new();
	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	/* addressing exception: nothing changes, not even part of a range */
	ck_assert_errno(cm_essa(v.h, 512, 1, 1, 0), EFAULT);
	ck_assert_errno(cm_essa(v.h, 510, 3, 1, 0), EFAULT);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED);
	ck_assert_uint_eq(cm_info(v.h).state_bytes, 0);
	/* outside migration mode: state and "used" */
	ck_assert_int_eq(cm_essa(v.h, 508, 4, 3, 1), 0);
	ck_assert_uint_eq(cm_info(v.h).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	ck_assert_int_eq(cm_get(v.h, &log, 506, 100, PEEK, buf, 16), 0);
	ck_assert_uint_eq(log.count, 6);
	ck_assert_mem_eq(buf, "\0\0\x43\x43\x43\x43\xff", 7);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 0);
	/* in migration mode: dirty marks, counted once */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 4096, 0, buf, 8192), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 4096, 0, buf, 8192), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	ck_assert_int_eq(cm_essa(v.h, 4100, 2, 2, 0), 0);
	ck_assert_int_eq(cm_essa(v.h, 4101, 2, 1, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 3);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 3);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 100, 0, buf, 128), 0);
	ck_assert_uint_eq(log.start_gfn, 4100);
	ck_assert_uint_eq(log.count, 3);
	ck_assert_mem_eq(buf, "\x02\x01\x01\xff", 4);
	/* an unknown number in the s390 private range */
	ck_assert_errno(unit_ioctl(v.h, _IOW(KVMSHIM_IO, 0x3f, __u64),
				   (uintptr_t)buf),
			ENOTTY);
	cm_free(&v);
}
END_TEST

START_TEST(test_essa_in_migration_does_not_mark_used)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;

	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 1, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_MIGRATING);
	/* Q12: nothing is reported while the guest has not used CMM */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 10, 0, buf, 16), 0);
	ck_assert_uint_eq(log.count, 0);
	ck_assert_uint_eq(log.remaining, 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	cm_free(&v);
}
END_TEST

START_TEST(test_essa_on_slot_without_bitmap)
{
	struct cm_vm v = cm_new();

	/* START without CMMA needs no logging; enabling comes after */
	two_slots(v.h, 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 10, 5, 1, 0), 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 0);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_set_checks)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log = { .count = 1, .values = (uintptr_t)buf };
	struct ks_uctx_direct d;
	uint8_t vals[8] = { 1, 2, 3, 0x40, 0x41, 0x42, 0x43, 0xff };

	two_slots(v.h, 0);
	ck_assert_errno(cm_set(v.h, 0, 1, ~0ULL, vals), ENXIO);
	ck_assert_errno(cm_set(v.h, 0, 0, ~0ULL, vals), ENXIO);
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, 8), EFAULT);
	ck_assert_int_eq(cm_enable(v.h), 0);
	log.flags = PEEK;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	log.flags = 0x100;
	log.count = KS_S390_SKEYS_MAX + 1;
	ck_assert_errno(unit_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log),
			EINVAL);
	/* more than the maximum: EINVAL before the values are read */
	ck_assert_errno(cm_set(v.h, 0, KS_S390_SKEYS_MAX + 1, ~0ULL, NULL),
			EINVAL);
	ck_assert_errno(cm_set(v.h, 0, 0xffffffff, ~0ULL, NULL), EINVAL);
	/* count 0: nothing, and the guest is not marked as a CMM user */
	ck_assert_int_eq(cm_set(v.h, 0, 0, ~0ULL, NULL), 0);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED);
	/* unreadable values: EFAULT, nothing changes */
	ck_assert_errno(cm_set(v.h, 0, 8, ~0ULL, NULL), EFAULT);
	ks_uctx_direct_init(&d, UNIT_TGID);
	d.fault_lo = (uintptr_t)vals + 7;
	d.fault_hi = d.fault_lo + 1;
	memset(&log, 0, sizeof(log));
	log.count = 8;
	log.mask = ~0ULL;
	log.values = (uintptr_t)vals;
	ck_assert_errno(ks_ioctl(v.h, KS_S390_SET_CMMA_BITS, (uintptr_t)&log,
				 &d.u),
			EFAULT);
	ck_assert_uint_eq(cm_info(v.h).flags, KVMSHIM_CMMA_ENABLED);
	ck_assert_uint_eq(cm_info(v.h).state_bytes, 0);
	/* a SET works outside migration mode and touches no dirty bits */
	ck_assert_int_eq(cm_set(v.h, 0, 8, ~0ULL, vals), 0);
	ck_assert_uint_eq(cm_info(v.h).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 9, PEEK, buf, 16), 0);
	/* 0x80 and 0x3c are not stored */
	ck_assert_mem_eq(buf, "\x01\x02\x03\x40\x41\x42\x43\x43\x00\xff", 10);
	cm_free(&v);
}
END_TEST

START_TEST(test_set_mask_and_holes)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[8] = { 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43 };
	uint8_t mix[8] = { 0x02, 0x41, 0xbc, 0x00, 1, 1, 1, 1 };

	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	/* Q13: 0x43 is not in PGSTE positions: nothing changes... */
	ck_assert_int_eq(cm_set(v.h, 100, 8, 0x43, vals), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 100, 8, PEEK, buf, 16), 0);
	ck_assert_mem_eq(buf, "\0\0\0\0\0\0\0\0", 8);
	/* ...but the guest now counts as a CMM user */
	ck_assert_uint_eq(cm_info(v.h).flags,
			  KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	ck_assert_int_eq(cm_set(v.h, 100, 8, ~0ULL, vals), 0);
	/* usage only: NODAT stays */
	ck_assert_int_eq(cm_set(v.h, 100, 4, 0x03000000, mix), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 100, 5, PEEK, buf, 16), 0);
	ck_assert_mem_eq(buf, "\x42\x41\x40\x40\x43", 5);
	/* NODAT only */
	ck_assert_int_eq(cm_set(v.h, 100, 4, 0x40000000, mix), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 100, 4, PEEK, buf, 16), 0);
	ck_assert_mem_eq(buf, "\x02\x41\x00\x00", 4);
	/* Q14: stops at the hole at 512, keeping what it changed */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_errno(cm_set(v.h, 508, 8, ~0ULL, mix), EFAULT);
	ck_assert_int_eq(cm_get(v.h, &log, 506, 8, PEEK, buf, 16), 0);
	ck_assert_uint_eq(log.count, 6);
	ck_assert_mem_eq(buf, "\0\0\x02\x41\x00\x00\xff", 7);
	/* no dirty bits touched */
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_bits, 1024);
	/* a hole at the first frame changes nothing */
	ck_assert_errno(cm_set(v.h, 600, 1, ~0ULL, mix), EFAULT);
	ck_assert_errno(cm_set(v.h, ~0ULL, 1, ~0ULL, mix), EFAULT);
	cm_free(&v);
}
END_TEST

START_TEST(test_set_max_count)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t *vals = malloc(KS_S390_SKEYS_MAX + 1), *out;
	uint32_t i;

	out = malloc(KS_S390_SKEYS_MAX + 16);
	ck_assert_int_eq(
		cm_region(v.h, 0, 0, 0, 2 * KS_S390_SKEYS_MAX, 1ULL << 40), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	for (i = 0; i <= KS_S390_SKEYS_MAX; i++)
		vals[i] = (uint8_t)((i * 7) & 0x43);
	ck_assert_int_eq(cm_set(v.h, 3, KS_S390_SKEYS_MAX, ~0ULL, vals), 0);
	/* PEEK clamps to 1048576 values */
	ck_assert_int_eq(cm_get(v.h, &log, 3, 0xffffffff, PEEK, out,
				KS_S390_SKEYS_MAX + 16),
			 0);
	ck_assert_uint_eq(log.count, KS_S390_SKEYS_MAX);
	ck_assert_uint_eq(log.start_gfn, 3);
	ck_assert_mem_eq(out, vals, KS_S390_SKEYS_MAX);
	ck_assert_uint_eq(out[KS_S390_SKEYS_MAX], 0xff);
	ck_assert_int_eq(cm_get(v.h, &log, 0, 4, PEEK, out, 8), 0);
	ck_assert_mem_eq(out, "\0\0\0\0", 4);
	free(vals);
	free(out);
	cm_free(&v);
}
END_TEST

START_TEST(test_states_follow_host_pages)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[3] = { 1, 2, 3 };

	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 2 * SEG, 0x10000000), 0);
	/* slot 1 maps the same host memory from its second MiB */
	ck_assert_int_eq(cm_region(v.h, 1, 0, 1024, SEG, 0x10100000), 0);
	ck_assert_int_eq(cm_set(v.h, SEG + 4, 3, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 1024 + 4, 3, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, vals, 3);
	ck_assert_int_eq(cm_set(v.h, 1024 + 5, 1, ~0ULL, vals + 2), 0);
	ck_assert_int_eq(cm_get(v.h, &log, SEG + 4, 3, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, "\x01\x03\x03", 3);
	/* states outlive the slot and come back with the same memory */
	ck_assert_int_eq(cm_region(v.h, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 0, 0, 0), 0);
	ck_assert_int_eq(cm_region(v.h, 5, 0, 4096, 2 * SEG, 0x10000000), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 4096 + SEG + 4, 4, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, "\x01\x03\x03\x00", 4);
	/* other host memory has its own states */
	ck_assert_int_eq(cm_region(v.h, 6, 0, 8192, SEG, 0x20000000), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 8192 + 20, 3, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, "\0\0\0", 3);
	cm_free(&v);
}
END_TEST

START_TEST(test_host_address_wrap)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint8_t vals[4] = { 1, 2, 3, 0x41 };

	ck_assert_int_eq(cm_enable(v.h), 0);
	/* the user range wraps past 2^64 (accepted on s390) */
	ck_assert_int_eq(
		cm_region(v.h, 0, 0, 0, 2 * SEG, 0xFFFFFFFFFFF00000ULL), 0);
	ck_assert_int_eq(cm_region(v.h, 1, 0, 4096, SEG, 0), 0);
	ck_assert_int_eq(cm_set(v.h, SEG - 2, 4, ~0ULL, vals), 0);
	ck_assert_int_eq(cm_get(v.h, &log, 4096, 3, PEEK, buf, 8), 0);
	ck_assert_mem_eq(buf, "\x03\x41\x00", 3);
	cm_free(&v);
}
END_TEST

START_TEST(test_sparse_memory)
{
	struct cm_vm v = cm_new();
	uint64_t pages = 1ULL << 28, used; /* 1 TiB */
	struct ks_s390_cmma_log log;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, pages, 1ULL << 44), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 12345, 1, 1, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	used = ks_mem_used(v.eng);
	/* untouched: the bitmap index and one leaf, not 32 MiB of bits */
	ck_assert_uint_lt(used, 256 * 1024);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, pages);
	ck_assert_int_eq(cm_get(v.h, &log, pages - 10, 1000, 0, buf, 1024), 0);
	ck_assert_uint_eq(log.start_gfn, pages - 10);
	ck_assert_uint_eq(log.count, 10);
	ck_assert_uint_eq(log.remaining, pages - 10);
	/* one split bitmap chunk and GET's 4 KiB value buffer */
	ck_assert_uint_le(ks_mem_used(v.eng), used + 8192);
	cm_free(&v);
}
END_TEST

START_TEST(test_fully_touched_cost)
{
	struct cm_vm v = cm_new();
	uint64_t pages = 1ULL << 18, g; /* 1 GiB */
	struct ks_s390_cmma_log log;
	double per_page;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, pages, 1ULL << 40), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	/* every page gets a state */
	ck_assert_int_eq(cm_essa(v.h, 0, (uint32_t)pages, 3, 1), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* small GETs: a large one keeps a value buffer of its size */
	do
		ck_assert_int_eq(cm_get(v.h, &log, 0, 512, 0, buf, 512), 0);
	while (log.count);
	/* every other page dirty: no bitmap chunk is empty or full */
	for (g = 0; g < pages; g += 2)
		ck_assert_int_eq(cm_essa(v.h, g, 1, 1, 0), 0);
	per_page = (double)ks_mem_used(v.eng) / (double)pages;
	ck_assert_double_le(per_page, 1.2);
	ck_assert_double_ge(per_page, 1.0);
	cm_free(&v);
}
END_TEST

START_TEST(test_memory_limit)
{
	struct ks_engine_config cfg;
	struct ks_s390_cmma_log log;
	struct cm_vm v;
	uint8_t vals[4] = { 1, 1, 1, 1 };
	uint64_t g;
	long ret = 0;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "s390x"), 0);
	cfg.memory_limit = 64 * 1024;
	ck_assert_int_eq(ks_engine_new(&cfg, &v.eng), 0);
	v.h = unit_open(v.eng, 1, UNIT_TGID);
	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 1ULL << 24, 1ULL << 40), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	/* each ESSA far apart needs a new leaf, until the limit */
	for (g = 0; g < (1ULL << 24) && !ret; g += 4096)
		ret = cm_essa(v.h, g, 1, 2, 0);
	ck_assert_errno(ret, ENOMEM);
	g -= 4096;
	ck_assert_int_eq(cm_get(v.h, &log, g, 1, PEEK, buf, 8), 0);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_errno(cm_set(v.h, g, 4, ~0ULL, vals), ENOMEM);
	ck_assert_int_eq(cm_get(v.h, &log, g, 1, PEEK, buf, 8), 0);
	ck_assert_uint_eq(buf[0], 0);
	/* zeros need no storage */
	ck_assert_int_eq(cm_set(v.h, g, 4, ~0ULL, (uint8_t *)"\0\0\0\0"), 0);
	ck_assert_uint_le(ks_mem_used(v.eng), cfg.memory_limit);
	/* CLR_CMMA gives the memory back */
	ck_assert_int_eq(cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 4, 2, 0), 0);
	cm_free(&v);
}
END_TEST

START_TEST(test_get_out_of_memory)
{
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log;
	uint64_t chunk = KS_BM_CHUNK_BITS, limit = v.eng->cfg.memory_limit;

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, 3 * chunk, 1ULL << 40), 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 0, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	/* grow GET's value buffer while there is memory */
	ck_assert_int_eq(cm_get(v.h, &log, 0, 2 * chunk, PEEK, buf, MiB), 0);
	/* a whole all-set chunk is cleared without memory */
	ck_assert_int_eq(cm_get(v.h, &log, 0, chunk, 0, buf, MiB), 0);
	ck_assert_uint_eq(log.count, chunk);
	/* from now on no allocation succeeds */
	v.eng->cfg.memory_limit = ks_mem_used(v.eng) + 1;
	/* part of an all-set chunk cannot be cleared: nothing changes */
	ck_assert_errno(cm_get(v.h, &log, chunk, 10, 0, buf, 16), ENOMEM);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, 2 * chunk);
	/* a run gets as far as whole chunks take it */
	ck_assert_int_eq(cm_get(v.h, &log, chunk, chunk + 10, 0, buf, MiB), 0);
	ck_assert_uint_eq(log.start_gfn, chunk);
	ck_assert_uint_eq(log.count, chunk);
	ck_assert_uint_eq(log.remaining, chunk);
	ck_assert_uint_eq(buf[chunk], 0xff);
	/* the frames it did not reach are the next ones found */
	ck_assert_errno(cm_get(v.h, &log, chunk, 1, 0, buf, 16), ENOMEM);
	/* a single frame of an all-set chunk needs the split as well */
	ck_assert_errno(cm_get(v.h, &log, 3 * chunk - 1, 5, 0, buf, 16),
			ENOMEM);
	ck_assert_uint_eq(cm_info(v.h).dirty_count, chunk);
	v.eng->cfg.memory_limit = limit;
	ck_assert_int_eq(cm_get(v.h, &log, chunk, 1, 0, buf, 16), 0);
	ck_assert_uint_eq(log.start_gfn, 2 * chunk);
	ck_assert_uint_eq(log.count, 1);
	ck_assert_uint_eq(log.remaining, chunk - 1);
	ck_assert_int_eq(cm_get(v.h, &log, 3 * chunk - 1, 5, 0, buf, 16), 0);
	ck_assert_uint_eq(log.start_gfn, 3 * chunk - 1);
	ck_assert_uint_eq(log.count, 1);
	ck_assert_uint_eq(log.remaining, chunk - 2);
	cm_free(&v);
}
END_TEST

START_TEST(test_status_snapshot)
{
	struct cm_vm v = cm_new();
	struct ks_vm_status st;

	two_slots(v.h, LOG);
	ck_assert_int_eq(cm_enable(v.h), 0);
	ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
	ck_assert_int_eq(cm_essa(v.h, 4096, 1, 0, 0), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	memset(&st, 0, sizeof(st));
	ks_cmma_status(v.h->vm, &st);
	ck_assert(st.cmma_enabled && st.uses_cmm && st.migration_mode);
	ck_assert_uint_eq(st.cmma_dirty, 1024);
	cm_free(&v);
}
END_TEST

Suite *suite_cmma(void);
Suite *suite_cmma(void)
{
	Suite *s = suite_create("cmma");
	TCase *tc = tcase_create("attributes");

	tcase_add_test(tc, test_has_attr);
	tcase_add_test(tc, test_machine_without_cmma);
	tcase_add_test(tc, test_enable_and_clear);
	tcase_add_test(tc, test_limit_size);
	tcase_add_test(tc, test_migration_attrs);
	tcase_add_test(tc, test_start_stop_keep_and_reinit);
	tcase_add_test(tc, test_memslot_changes_in_migration_mode);
	suite_add_tcase(s, tc);
	tc = tcase_create("essa and set");
	tcase_add_test(tc, test_essa);
	tcase_add_test(tc, test_essa_in_migration_does_not_mark_used);
	tcase_add_test(tc, test_essa_on_slot_without_bitmap);
	tcase_add_test(tc, test_set_checks);
	tcase_add_test(tc, test_set_mask_and_holes);
	tcase_add_test(tc, test_set_max_count);
	tcase_add_test(tc, test_states_follow_host_pages);
	tcase_add_test(tc, test_host_address_wrap);
	suite_add_tcase(s, tc);
	tc = tcase_create("storage");
	tcase_add_test(tc, test_sparse_memory);
	tcase_add_test(tc, test_fully_touched_cost);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_get_out_of_memory);
	tcase_add_test(tc, test_status_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
