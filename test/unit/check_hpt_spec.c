// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hpt.md and htab-fd.md restated as tests from the text alone: check-order
 * tables fed inputs wrong in several ways at once, the state after each
 * failing call, the worked hash and rehash examples, boundary orders and
 * shifts, and call sequences.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_htab.h"
#include "core/internal.h"

#define BAD_PTR 16 /* below 4096: never readable */

/* hpt.md §5: examples A-D (bolted where marked). */
#define A_V 0x0000000123456a91ULL /* bolted, valid */
#define A_R 0x0000000012345012ULL
#define A2_V 0x0000000123456a11ULL /* page 0xA3CD, bolted */
#define B_V 0x0000000123456a95ULL /* L, bolted */
#define B_R 0x0000000012341012ULL
#define C_V 0x0000000123456a15ULL /* 16 MiB, bolted */
#define C_R 0x0000000013000012ULL
#define D_V 0x40000abcde123411ULL /* 1 TiB segment, bolted */
#define VH 0x2ULL

static long enter_exact(struct ks_handle *vm, uint64_t idx, uint64_t v,
			uint64_t r)
{
	struct kvmshim_ppc_hpte h = { KVMSHIM_PPC_H_EXACT, idx, v, r };

	return unit_ioctl(vm, KVMSHIM_PPC_H_ENTER, (uintptr_t)&h);
}

static long rs(struct ks_handle *vm, uint32_t cmd, uint64_t flags,
	       uint32_t shift)
{
	struct ks_ppc_resize_hpt a = { flags, shift, 0xffffffffu };

	return unit_ioctl(vm, cmd, (uintptr_t)&a);
}

static long prep(struct ks_handle *vm, uint32_t shift)
{
	return rs(vm, KS_PPC_RESIZE_HPT_PREPARE, 0, shift);
}

static long commit(struct ks_handle *vm, uint32_t shift)
{
	return rs(vm, KS_PPC_RESIZE_HPT_COMMIT, 0, shift);
}

static void worker(struct ks_handle *vm, uint32_t mode)
{
	struct kvmshim_ppc_resize_worker w = { mode, 0 };

	ck_assert_int_eq(
		unit_ioctl(vm, KVMSHIM_PPC_RESIZE_WORKER, (uintptr_t)&w), 0);
}

static void fail_resize(struct ks_handle *vm, uint32_t count)
{
	struct kvmshim_ppc_fail_alloc fa = { KVMSHIM_PPC_FAIL_RESIZE, count };

	ck_assert_int_eq(unit_ioctl(vm, KVMSHIM_PPC_FAIL_ALLOC, (uintptr_t)&fa),
			 0);
}

/* Waits until the pending request is no longer allocating. */
static struct kvmshim_ppc_info settled(struct ks_handle *vm)
{
	struct kvmshim_ppc_info in;
	int i;

	for (i = 0; i < 5000; i++) {
		in = htab_info(vm);
		if (in.resize_state != KVMSHIM_PPC_RESIZE_ALLOCATING)
			return in;
		usleep(1000);
	}
	ck_abort_msg("resize still allocating");
	return in;
}

static void pending_is(struct ks_handle *vm, uint32_t order, uint32_t state)
{
	struct kvmshim_ppc_info in = settled(vm);

	ck_assert_uint_eq(in.resize_order, order);
	ck_assert_uint_eq(in.resize_state, state);
}

/* ---- KVM_PPC_ALLOCATE_HTAB (hpt.md §7) ---- */

START_TEST(test_alloc_bad_orders_free_table)
{
	static const uint32_t bad[] = { 0,	     1,		 17,
					47,	     64,	 0x7fffffffu,
					0x80000000u, 0xffffffffu };
	struct htab_fix f;
	unsigned int k;

	htab_fix_init(&f, 0);
	/* M2: no HPT and order 0 */
	ck_assert_errno(htab_alloc(f.vm, 0), EINVAL);
	ck_assert_uint_eq(htab_info(f.vm).order, 0);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
		ck_assert_int_eq(enter_exact(f.vm, 7, A_V, A_R), 0);
		/* Q7: the old table is freed, then EINVAL */
		ck_assert_errno(htab_alloc(f.vm, bad[k]), EINVAL);
		ck_assert_uint_eq(htab_info(f.vm).order, 0);
		ck_assert_uint_eq(htab_info(f.vm).npte, 0);
		ck_assert_uint_eq(htab_info(f.vm).valid, 0);
	}
	/* above hpt_max_alloc_order (34): ENOMEM, and the old table is gone */
	ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
	ck_assert_errno(htab_alloc(f.vm, 35), ENOMEM);
	ck_assert_uint_eq(htab_info(f.vm).order, 0);
	ck_assert_errno(htab_alloc(f.vm, 46), ENOMEM);
	/* the boundaries that work */
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	ck_assert_uint_eq(htab_info(f.vm).npte, 16384);
	ck_assert_int_eq(htab_alloc(f.vm, 34), 0);
	ck_assert_uint_eq(htab_info(f.vm).npte, 1ULL << 30);
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_alloc_check_order)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *vm;
	struct htab_fix f;
	uint32_t o = 17;

	/* nested before EFAULT */
	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.ppc_nested = true;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	vm = unit_open(eng, 1, UNIT_TGID);
	ck_assert_errno(unit_ioctl(vm, KS_PPC_ALLOCATE_HTAB, BAD_PTR),
			EOPNOTSUPP);
	ck_assert_errno(unit_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (uintptr_t)&o),
			EOPNOTSUPP);
	ks_release(vm);
	ks_engine_free(eng);

	htab_fix_init(&f, 20);
	ck_assert_int_eq(enter_exact(f.vm, 3, A_V, A_R), 0);
	htab_set_ready(f.vm, 1);
	htab_set_vcpus(f.vm, 1, 1);
	/* the VM-creator check first (generic.md 4.1), then EFAULT before
	 * EBUSY */
	ck_assert_errno(unit_ioctl_as(f.vm, UNIT_TGID + 1, KS_PPC_ALLOCATE_HTAB,
				      BAD_PTR),
			EIO);
	ck_assert_errno(unit_ioctl_as(f.vm, UNIT_TGID + 1,
				      KS_PPC_RESIZE_HPT_PREPARE, BAD_PTR),
			EIO);
	ck_assert_errno(unit_ioctl_as(f.vm, UNIT_TGID + 1,
				      KS_PPC_RESIZE_HPT_COMMIT, BAD_PTR),
			EIO);
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_ALLOCATE_HTAB, BAD_PTR),
			EFAULT);
	/* EBUSY before the order check; nothing changes */
	ck_assert_errno(htab_alloc(f.vm, 17), EBUSY);
	ck_assert_errno(htab_alloc(f.vm, 0), EBUSY);
	ck_assert_errno(htab_alloc(f.vm, 20), EBUSY);
	ck_assert_uint_eq(htab_info(f.vm).order, 20);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert(htab_holds(f.vm, 3, A_V, A_R));
	/* running vCPUs alone do not block while the MMU is not ready */
	htab_set_ready(f.vm, 0);
	ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
	ck_assert(htab_empty(f.vm, 3));
	/* MMU ready without running vCPUs: proceeds and clears mmu_ready,
	 * also when the order is then rejected */
	htab_set_vcpus(f.vm, 1, 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(htab_alloc(f.vm, 19), 0);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	htab_set_ready(f.vm, 1);
	ck_assert_errno(htab_alloc(f.vm, 47), EINVAL);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	ck_assert_uint_eq(htab_info(f.vm).order, 0);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_alloc_same_order_reset)
{
	struct htab_fix f;
	struct ks_handle *rd;
	struct kvmshim_ppc_entry e;
	uint8_t buf[64];

	htab_fix_init(&f, 18);
	rd = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(enter_exact(f.vm, 9, A_V, A_R), 0);
	ck_assert_uint_eq(htab_entry(f.vm, 9).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT |
				  KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_int_eq(prep(f.vm, 19), 100);
	pending_is(f.vm, 19, KVMSHIM_PPC_RESIZE_READY);
	/* same order: entries emptied, modified kept, resize and readers
	 * untouched */
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	e = htab_entry(f.vm, 9);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(htab_info(f.vm).valid, 0);
	ck_assert_uint_eq(htab_info(f.vm).readers, 1);
	pending_is(f.vm, 19, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(f.vm, 19), 0);
	/* another order: a clean table, resize still pending */
	ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
	ck_assert_uint_eq(htab_entry(f.vm, 9).flags, 0);
	pending_is(f.vm, 19, KVMSHIM_PPC_RESIZE_READY);
	/* the read fd keeps its first pass and reads the new table */
	ck_assert_int_eq(htab_rd(rd, buf, 25), 8);
	ks_release(rd);
	/* COMMIT rehashes from the current (order-20) table */
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(commit(f.vm, 19), 0);
	ck_assert_uint_eq(htab_info(f.vm).order, 19);
	htab_fix_fini(&f);
}
END_TEST

/* ---- RESIZE_HPT_PREPARE (hpt.md §8.1) ---- */

START_TEST(test_prepare_check_order)
{
	struct htab_fix f;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	/* EFAULT first; then flags before the shift; nothing changes */
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE, BAD_PTR),
			EFAULT);
	ck_assert_errno(rs(f.vm, KS_PPC_RESIZE_HPT_PREPARE, 1, 17), EINVAL);
	ck_assert_errno(rs(f.vm, KS_PPC_RESIZE_HPT_PREPARE, 1ULL << 63, 20),
			EINVAL);
	ck_assert_errno(rs(f.vm, KS_PPC_RESIZE_HPT_PREPARE, 2, 0), EINVAL);
	ck_assert_errno(prep(f.vm, 17), EINVAL);
	ck_assert_errno(prep(f.vm, 47), EINVAL);
	ck_assert_errno(prep(f.vm, 1), EINVAL);
	ck_assert_errno(prep(f.vm, 0x80000000u), EINVAL);
	ck_assert_errno(prep(f.vm, 0xffffffffu), EINVAL);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	/* ready, same shift: 0 again and again */
	ck_assert_int_eq(prep(f.vm, 20), 0);
	ck_assert_int_eq(prep(f.vm, 20), 0);
	/* shift 0 cancels and returns 0; a second one too */
	ck_assert_int_eq(prep(f.vm, 0), 0);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prep(f.vm, 0), 0);
	/* same size as the current table is allowed; bounds 18 and 46 */
	ck_assert_int_eq(prep(f.vm, 18), 100);
	pending_is(f.vm, 18, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(f.vm, 18), 0);
	ck_assert_int_eq(prep(f.vm, 46), 100);
	/* 46 is above hpt_max_alloc_order: the worker fails with ENOMEM */
	pending_is(f.vm, 46, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_int_eq(htab_info(f.vm).resize_errno, ENOMEM);
	ck_assert_errno(prep(f.vm, 46), ENOMEM);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prep(f.vm, 46), 100);
	ck_assert_int_eq(prep(f.vm, 0), 0);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_prepare_sequences)
{
	struct htab_fix f;

	/* no HPT is needed */
	htab_fix_init(&f, 0);
	ck_assert_int_eq(prep(f.vm, 19), 100);
	pending_is(f.vm, 19, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(f.vm, 19), 0);
	/* held worker: 100 while allocating, also repeatedly */
	worker(f.vm, KVMSHIM_PPC_WORKER_HOLD);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_uint_eq(htab_info(f.vm).resize_state,
			  KVMSHIM_PPC_RESIZE_ALLOCATING);
	/* another shift replaces the allocating request */
	ck_assert_int_eq(prep(f.vm, 21), 100);
	ck_assert_uint_eq(htab_info(f.vm).resize_order, 21);
	ck_assert_int_eq(unit_ioctl(f.vm, KVMSHIM_PPC_RESIZE_RELEASE, 0), 1);
	pending_is(f.vm, 21, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(f.vm, 21), 0);
	worker(f.vm, KVMSHIM_PPC_WORKER_NOW);
	/* failed: the same shift reports it once and releases */
	fail_resize(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 22), 100);
	pending_is(f.vm, 22, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_errno(prep(f.vm, 22), ENOMEM);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prep(f.vm, 22), 100);
	pending_is(f.vm, 22, KVMSHIM_PPC_RESIZE_READY);
	/* failed, then another shift: cancelled and started anew */
	fail_resize(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 23), 100);
	pending_is(f.vm, 23, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_int_eq(prep(f.vm, 24), 100);
	pending_is(f.vm, 24, KVMSHIM_PPC_RESIZE_READY);
	/* failed, then shift 0: plain cancel */
	fail_resize(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 23), 100);
	pending_is(f.vm, 23, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_int_eq(prep(f.vm, 0), 0);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	htab_fix_fini(&f);
}
END_TEST

/* ---- RESIZE_HPT_COMMIT (hpt.md §8.2) ---- */

START_TEST(test_commit_check_order)
{
	struct htab_fix f;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 15576, A_V, A_R), 0);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	/* argument errors beat EIO and leave the request pending */
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_COMMIT, BAD_PTR),
			EFAULT);
	ck_assert_errno(rs(f.vm, KS_PPC_RESIZE_HPT_COMMIT, 1, 17), EINVAL);
	ck_assert_errno(rs(f.vm, KS_PPC_RESIZE_HPT_COMMIT, 1ULL << 32, 20),
			EINVAL);
	ck_assert_errno(commit(f.vm, 47), EINVAL);
	ck_assert_errno(commit(f.vm, 0xffffffffu), EINVAL);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	/* MMU not ready: EIO, released, still not ready */
	ck_assert_errno(commit(f.vm, 20), EIO);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	ck_assert_uint_eq(htab_info(f.vm).order, 18);
	/* EIO even with nothing pending */
	ck_assert_errno(commit(f.vm, 0), EIO);
	htab_set_ready(f.vm, 1);
	/* nothing pending / other shift / shift 0: ENXIO and released */
	ck_assert_errno(commit(f.vm, 20), ENXIO);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_errno(commit(f.vm, 21), ENXIO);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_errno(commit(f.vm, 0), ENXIO);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* still allocating: EBUSY and released */
	worker(f.vm, KVMSHIM_PPC_WORKER_HOLD);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_errno(commit(f.vm, 20), EBUSY);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(unit_ioctl(f.vm, KVMSHIM_PPC_RESIZE_RELEASE, 0), 0);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	worker(f.vm, KVMSHIM_PPC_WORKER_NOW);
	/* failed: its errno, released */
	fail_resize(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_errno(commit(f.vm, 20), ENOMEM);
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert_uint_eq(htab_info(f.vm).order, 18);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	/* success, with vCPUs running; a second COMMIT finds nothing */
	htab_set_vcpus(f.vm, 2, 2);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 20), 0);
	ck_assert_uint_eq(htab_info(f.vm).order, 20);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert(htab_holds(f.vm, 64728, A_V, A_R));
	ck_assert_errno(commit(f.vm, 20), ENXIO);
	htab_fix_fini(&f);
}
END_TEST

/* ---- rehash (hpt.md §8.3, §8.4) ---- */

START_TEST(test_rehash_grow_examples)
{
	struct htab_fix f;
	struct kvmshim_ppc_info in;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 15576, A_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 803, A_V | VH, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 14160, B_V, B_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 2216 + 5, B_V | VH, B_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 8928 + 1, C_V, C_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 7448 + 2, C_V | VH, C_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 3528 + 7, D_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 12848 + 4, D_V | VH, A_R), 0);
	/* not bolted: dropped */
	ck_assert_int_eq(enter_exact(f.vm, 15577, A_V & ~0x10ULL, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 0, 0x1, 0), 0);
	/* the modified flag travels */
	ck_assert_int_eq(htab_insert(f.vm, 15578, A_V, A_R, true), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 20), 0);
	in = htab_info(f.vm);
	ck_assert_uint_eq(in.order, 20);
	ck_assert_uint_eq(in.npte, 65536);
	ck_assert_uint_eq(in.valid, 9);
	ck_assert(htab_holds(f.vm, 64728, A_V, A_R));
	ck_assert(htab_holds(f.vm, 803, A_V | VH, A_R));
	ck_assert(htab_holds(f.vm, 63312, B_V, B_R));
	ck_assert(htab_holds(f.vm, 2216 + 5, B_V | VH, B_R));
	ck_assert(htab_holds(f.vm, 41696 + 1, C_V, C_R));
	ck_assert(htab_holds(f.vm, 23832 + 2, C_V | VH, C_R));
	ck_assert(htab_holds(f.vm, 52680 + 7, D_V, A_R));
	ck_assert(htab_holds(f.vm, 12848 + 4, D_V | VH, A_R));
	ck_assert_uint_eq(htab_entry(f.vm, 64730).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT |
				  KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(htab_entry(f.vm, 64728).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT);
	/* dropped entries are not marked anywhere */
	ck_assert_uint_eq(in.dirty, 1);

	/* and back: 20 -> 18 restores the order-18 positions */
	ck_assert_int_eq(prep(f.vm, 18), 100);
	pending_is(f.vm, 18, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 18), 0);
	ck_assert_uint_eq(htab_info(f.vm).valid, 9);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	ck_assert(htab_holds(f.vm, 14160, B_V, B_R));
	ck_assert(htab_holds(f.vm, 8928 + 1, C_V, C_R));
	ck_assert(htab_holds(f.vm, 7448 + 2, C_V | VH, C_R));
	ck_assert(htab_holds(f.vm, 3528 + 7, D_V, A_R));
	ck_assert(htab_holds(f.vm, 15578, A_V, A_R));
	/* same size: every entry stays */
	ck_assert_int_eq(prep(f.vm, 18), 100);
	pending_is(f.vm, 18, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 18), 0);
	ck_assert_uint_eq(htab_info(f.vm).valid, 9);
	ck_assert(htab_holds(f.vm, 12848 + 4, D_V | VH, A_R));
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_rehash_shrink_collision)
{
	struct htab_fix f;

	htab_fix_init(&f, 20);
	ck_assert_int_eq(enter_exact(f.vm, 64728, A_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 48344, A2_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 5, A_V & ~0x10ULL, A_R), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 18), 100);
	pending_is(f.vm, 18, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 18), ENOSPC);
	ck_assert_uint_eq(htab_info(f.vm).order, 20);
	ck_assert_uint_eq(htab_info(f.vm).valid, 3);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert(htab_holds(f.vm, 64728, A_V, A_R));
	ck_assert(htab_holds(f.vm, 48344, A2_V, A_R));
	ck_assert(htab_holds(f.vm, 5, A_V & ~0x10ULL, A_R));
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_errno(commit(f.vm, 18), ENXIO);
	/* one of them alone fits */
	ck_assert_int_eq(htab_remove(f.vm, 48344), 0);
	ck_assert_int_eq(prep(f.vm, 18), 100);
	pending_is(f.vm, 18, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 18), 0);
	ck_assert_uint_eq(htab_info(f.vm).valid, 1);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_rehash_misplaced_grow_collision)
{
	struct htab_fix f;

	/* 16 MiB pages hash independently of their index: two bolted copies
	 * collide on a grow (M9) */
	htab_fix_init(&f, 18);
	ck_assert_int_eq(htab_insert(f.vm, 8928, C_V, C_R, false), 0);
	ck_assert_int_eq(htab_insert(f.vm, 16, C_V, C_R, false), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 20), ENOSPC);
	ck_assert_uint_eq(htab_info(f.vm).order, 18);
	ck_assert(htab_holds(f.vm, 16, C_V, C_R));
	ck_assert(htab_holds(f.vm, 8928, C_V, C_R));
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_rehash_undecodable)
{
	struct htab_fix f;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 15576, A_V, A_R), 0);
	/* L with LP = 2, not bolted: EIO comes before the bolted test */
	ck_assert_int_eq(htab_insert(f.vm, 16000, 0x5, 0x2000, false), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 20), EIO);
	ck_assert_uint_eq(htab_info(f.vm).order, 18);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	ck_assert(htab_holds(f.vm, 16000, 0x5, 0x2000));
	pending_is(f.vm, 0, KVMSHIM_PPC_RESIZE_NONE);
	/* LP = 0 with lphi != 0, and LP = 8 with lphi 1 */
	ck_assert_int_eq(htab_remove(f.vm, 16000), 0);
	ck_assert_int_eq(htab_insert(f.vm, 16001, 0x15, 0x10000, false), 0);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 20), EIO);
	ck_assert_int_eq(htab_remove(f.vm, 16001), 0);
	ck_assert_int_eq(htab_insert(f.vm, 16002, 0x15, 0x18000, false), 0);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 20), EIO);
	/* LP = 8, lphi = 3 decodes (base 4 KiB) */
	ck_assert_int_eq(htab_remove(f.vm, 16002), 0);
	ck_assert_int_eq(htab_insert(f.vm, 16003, 0x15, 0x38000, false), 0);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 20), 0);
	ck_assert_uint_eq(htab_info(f.vm).valid, 2);
	htab_fix_fini(&f);
}
END_TEST

/* ---- GET_HTAB_FD with no HPT, start_index past the end (htab-fd.md §1, §4) ---- */

START_TEST(test_read_no_hpt_and_huge_start)
{
	struct htab_fix f;
	struct ks_handle *rd, *wr;
	uint8_t buf[256];

	htab_fix_init(&f, 0);
	rd = htab_open(f.vm, 0, 0);
	ck_assert_uint_eq(htab_info(f.vm).readers, 1);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	/* write with npte 0: a fitting record is EINVAL; a non-fitting one
	 * stops silently first */
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	htab_hdr(buf, 0, 0, 1);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);
	htab_hdr(buf, 0, 1, 0);
	ck_assert_int_eq(htab_wr(wr, buf, 8), 0);
	/* a table appears: the read fd is past its first pass, nothing is
	 * dirty (new tables are clean) */
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);
	ck_assert_uint_eq(htab_info(f.vm).readers, 0);
	/* start_index 2^64-1 (truncated or not, >= npte): first read is 0 and
	 * ends the first pass; the second scans dirty entries from 0 */
	rd = htab_open(f.vm, 0, ~0ULL);
	ck_assert_int_eq(enter_exact(f.vm, 3, A_V, A_R), 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 24);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* ---- read boundaries (htab-fd.md §4) ---- */

START_TEST(test_read_space_boundaries)
{
	struct htab_fix f;
	struct ks_handle *rd;
	uint8_t buf[1024];
	uint32_t hdr[2];
	unsigned int k;

	htab_fix_init(&f, 18);
	for (k = 0; k < 20; k++)
		ck_assert_int_eq(htab_insert(f.vm, k, A_V, A_R, false), 0);
	/* count 25: one header and room for one HPTE (8 + 16 < 25) */
	rd = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(htab_rd(rd, buf, 24), 0);
	ck_assert_int_eq(htab_rd(rd, buf, 25), 24);
	memcpy(hdr, buf, 8);
	ck_assert_uint_eq(hdr[0], 0);
	ck_assert_uint_eq(hdr[1], 1);
	/* count 8 + 16k holds k - 1 HPTEs */
	for (k = 2; k <= 6; k++) {
		ck_assert_int_eq(htab_rd(rd, buf, 8 + 16 * k),
				 8 + 16 * (k - 1));
		memcpy(hdr, buf, 8);
		ck_assert_uint_eq(hdr[1], k - 1);
	}
	/* index now 1 + 1 + 2 + 3 + 4 + 5 = 16: 4 left, then the invalid run
	 * to the end in the same record */
	ck_assert_int_eq(htab_rd(rd, buf, 8 + 16 * 5), 8 + 16 * 4);
	memcpy(hdr, buf, 8);
	ck_assert_uint_eq(hdr[0], 16);
	ck_assert_uint_eq(hdr[1], ((16384u - 20) << 16) | 4);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);
	htab_fix_fini(&f);
}
END_TEST

/* ---- write (htab-fd.md §6, §7) ---- */

START_TEST(test_write_examples)
{
	static const uint8_t w1[24] = { 0xD8, 0x3C, 0,	  0,	1,    0,
					0,    0,    0,	  0,	0,    1,
					0x23, 0x45, 0x6A, 0x91, 0,    0,
					0,    0,    0x12, 0x34, 0x50, 0x12 };
	static const uint8_t w2[8] = { 0xD8, 0x3C, 0, 0, 0, 0, 1, 0 };
	struct htab_fix f;
	struct ks_handle *wr;
	uint8_t buf[64];

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	if (htobe16(1) == 1) {
		/* the byte examples assume a little-endian host */
		ks_release(wr);
		htab_fix_fini(&f);
		return;
	}
	ck_assert_int_eq(htab_wr(wr, w1, 24), 24);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	ck_assert_int_eq(htab_wr(wr, w2, 8), 8);
	ck_assert(htab_empty(f.vm, 15576));
	/* W4 */
	ck_assert_int_eq(htab_wr(wr, w1, 15), 0);
	ck_assert(htab_empty(f.vm, 15576));
	/* W6: the second header is read from W1's V */
	memcpy(buf, w1, 24);
	memcpy(buf + 24, w1, 24);
	buf[24 + 15] &= ~1;
	ck_assert_int_eq(htab_wr(wr, buf, 48), 24);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	/* W7 */
	ck_assert_int_eq(htab_insert(f.vm, 15576, C_V, C_R, false), 0);
	memcpy(buf, w2, 8);
	memcpy(buf + 8, w1, 24);
	ck_assert_int_eq(htab_wr(wr, buf, 32), 32);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	/* W5: range error, nothing changes */
	htab_hdr(buf, 16380, 2, 3);
	htab_hpte(buf + 8, A_V, A_R);
	htab_hpte(buf + 24, A_V, A_R);
	ck_assert_errno(htab_wr(wr, buf, 40), EINVAL);
	ck_assert(htab_empty(f.vm, 16380));
	ck_assert_int_eq(htab_wr(wr, buf, 8), 0);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_write_record_checks)
{
	struct htab_fix f;
	struct ks_handle *wr, *rd;
	uint8_t buf[128];
	size_t n;

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* range: index >= npte, index + n > npte, 32-bit overflow of the sum */
	htab_hdr(buf, 16384, 0, 0);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);
	htab_hdr(buf, 16383, 0, 0);
	ck_assert_int_eq(htab_wr(wr, buf, 8), 8);
	htab_hdr(buf, 16383, 0, 2);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);
	htab_hdr(buf, 0xffffffffu, 0, 1);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);
	htab_hdr(buf, 0, 0, 65535);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);

	/* V without VALID: EINVAL, the existing entry survives */
	ck_assert_int_eq(htab_insert(f.vm, 100, C_V, C_R, false), 0);
	n = htab_hdr(buf, 100, 1, 0);
	n += htab_hpte(buf + n, A_V & ~1ULL, A_R);
	ck_assert_errno(htab_wr(wr, buf, n), EINVAL);
	ck_assert(htab_holds(f.vm, 100, C_V, C_R));
	/* undecodable page size: EINVAL, survives */
	htab_hpte(buf + 8, 0x5, 0x2000);
	ck_assert_errno(htab_wr(wr, buf, n), EINVAL);
	ck_assert(htab_holds(f.vm, 100, C_V, C_R));
	/* B = 1x passes the checks but is rejected on enter: EIO, the old
	 * entry is gone */
	htab_hpte(buf + 8, 0x8000000000000001ULL, 0);
	ck_assert_errno(htab_wr(wr, buf, n), EIO);
	ck_assert(htab_empty(f.vm, 100));
	/* B = 11 as well */
	ck_assert_int_eq(htab_insert(f.vm, 100, C_V, C_R, false), 0);
	htab_hpte(buf + 8, 0xC000000000000001ULL, 0);
	ck_assert_errno(htab_wr(wr, buf, n), EIO);
	ck_assert(htab_empty(f.vm, 100));

	/* Q6: the first HPTE stays, the second fails */
	n = htab_hdr(buf, 200, 2, 0);
	n += htab_hpte(buf + n, A_V, A_R);
	n += htab_hpte(buf + n, A_V & ~1ULL, A_R);
	ck_assert_errno(htab_wr(wr, buf, n), EINVAL);
	ck_assert(htab_holds(f.vm, 200, A_V, A_R));
	ck_assert(htab_empty(f.vm, 201));

	/* HVLOCK, ABSENT stripped; bit 62 of R stripped */
	n = htab_hdr(buf, 300, 1, 0);
	n += htab_hpte(buf + n, A_V | 0x60, A_R | (1ULL << 62));
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert(htab_holds(f.vm, 300, A_V, A_R));

	/* written entries are marked modified while a reader is open */
	rd = htab_open(f.vm, 0, 0);
	n = htab_hdr(buf, 400, 1, 1);
	n += htab_hpte(buf + n, A_V, A_R);
	ck_assert_int_eq(htab_insert(f.vm, 401, A_V, A_R, false), 0);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert_uint_eq(htab_entry(f.vm, 400).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT |
				  KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(htab_entry(f.vm, 401).flags,
			  KVMSHIM_PPC_ENTRY_MODIFIED);
	/* an invalid run over empty entries leaves them untouched */
	ck_assert_uint_eq(htab_entry(f.vm, 402).flags, 0);
	ks_release(rd);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_write_mmu_ready_rules)
{
	struct htab_fix f;
	struct ks_handle *wr;
	uint8_t buf[128];
	size_t n;
	const uint64_t vrma = 0x4001ffffff000000ULL | 0x15;

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* EBUSY beats a range error and changes nothing */
	htab_set_ready(f.vm, 1);
	htab_set_vcpus(f.vm, 1, 1);
	htab_hdr(buf, 99999, 0, 0);
	ck_assert_errno(htab_wr(wr, buf, 8), EBUSY);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* ready without running vCPUs: proceeds, stays ready even on error */
	htab_set_vcpus(f.vm, 1, 0);
	ck_assert_errno(htab_wr(wr, buf, 8), EINVAL);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* not ready: a VRMA HPTE makes it ready, even if the call fails later */
	htab_set_ready(f.vm, 0);
	n = htab_hdr(buf, 10, 2, 0);
	n += htab_hpte(buf + n, vrma, 0x1000ULL << 12 | 0x100);
	n += htab_hpte(buf + n, 0x14, 0);
	ck_assert_errno(htab_wr(wr, buf, n), EINVAL);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert_uint_eq(htab_info(f.vm).valid, 1);
	/* the VRMA match ignores the low 24 bits, and needs VSID 0x1FFFFFF */
	htab_set_ready(f.vm, 0);
	n = htab_hdr(buf, 20, 1, 0);
	n += htab_hpte(buf + n, 0x4001fffffeffff15ULL, 0);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	htab_hpte(buf + 8, 0x4001ffffffffff95ULL, 0);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* now a write with running vCPUs is EBUSY */
	htab_set_vcpus(f.vm, 1, 1);
	ck_assert_errno(htab_wr(wr, buf, n), EBUSY);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* ---- modified marking across readers (hpt.md §1, htab-fd.md §4) ---- */

START_TEST(test_marks_survive_reader_close)
{
	struct htab_fix f;
	struct ks_handle *rd, *wr;
	uint8_t buf[256];
	uint32_t hdr[2];
	size_t n;

	htab_fix_init(&f, 18);
	/* no reader: a remove marks nothing */
	ck_assert_int_eq(enter_exact(f.vm, 50, A_V, A_R), 0);
	ck_assert_int_eq(htab_remove(f.vm, 50), 0);
	ck_assert_uint_eq(htab_entry(f.vm, 50).flags, 0);
	ck_assert_uint_eq(htab_info(f.vm).dirty, 0);
	/* a reader's marks outlive it */
	rd = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 8);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ck_assert_int_eq(enter_exact(f.vm, 60, A_V, A_R), 0);
	ks_release(rd);
	ck_assert_uint_eq(htab_info(f.vm).readers, 0);
	ck_assert_uint_eq(htab_entry(f.vm, 60).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT |
				  KVMSHIM_PPC_ENTRY_MODIFIED);
	/* a new reader with start_index past it: first pass from 61 to the
	 * end, then the later pass finds 60 */
	rd = htab_open(f.vm, 0, 61);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 8);
	memcpy(hdr, buf, 8);
	ck_assert_uint_eq(hdr[0], 61);
	ck_assert_uint_eq(hdr[1], (16384u - 61) << 16);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 24);
	memcpy(hdr, buf, 8);
	ck_assert_uint_eq(hdr[0], 60);
	ck_assert_uint_eq(hdr[1], 1);
	ck_assert_uint_eq(htab_entry(f.vm, 60).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);

	/* a first pass clears the mark of an empty entry too */
	ck_assert_int_eq(htab_insert(f.vm, 70, A_V, A_R, true), 0);
	ck_assert_int_eq(htab_remove(f.vm, 70), 0);
	ck_assert_uint_eq(htab_entry(f.vm, 70).flags,
			  KVMSHIM_PPC_ENTRY_MODIFIED);
	rd = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 32);
	ck_assert_uint_eq(htab_entry(f.vm, 70).flags, 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);

	/* an HTAB write with no reader: the enter clears a stale mark, an
	 * invalid run keeps one */
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(htab_insert(f.vm, 80, C_V, C_R, true), 0);
	ck_assert_int_eq(htab_insert(f.vm, 81, C_V, C_R, true), 0);
	n = htab_hdr(buf, 80, 1, 1);
	n += htab_hpte(buf + n, A_V, A_R);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert_uint_eq(htab_entry(f.vm, 80).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_uint_eq(htab_entry(f.vm, 81).flags,
			  KVMSHIM_PPC_ENTRY_MODIFIED);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_reset_and_later_pass)
{
	struct htab_fix f;
	struct ks_handle *rd;
	uint8_t buf[256];
	uint32_t hdr[2];

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 10, A_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 11, A_V, A_R), 0);
	rd = htab_open(f.vm, 0, 0);
	/* first pass: {0,0,10}, {10,2,16372} */
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 48);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	/* one entry changes, then the table is reset at the same order */
	ck_assert_int_eq(htab_remove(f.vm, 11), 0);
	ck_assert_int_eq(enter_exact(f.vm, 11, C_V, C_R), 0);
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	/* only the marked index is reported, now as invalid; the clean,
	 * cleared index 10 is not */
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 8);
	memcpy(hdr, buf, 8);
	ck_assert_uint_eq(hdr[0], 11);
	ck_assert_uint_eq(hdr[1], 1u << 16);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);
	htab_fix_fini(&f);
}
END_TEST

/* A large page across a memslot's alignment: the enter is rejected (EIO),
 * the index stays empty, earlier HPTEs stay (hpt.md §6 row 5, Q6). */
START_TEST(test_write_memslot_alignment)
{
	struct ks_userspace_memory_region m = {
		.slot = 0,
		.guest_phys_addr = 0x1000000,
		.memory_size = 0x1010000,
		.userspace_addr = 0x7f0000000000ULL,
	};
	struct htab_fix f;
	struct ks_handle *wr;
	uint8_t buf[64];
	size_t n;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(
		unit_ioctl(f.vm, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(htab_insert(f.vm, 11, A_V, A_R, false), 0);
	n = htab_hdr(buf, 10, 2, 0);
	n += htab_hpte(buf + n, A_V, A_R);
	/* 16 MiB page at 0x1000000, slot size not a multiple of 16 MiB */
	n += htab_hpte(buf + n, C_V, 0x0000000001000012ULL);
	ck_assert_errno(htab_wr(wr, buf, n), EIO);
	ck_assert(htab_holds(f.vm, 10, A_V, A_R));
	ck_assert(htab_empty(f.vm, 11));
	/* a 16 MiB page on a 4 KiB base (LP 8, lphi 3) is checked by its
	 * actual size */
	n = htab_hdr(buf, 12, 1, 0);
	n += htab_hpte(buf + n, 0x15, 0x0000000001038012ULL);
	ck_assert_errno(htab_wr(wr, buf, n), EIO);
	ck_assert(htab_empty(f.vm, 12));
	/* a 64 KiB page (the host page size) fits anywhere */
	htab_hpte(buf + 8, B_V, 0x0000000001011012ULL);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ck_assert(htab_holds(f.vm, 12, B_V, 0x0000000001011012ULL));
	/* an aligned slot takes the 16 MiB page */
	m.memory_size = 0;
	ck_assert_int_eq(
		unit_ioctl(f.vm, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	m.memory_size = 0x1000000;
	ck_assert_int_eq(
		unit_ioctl(f.vm, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
	htab_hpte(buf + 8, 0x15, 0x0000000001038012ULL);
	ck_assert_int_eq(htab_wr(wr, buf, n), 24);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* cuse.md §7.2 step 4: a first chunk of at most cap - page_size bytes is
 * the whole syscall (Q2 overhang applied, R taken as zero); one byte
 * more and the leftover waits for the next chunk. */
START_TEST(test_chunk_last_boundary)
{
	static uint8_t buf[131072];
	struct htab_fix f;
	struct ks_handle *wr;
	size_t s, k;

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* size 126976: zero-length records, then a header and V only */
	s = 131072 - 4096;
	memset(buf, 0, sizeof(buf));
	for (k = 0; k + 16 < s; k += 8)
		htab_hdr(buf + k, 1, 0, 0);
	htab_hdr(buf + s - 16, 15576, 1, 0);
	htab_hpte(buf + s - 8, A_V, A_R); /* only V lies inside */
	ck_assert_int_eq(htab_wr_chunk(wr, buf, s, 0, 91), (ssize_t)s);
	ck_assert(htab_holds(f.vm, 15576, A_V, 0));
	ck_assert_int_eq(htab_remove(f.vm, 15576), 0);

	/* size 126984: not certainly the last chunk, the record waits */
	s = 131072 - 4096 + 8;
	memset(buf, 0, sizeof(buf));
	for (k = 0; k + 16 < s; k += 8)
		htab_hdr(buf + k, 1, 0, 0);
	htab_hdr(buf + s - 16, 15576, 1, 0);
	htab_hpte(buf + s - 8, A_V, A_R);
	ck_assert_int_eq(htab_wr_chunk(wr, buf, s, 0, 91), (ssize_t)s);
	ck_assert(htab_empty(f.vm, 15576));
	/* its R arrives in the next chunk, which is the last */
	ck_assert_int_eq(htab_wr_chunk(wr, buf + s, 8, s, 91), 8);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* A full first chunk that ends exactly on a record boundary: nothing is
 * left over, the call may continue, and the next chunk's record applies. */
START_TEST(test_chunk_ends_on_record)
{
	static uint8_t buf[131072];
	struct htab_fix f;
	struct ks_handle *wr;
	uint8_t rec[24];
	size_t k, n;

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	for (k = 0; k < sizeof(buf); k += 8)
		htab_hdr(buf + k, 1, 0, 0);
	ck_assert_int_eq(htab_wr_chunk(wr, buf, sizeof(buf), 0, 92),
			 (ssize_t)sizeof(buf));
	n = htab_hdr(rec, 15576, 1, 0);
	n += htab_hpte(rec + n, A_V, A_R);
	ck_assert_int_eq(htab_wr_chunk(wr, rec, n, sizeof(buf), 92), 24);
	ck_assert(htab_holds(f.vm, 15576, A_V, A_R));
	/* the same with an empty trailing chunk */
	ck_assert_int_eq(htab_wr_chunk(wr, buf, sizeof(buf), 0, 92),
			 (ssize_t)sizeof(buf));
	ck_assert_int_eq(htab_wr_chunk(wr, rec, 0, sizeof(buf), 92), 0);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* Requests that are cancelled, replaced or released while their worker
 * is held give back all their memory once the worker lets go (§8.1). */
START_TEST(test_abandoned_requests_free_memory)
{
	struct htab_fix f;
	size_t base;
	int i;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 15576, A_V, A_R), 0);
	htab_set_ready(f.vm, 1);
	base = ks_mem_used(f.eng);
	worker(f.vm, KVMSHIM_PPC_WORKER_HOLD);
	/* released by COMMIT (EBUSY) */
	ck_assert_int_eq(prep(f.vm, 20), 100);
	ck_assert_errno(commit(f.vm, 20), EBUSY);
	/* replaced by another shift, then cancelled by shift 0 */
	ck_assert_int_eq(prep(f.vm, 21), 100);
	ck_assert_int_eq(prep(f.vm, 22), 100);
	ck_assert_int_eq(prep(f.vm, 0), 0);
	ck_assert_int_eq(unit_ioctl(f.vm, KVMSHIM_PPC_RESIZE_RELEASE, 0), 0);
	worker(f.vm, KVMSHIM_PPC_WORKER_NOW);
	for (i = 0; i < 5000 && ks_mem_used(f.eng) != base; i++)
		usleep(1000);
	ck_assert_uint_eq(ks_mem_used(f.eng), base);
	/* a ready request cancelled, and a failed one reported */
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(f.vm, 0), 0);
	ck_assert_uint_eq(ks_mem_used(f.eng), base);
	fail_resize(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_errno(commit(f.vm, 20), ENOMEM);
	ck_assert_uint_eq(ks_mem_used(f.eng), base);
	/* a failed commit frees the prepared table and keeps the old one */
	ck_assert_int_eq(htab_insert(f.vm, 0, 0x5, 0x2000, false), 0);
	base = ks_mem_used(f.eng);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(f.vm, 20), EIO);
	ck_assert_uint_eq(ks_mem_used(f.eng), base);
	htab_fix_fini(&f);
}
END_TEST

/* What a write stores comes back from a read with VALID and HVLOCK set
 * and the other V bits as written: H, L, BOLTED, LOCK, B (htab-fd.md
 * §4.1); R loses only bit 62. */
START_TEST(test_write_read_round_trip)
{
	static const uint64_t v[3] = { A_V | 0x08 | VH, D_V | 0x20 | 0x40,
				       B_V & ~0x10ULL };
	static const uint64_t r[3] = { A_R | (1ULL << 62) | 0x180, A_R,
				       B_R | 0x8000000000000003ULL };
	struct htab_fix f;
	struct ks_handle *wr, *rd;
	uint8_t buf[256], want[256];
	size_t n, m;
	int k;

	htab_fix_init(&f, 18);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	n = htab_hdr(buf, 16381, 3, 0);
	for (k = 0; k < 3; k++)
		n += htab_hpte(buf + n, v[k], r[k]);
	ck_assert_int_eq(htab_wr(wr, buf, n), (ssize_t)n);
	rd = htab_open(f.vm, 0, 16380);
	m = htab_hdr(want, 16380, 0, 1);
	m += htab_hdr(want + m, 16381, 3, 0);
	for (k = 0; k < 3; k++)
		m += htab_hpte(want + m, (v[k] & ~0x20ULL) | 0x41,
			       r[k] & ~(1ULL << 62));
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), (ssize_t)m);
	ck_assert_mem_eq(buf, want, m);
	ks_release(rd);
	ks_release(wr);
	htab_fix_fini(&f);
}
END_TEST

/* A reader in a later pass after a grow: the moved bolted entry is
 * reported at its new index, the dropped non-bolted one not at all
 * (hpt.md §8.3, derived). */
START_TEST(test_commit_seen_by_reader)
{
	struct htab_fix f;
	struct ks_handle *rd;
	uint8_t buf[256], want[64];
	size_t n;

	htab_fix_init(&f, 18);
	rd = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 8);
	ck_assert_int_eq(enter_exact(f.vm, 15576, A_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 100, A_V & ~0x10ULL, A_R), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 20), 0);
	n = htab_hdr(want, 64728, 1, 0);
	n += htab_hpte(want + n, A_V | 0x40, A_R);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	ck_assert_int_eq(htab_rd(rd, buf, sizeof(buf)), 0);
	ks_release(rd);
	htab_fix_fini(&f);
}
END_TEST

/* The HPT ioctls behave the same on every ppc profile (M1). */
START_TEST(test_profiles_alike)
{
	static const char *const prof[] = { "ppc970", "power7", "power8" };
	struct ks_engine *eng = unit_engine(prof[_i]);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(htab_alloc(vm, 0), EINVAL);
	ck_assert_errno(htab_alloc(vm, 17), EINVAL);
	ck_assert_int_eq(htab_alloc(vm, 18), 0);
	ck_assert_int_eq(enter_exact(vm, 15576, A_V, A_R), 0);
	ck_assert_errno(rs(vm, KS_PPC_RESIZE_HPT_PREPARE, 1, 20), EINVAL);
	ck_assert_int_eq(prep(vm, 20), 100);
	pending_is(vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_errno(commit(vm, 20), EIO);
	htab_set_ready(vm, 1);
	ck_assert_int_eq(prep(vm, 20), 100);
	pending_is(vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(prep(vm, 20), 0);
	ck_assert_int_eq(commit(vm, 20), 0);
	ck_assert(htab_holds(vm, 64728, A_V, A_R));
	ks_release(vm);
	ck_assert_uint_eq(ks_mem_used(eng), 0);
	ks_engine_free(eng);
}
END_TEST

/*
 * Q19 taken to its end: a stream whose every 8-byte word is both a header
 * {0x100, 1, 0x101} and (big-endian) a VALID 4 KiB V word.  Each record's
 * successor header is read from its own HPTE, so the header cursor falls
 * behind the byte count by 16 bytes a record.  In one piece Linux's rules
 * consume it all.  In CUSE chunks the bytes behind the cursor must be held;
 * past one record plus one chunk (1179640 bytes) the chunk fails with
 * ENOMEM (kvmshim(7)), which the caller sees as a short count (D8).
 */
START_TEST(test_q19_lagging_cursor)
{
	static const uint8_t w[8] = { 0x00, 0x01, 0, 0, 1, 0, 1, 1 };
	const size_t total = 4u << 20, cap = 131072;
	struct htab_fix f;
	struct ks_handle *wr;
	uint8_t *buf = malloc(total);
	size_t k, off;

	ck_assert_ptr_nonnull(buf);
	for (k = 0; k < total; k += 8)
		memcpy(buf + k, w, 8);
	htab_fix_init(&f, 20);
	wr = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* whole: 24 bytes per record while nb + 16 <= count */
	ck_assert_int_eq(htab_wr(wr, buf, total), (ssize_t)total);
	ck_assert(htab_holds(f.vm, 0x100, 0x0001000001000101ULL,
			     0x0001000001000101ULL & ~(1ULL << 62)));
	ck_assert_uint_eq(htab_info(f.vm).valid, 1);
	ck_assert_int_eq(htab_remove(f.vm, 0x100), 0);
	/* chunked: after a chunk ending at E about E / 3 records are done and
	 * 2E / 3 bytes are held; 14 chunks is the first end past the limit */
	for (off = 0; off < 13 * cap; off += cap)
		ck_assert_int_eq(htab_wr_chunk(wr, buf + off, cap, off, 93),
				 (ssize_t)cap);
	ck_assert(htab_holds(f.vm, 0x100, 0x0001000001000101ULL,
			     0x0001000001000101ULL));
	ck_assert_errno(htab_wr_chunk(wr, buf + off, cap, off, 93), ENOMEM);
	/* the call is over: a continuation starts anew, nothing is held */
	ck_assert_int_eq(htab_wr_chunk(wr, buf, 24, off + cap, 93), 24);
	ks_release(wr);
	htab_fix_fini(&f);
	free(buf);
}
END_TEST

/* Example D at orders 33-35, where the 1 TiB hash's VSID << 25 term
 * reaches the PTEG number (hpt.md §4): the rehash must rebuild it. */
START_TEST(test_rehash_1tb_high_orders)
{
	struct htab_fix f;

	htab_fix_init(&f, 35);
	ck_assert_int_eq(htab_alloc(f.vm, 34), 0);
	/* order 34: primary 0x529F9B9, secondary 0x2D60646 */
	ck_assert_int_eq(enter_exact(f.vm, 693095880ULL + 3, D_V, A_R), 0);
	ck_assert_int_eq(enter_exact(f.vm, 380645936ULL + 5, D_V | VH, A_R), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 33), 100);
	pending_is(f.vm, 33, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 33), 0);
	/* order 33: primary 0x129F9B9 */
	ck_assert(htab_holds(f.vm, 156224968ULL + 3, D_V, A_R));
	ck_assert(htab_holds(f.vm, 380645936ULL + 5, D_V | VH, A_R));
	ck_assert_uint_eq(htab_info(f.vm).valid, 2);
	ck_assert_int_eq(prep(f.vm, 35), 100);
	pending_is(f.vm, 35, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 35), 0);
	/* order 35: primary 0xD29F9B9 */
	ck_assert(htab_holds(f.vm, 1766837704ULL + 3, D_V, A_R));
	ck_assert(htab_holds(f.vm, 380645936ULL + 5, D_V | VH, A_R));
	ck_assert_uint_eq(htab_info(f.vm).valid, 2);
	htab_fix_fini(&f);
}
END_TEST

/* A 16 MiB page on a 64 KiB base (LP 8, lphi 0) hashes by its base
 * shift 16: offset 0x0A000000 is page 0xA00, hash 0x123E56 (order 18:
 * PTEG 0x656, order 20: 0x1E56).  The actual shift 24 would give 0x12345C. */
START_TEST(test_rehash_uses_base_shift)
{
	const uint64_t r = 0x0000000013008012ULL;
	struct htab_fix f;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(enter_exact(f.vm, 0x656 * 8 + 6, C_V, r), 0);
	ck_assert_int_eq(
		enter_exact(f.vm, (0x7ff - 0x656) * 8 + 1, C_V | VH, r), 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(prep(f.vm, 20), 100);
	pending_is(f.vm, 20, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(f.vm, 20), 0);
	ck_assert(htab_holds(f.vm, 0x1e56 * 8 + 6, C_V, r));
	ck_assert(htab_holds(f.vm, (0x1fff - 0x1e56) * 8 + 1, C_V | VH, r));
	ck_assert_uint_eq(htab_info(f.vm).valid, 2);
	htab_fix_fini(&f);
}
END_TEST

Suite *suite_hpt_spec(void);
Suite *suite_hpt_spec(void)
{
	Suite *s = suite_create("hpt_spec");
	TCase *tc = tcase_create("spec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alloc_bad_orders_free_table);
	tcase_add_test(tc, test_alloc_check_order);
	tcase_add_test(tc, test_alloc_same_order_reset);
	tcase_add_test(tc, test_prepare_check_order);
	tcase_add_test(tc, test_prepare_sequences);
	tcase_add_test(tc, test_commit_check_order);
	tcase_add_test(tc, test_rehash_grow_examples);
	tcase_add_test(tc, test_rehash_shrink_collision);
	tcase_add_test(tc, test_rehash_misplaced_grow_collision);
	tcase_add_test(tc, test_rehash_undecodable);
	tcase_add_test(tc, test_read_no_hpt_and_huge_start);
	tcase_add_test(tc, test_read_space_boundaries);
	tcase_add_test(tc, test_write_examples);
	tcase_add_test(tc, test_write_record_checks);
	tcase_add_test(tc, test_write_mmu_ready_rules);
	tcase_add_test(tc, test_marks_survive_reader_close);
	tcase_add_test(tc, test_reset_and_later_pass);
	tcase_add_test(tc, test_write_memslot_alignment);
	tcase_add_test(tc, test_chunk_last_boundary);
	tcase_add_test(tc, test_chunk_ends_on_record);
	tcase_add_test(tc, test_abandoned_requests_free_memory);
	tcase_add_test(tc, test_write_read_round_trip);
	tcase_add_test(tc, test_commit_seen_by_reader);
	tcase_add_test(tc, test_q19_lagging_cursor);
	tcase_add_test(tc, test_rehash_1tb_high_orders);
	tcase_add_test(tc, test_rehash_uses_base_shift);
	tcase_add_loop_test(tc, test_profiles_alike, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
