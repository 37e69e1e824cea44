// SPDX-License-Identifier: LGPL-2.1-or-later
/* KVM_SET_USER_MEMORY_REGION (spec: generic.md §4.3). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "core/uaccess.h"
#include "unit.h"

#define MiB (1ULL << 20)
#define LOG KS_MEM_LOG_DIRTY_PAGES

static struct ks_vm *vm_of(struct ks_handle *h)
{
	return h->vm;
}

/* The slots as "id:gpa+size" in gpa order, for comparisons. */
static const char *layout(struct ks_handle *h)
{
	static char buf[512];
	const struct ks_memslots *s = &vm_of(h)->slots;
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n && off < sizeof(buf) - 64; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"%s%u:%llx+%llx", i ? " " : "",
					s->v[i].id,
					(unsigned long long)s->v[i].gpa,
					(unsigned long long)s->v[i].size);
	return buf;
}

START_TEST(test_struct_unreadable_is_efault)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);
	struct ks_userspace_memory_region m = { .memory_size = MiB };
	struct ks_uctx_direct d;

	ck_assert_errno(unit_ioctl(h, KS_SET_USER_MEMORY_REGION, 16), EFAULT);
	ks_uctx_direct_init(&d, UNIT_TGID);
	d.fault_lo = (uintptr_t)&m + 31;
	d.fault_hi = d.fault_lo + 1;
	ck_assert_errno(ks_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m,
				 &d.u),
			EFAULT);
	/* the caller check still comes first */
	ck_assert_errno(unit_ioctl_as(h, UNIT_TGID + 1,
				      KS_SET_USER_MEMORY_REGION, 16),
			EIO);
	ck_assert_uint_eq(vm_of(h)->slots.n, 0);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_flags_and_ids)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_region(h, 0, 4, 0, MiB, MiB), EINVAL);
	ck_assert_errno(unit_region(h, 0, KS_MEM_READONLY, 0, MiB, MiB),
			EINVAL);
	ck_assert_errno(unit_region(h, 0, 0x80000000, 0, MiB, MiB), EINVAL);
	/* s390 reserves one internal slot: 32766 user slots */
	ck_assert_errno(unit_region(h, 32766, 0, 0, MiB, MiB), EINVAL);
	ck_assert_errno(unit_region(h, 0xffff, 0, 0, MiB, MiB), EINVAL);
	ck_assert_int_eq(unit_region(h, 32765, 0, 0, MiB, MiB), 0);
	/* address space 1 does not exist */
	ck_assert_errno(unit_region(h, 1U << 16, 0, 4 * MiB, MiB, MiB), EINVAL);
	ck_assert_errno(unit_region(h, (1U << 16) | 32765, 0, 0, 0, MiB),
			EINVAL);
	ck_assert_str_eq(layout(h), "32765:0+100000");
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_ppc_slot_limit_and_alignment)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_region(h, 32767, 0, 0, 65536, 65536), EINVAL);
	ck_assert_int_eq(unit_region(h, 32766, 0, 0, 65536, 65536), 0);
	/* 64 KiB host pages */
	ck_assert_errno(unit_region(h, 1, 0, 0x10000, 4096, 0x20000), EINVAL);
	ck_assert_errno(unit_region(h, 1, 0, 0x11000, 0x10000, 0x20000),
			EINVAL);
	ck_assert_errno(unit_region(h, 1, 0, 0x10000, 0x10000, 0x21000),
			EINVAL);
	/* no 1 MiB rule on powerpc */
	ck_assert_int_eq(unit_region(h, 1, 0, 0x10000, 0x10000, 0x30000), 0);
	/* the user range must not wrap on powerpc */
	ck_assert_errno(unit_region(h, 2, 0, 0x100000, 0x20000,
				    0xFFFFFFFFFFFF0000ULL),
			EINVAL);
	ck_assert_errno(unit_region(h, 2, LOG | KS_MEM_READONLY, 0x100000,
				    0x10000, 0x40000),
			EINVAL);
	/* dirty logging is accepted and has no model state on powerpc */
	ck_assert_int_eq(unit_region(h, 2, LOG, 0x100000, 0x10000, 0x40000), 0);
	ck_assert_ptr_null(vm_of(h)->slots.v[2].arch);
	ck_assert_str_eq(layout(h),
			 "32766:0+10000 1:10000+10000 2:100000+10000");
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_s390_alignment_and_wrap)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_region(h, 0, 0, 0x800, MiB, MiB), EINVAL);
	ck_assert_errno(unit_region(h, 0, 0, 0, MiB + 0x800, MiB), EINVAL);
	ck_assert_errno(unit_region(h, 0, 0, 0, MiB, MiB + 0x800), EINVAL);
	/* page aligned, but slots are made of 1 MiB segments (row 11) */
	ck_assert_errno(unit_region(h, 0, 0, 0, MiB, MiB + 0x1000), EINVAL);
	ck_assert_errno(unit_region(h, 0, 0, 0, MiB + 0x1000, MiB), EINVAL);
	/* the guest address itself needs only page alignment */
	ck_assert_int_eq(unit_region(h, 0, 0, 0x1000, MiB, MiB), 0);
	/* s390 has no user-range check: a wrapping range is accepted */
	ck_assert_int_eq(unit_region(h, 1, 0, 16 * MiB, 2 * MiB,
				     0xFFFFFFFFFFF00000ULL),
			 0);
	/* guest range wrap (row 7) */
	ck_assert_errno(unit_region(h, 2, 0, 0xFFFFFFFFFFF00000ULL, 2 * MiB,
				    MiB),
			EINVAL);
	ck_assert_errno(unit_region(h, 2, 0, 0xFFFFFFFFFFF00000ULL, MiB, MiB),
			EINVAL);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_s390_memory_limit)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);
	uint64_t limit = 1ULL << 44;

	ck_assert_uint_eq(ks_engine_config(eng)->s390_mem_limit, limit);
	ck_assert_errno(unit_region(h, 0, 0, limit - MiB, 2 * MiB, MiB),
			EINVAL);
	ck_assert_int_eq(unit_region(h, 0, 0, limit - MiB, MiB, MiB), 0);
	/* a move is checked too, a flags change is not */
	ck_assert_errno(unit_region(h, 0, 0, limit, MiB, MiB), EINVAL);
	ck_assert_int_eq(unit_region(h, 0, LOG, limit - MiB, MiB, MiB), 0);
	/* more pages than KVM_MEM_MAX_NR_PAGES (row 7) */
	ck_assert_errno(unit_region(h, 1, 0, 0, 1ULL << 43, MiB), EINVAL);
	ck_assert_int_eq(unit_region(h, 1, 0, 0, (1ULL << 43) - MiB, MiB), 0);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_delete_modify_move)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_region(h, 3, 0, 0, 0, 0), EINVAL);
	ck_assert_int_eq(unit_region(h, 3, 0, 8 * MiB, MiB, 64 * MiB), 0);
	ck_assert_int_eq(unit_region(h, 1, 0, 0, 2 * MiB, 32 * MiB), 0);
	ck_assert_str_eq(layout(h), "1:0+200000 3:800000+100000");
	/* an existing slot cannot change its user address or size */
	ck_assert_errno(unit_region(h, 3, 0, 8 * MiB, MiB, 65 * MiB), EINVAL);
	ck_assert_errno(unit_region(h, 3, 0, 8 * MiB, 2 * MiB, 64 * MiB),
			EINVAL);
	ck_assert_errno(unit_region(h, 3, 0, 9 * MiB, 2 * MiB, 64 * MiB),
			EINVAL);
	/* identical: nothing to do */
	ck_assert_int_eq(unit_region(h, 3, 0, 8 * MiB, MiB, 64 * MiB), 0);
	/* move below slot 1's end: overlap */
	ck_assert_errno(unit_region(h, 3, 0, MiB, MiB, 64 * MiB), EEXIST);
	/* move to the front: the order follows */
	ck_assert_int_eq(unit_region(h, 1, 0, 4 * MiB, 2 * MiB, 32 * MiB), 0);
	ck_assert_int_eq(unit_region(h, 3, 0, 0, MiB, 64 * MiB), 0);
	ck_assert_str_eq(layout(h), "3:0+100000 1:400000+200000");
	/* a move may overlap the slot's own old place */
	ck_assert_int_eq(unit_region(h, 1, 0, 5 * MiB, 2 * MiB, 32 * MiB), 0);
	/* flags only */
	ck_assert_int_eq(unit_region(h, 1, LOG, 5 * MiB, 2 * MiB, 32 * MiB), 0);
	ck_assert_uint_eq(vm_of(h)->slots.v[1].flags, LOG);
	ck_assert_ptr_nonnull(vm_of(h)->slots.v[1].arch);
	/* deletion takes any guest address and flags */
	ck_assert_int_eq(unit_region(h, 3, LOG, 99 * MiB, 0, 64 * MiB), 0);
	ck_assert_errno(unit_region(h, 3, 0, 0, 0, 0), EINVAL);
	ck_assert_str_eq(layout(h), "1:500000+200000");
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_overlap_and_order_of_checks)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_int_eq(unit_region(h, 0, 0, 4 * MiB, 4 * MiB, 0), 0);
	ck_assert_errno(unit_region(h, 1, 0, 7 * MiB, 2 * MiB, 0), EEXIST);
	ck_assert_errno(unit_region(h, 1, 0, 0, 5 * MiB, 0), EEXIST);
	ck_assert_errno(unit_region(h, 1, 0, 5 * MiB, MiB, 0), EEXIST);
	/* EEXIST (row 10) comes before the 1 MiB rule (row 11) */
	ck_assert_errno(unit_region(h, 1, 0, 5 * MiB, MiB, 0x1000), EEXIST);
	/* adjacent slots are fine; sharing user memory is too */
	ck_assert_int_eq(unit_region(h, 1, 0, 8 * MiB, MiB, 0), 0);
	ck_assert_int_eq(unit_region(h, 2, 0, 3 * MiB, MiB, 0), 0);
	ck_assert_str_eq(layout(h),
			 "2:300000+100000 0:400000+400000 1:800000+100000");
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_lookup_by_gpa_many_slots)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);
	const struct ks_memslots *s = &vm_of(h)->slots;
	const struct ks_memslot *m;
	uint32_t i;

	/* created from the top down: every insertion goes to the front */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(unit_region(h, i, 0, (uint64_t)(999 - i) << 20,
					     0x20000, (uint64_t)i << 20),
				 0);
	ck_assert_uint_eq(s->n, 1000);
	for (i = 1; i < s->n; i++)
		ck_assert_uint_lt(s->v[i - 1].gpa, s->v[i].gpa);
	m = ks_memslot_by_gpa(s, (500ULL << 20) + 0x1ffff);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->id, 499);
	ck_assert_ptr_null(ks_memslot_by_gpa(s, (500ULL << 20) + 0x20000));
	ck_assert_ptr_null(ks_memslot_by_gpa(s, 1000ULL << 20));
	ck_assert_uint_eq(ks_memslot_by_gpa(s, 0)->id, 999);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_memory_is_charged)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *h;
	uint64_t before;
	uint32_t i;
	long ret = 0;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "s390x"), 0);
	cfg.memory_limit = 64 * 1024;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	h = unit_open(eng, 1, UNIT_TGID);
	before = ks_mem_used(eng);
	for (i = 0; i < 10000 && !ret; i++)
		ret = unit_region(h, i, 0, (uint64_t)i << 20, MiB, 0);
	/* the slot table ran into the limit */
	ck_assert_errno(ret, ENOMEM);
	ck_assert_uint_gt(ks_mem_used(eng), before);
	ck_assert_uint_le(ks_mem_used(eng), cfg.memory_limit);
	ks_release(h);
	ck_assert_uint_eq(ks_mem_used(eng), 0);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_memslot(void);
Suite *suite_memslot(void)
{
	Suite *s = suite_create("memslot");
	TCase *tc = tcase_create("set_user_memory_region");

	tcase_add_test(tc, test_struct_unreadable_is_efault);
	tcase_add_test(tc, test_flags_and_ids);
	tcase_add_test(tc, test_ppc_slot_limit_and_alignment);
	tcase_add_test(tc, test_s390_alignment_and_wrap);
	tcase_add_test(tc, test_s390_memory_limit);
	tcase_add_test(tc, test_delete_modify_move);
	tcase_add_test(tc, test_overlap_and_order_of_checks);
	tcase_add_test(tc, test_lookup_by_gpa_many_slots);
	tcase_add_test(tc, test_memory_is_charged);
	suite_add_tcase(s, tc);
	return s;
}
