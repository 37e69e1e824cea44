// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The powerpc guest simulation ioctls (uapi/kvmshim/kvmshim.h, nr
 * 0x10-0x2f) and the entry operations the HTAB stream uses (spec: hpt.md
 * §1, §6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hpt.h"
#include "core/internal.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define A_V 0x0000000123456a91ULL
#define A_R 0x0000000012345012ULL
#define BAD_PTR 16

struct fx {
	struct ks_engine *eng;
	struct ks_handle *h;
	struct ks_vm *vm;
};

static void fx_open(struct fx *f, unsigned int order)
{
	f->eng = unit_engine("power8");
	f->h = unit_open(f->eng, 1, UNIT_TGID);
	f->vm = f->h->vm;
	if (order) {
		uint32_t o = order;

		ck_assert_int_eq(unit_ioctl(f->h, KS_PPC_ALLOCATE_HTAB,
					    (uintptr_t)&o),
				 0);
	}
}

static void fx_close(struct fx *f)
{
	ks_release(f->h);
	ck_assert_uint_eq(ks_mem_used(f->eng), 0);
	ks_engine_free(f->eng);
}

static long ioc(struct fx *f, uint32_t cmd, const void *arg)
{
	return unit_ioctl(f->h, cmd, (uint64_t)(uintptr_t)arg);
}

static long hcall(struct fx *f, uint32_t cmd, struct kvmshim_ppc_hpte *h,
		  uint64_t flags, uint64_t idx, uint64_t v, uint64_t r)
{
	h->flags = flags;
	h->index = idx;
	h->v = v;
	h->r = r;
	return ioc(f, cmd, h);
}

static long enter(struct fx *f, uint64_t flags, uint64_t idx, uint64_t v,
		  uint64_t r, uint64_t *out)
{
	struct kvmshim_ppc_hpte h;
	long ret = hcall(f, KVMSHIM_PPC_H_ENTER, &h, flags, idx, v, r);

	if (out)
		*out = h.index;
	return ret;
}

static struct kvmshim_ppc_entry entry(struct fx *f, uint64_t idx)
{
	struct kvmshim_ppc_entry e;

	memset(&e, 0xa5, sizeof(e));
	e.index = idx;
	ck_assert_int_eq(ioc(f, KVMSHIM_PPC_READ_ENTRY, &e), 0);
	ck_assert_uint_eq(e.index, idx);
	ck_assert_uint_eq(e.pad, 0);
	return e;
}

static bool modified(struct fx *f, uint64_t idx)
{
	return entry(f, idx).flags & KVMSHIM_PPC_ENTRY_MODIFIED;
}

static void readers(struct fx *f, int delta)
{
	pthread_mutex_lock(&f->vm->lock);
	if (delta > 0)
		ks_hpt_readers_inc(f->vm);
	else
		ks_hpt_readers_dec(f->vm);
	pthread_mutex_unlock(&f->vm->lock);
}

static struct kvmshim_ppc_info info(struct fx *f)
{
	struct kvmshim_ppc_info in;

	ck_assert_int_eq(ioc(f, KVMSHIM_PPC_INFO, &in), 0);
	return in;
}

/* Fills PTEG idx / 8 with 8 valid entries: 0 or the first error. */
static long pteg_fill(struct fx *f, uint64_t idx)
{
	uint64_t k;
	long ret = 0;

	for (k = 0; k < 8 && !ret; k++)
		ret = enter(f, KVMSHIM_PPC_H_EXACT, (idx & ~7ULL) + k,
			    A_V + (k << 7), A_R, NULL);
	return ret;
}

/* A fresh, empty order-18 table. */
static long fresh_table18(struct fx *f)
{
	uint32_t o = 18;

	/* a different order first, so that nothing (not even a mark) stays */
	ioc(f, KS_PPC_ALLOCATE_HTAB, &(uint32_t){ 19 });
	return ioc(f, KS_PPC_ALLOCATE_HTAB, &o);
}

START_TEST(test_h_enter_slots)
{
	uint64_t idx, i;
	struct fx f;

	fx_open(&f, 18);
	/* without H_EXACT the slot bits are ignored: first free slot */
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(
			enter(&f, 0, 15576 + 5, A_V + (i << 7), A_R, &idx), 0);
		ck_assert_uint_eq(idx, 15576 + i);
	}
	/* H_PTEG_FULL */
	ck_assert_errno(enter(&f, 0, 15576, A_V, A_R, NULL), ENOSPC);
	ck_assert_errno(enter(&f, KVMSHIM_PPC_H_EXACT, 15579, A_V, A_R, NULL),
			ENOSPC);
	/* a freed slot is found again */
	{
		struct kvmshim_ppc_hpte h;

		ck_assert_int_eq(
			hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 15581, 0, 0), 0);
	}
	ck_assert_int_eq(enter(&f, 0, 15583, A_V, A_R, &idx), 0);
	ck_assert_uint_eq(idx, 15581);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 7, A_V, A_R, &idx), 0);
	ck_assert_uint_eq(idx, 7);
	ck_assert_uint_eq(info(&f).valid, 9);
	fx_close(&f);
}
END_TEST

START_TEST(test_h_enter_checks)
{
	struct kvmshim_ppc_entry e;
	struct fx f;

	fx_open(&f, 0);
	ck_assert_errno(enter(&f, 0, 0, A_V, A_R, NULL), EINVAL);
	fx_close(&f);

	fx_open(&f, 18);
	ck_assert_errno(enter(&f, 0, 16384, A_V, A_R, NULL), EINVAL);
	ck_assert_errno(enter(&f, KVMSHIM_PPC_H_EXACT, 1ULL << 40, A_V, A_R,
			      NULL),
			EINVAL);
	/* B = 1x is reserved */
	ck_assert_errno(enter(&f, 0, 0, A_V | (1ULL << 63), A_R, NULL), EINVAL);
	ck_assert_errno(enter(&f, 0, 0, A_V | (3ULL << 62), A_R, NULL), EINVAL);
	/* undecodable page sizes */
	ck_assert_errno(enter(&f, 0, 0, A_V | KS_HPTE_V_LARGE, 0x2000, NULL),
			EINVAL);
	ck_assert_errno(enter(&f, 0, 0, A_V | KS_HPTE_V_LARGE, 0x10000, NULL),
			EINVAL);
	ck_assert_errno(enter(&f, 4, 0, A_V, A_R, NULL), EINVAL);
	ck_assert_errno(enter(&f, KVMSHIM_PPC_H_AVPN, 0, A_V, A_R, NULL),
			EINVAL);
	ck_assert_uint_eq(info(&f).valid, 0);
	/* the index and slot checks come before those of the entry (§6) */
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 100, A_V, A_R, NULL),
			 0);
	ck_assert_errno(enter(&f, KVMSHIM_PPC_H_EXACT, 100, A_V | (1ULL << 63),
			      A_R, NULL),
			ENOSPC);
	ck_assert_errno(enter(&f, KVMSHIM_PPC_H_EXACT, 100,
			      A_V | KS_HPTE_V_LARGE, 0x2000, NULL),
			ENOSPC);
	ck_assert_errno(enter(&f, 0, 16384, A_V | (1ULL << 63), A_R, NULL),
			EINVAL);
	ck_assert_int_eq(pteg_fill(&f, 200), 0);
	ck_assert_errno(enter(&f, 0, 203, A_V | KS_HPTE_V_LARGE, 0x2000, NULL),
			ENOSPC);
	ck_assert_uint_eq(info(&f).valid, 9);
	ck_assert_int_eq(fresh_table18(&f), 0);
	/* row 3: HVLOCK, ABSENT stripped, VALID set; R bit 62 stripped */
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 3, (A_V & ~1ULL) | 0x60,
			       A_R | KS_HPTE_GR_MODIFIED, NULL),
			 0);
	e = entry(&f, 3);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_uint_eq(e.v, A_V);
	ck_assert_uint_eq(e.r, A_R);
	ck_assert_uint_eq(e.rc, 0);
	/* every valid page size is accepted, 1 TiB segments too */
	ck_assert_int_eq(enter(&f, 0, 8, 0x0000000123456a95ULL,
			       0x0000000012341012ULL, NULL),
			 0);
	ck_assert_int_eq(enter(&f, 0, 8, 0x0000000123456a15ULL,
			       0x0000000013000012ULL, NULL),
			 0);
	ck_assert_int_eq(enter(&f, 0, 8, A_V | KS_HPTE_V_LARGE, 0x3000, NULL),
			 0);
	ck_assert_int_eq(enter(&f, 0, 8, 0x40000abcde123411ULL, A_R, NULL), 0);
	ck_assert_uint_eq(info(&f).valid, 5);
	fx_close(&f);
}
END_TEST

static void set_slot(struct fx *f, uint64_t gpa, uint64_t size)
{
	struct ks_userspace_memory_region m = {
		.slot = 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = 0x7f0000000000ULL,
	};

	/* delete the old slot 0, if any, then create it anew */
	m.memory_size = 0;
	unit_ioctl(f->h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m);
	m.memory_size = size;
	ck_assert_int_eq(
		unit_ioctl(f->h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
}

START_TEST(test_h_enter_memslot_alignment)
{
	/* a 16 MiB page at guest address 0x1000000 */
	uint64_t v16m = 0x0000000123456a15ULL, r16m = 0x0000000001000012ULL;
	/* a 64 KiB page (the host page size) and a 4 KiB one there */
	uint64_t v64k = 0x0000000123456a95ULL, r64k = 0x0000000001001012ULL;
	struct fx f;

	fx_open(&f, 18);
	/* size not a multiple of 16 MiB */
	set_slot(&f, 0x1000000, 0x1010000);
	ck_assert_errno(enter(&f, 0, 0, v16m, r16m, NULL), EINVAL);
	ck_assert_int_eq(enter(&f, 0, 8, v64k, r64k, NULL), 0);
	ck_assert_int_eq(enter(&f, 0, 16, A_V, 0x1003012, NULL), 0);
	/* outside every slot: emulated MMIO, stored (M3) */
	ck_assert_int_eq(enter(&f, 0, 24, v16m, 0x7000000012ULL, NULL), 0);
	/* an aligned slot takes the large page */
	set_slot(&f, 0x1000000, 0x2000000);
	ck_assert_int_eq(enter(&f, 0, 32, v16m, r16m, NULL), 0);
	/* base not aligned */
	set_slot(&f, 0x800000, 0x1800000);
	ck_assert_errno(enter(&f, 0, 40, v16m, r16m, NULL), EINVAL);
	fx_close(&f);
}
END_TEST

START_TEST(test_modified_marking)
{
	struct kvmshim_ppc_hpte h;
	struct fx f;

	fx_open(&f, 18);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 1, A_V, A_R, NULL), 0);
	ck_assert(!modified(&f, 1));
	ck_assert_uint_eq(info(&f).dirty, 0);
	readers(&f, 1);
	ck_assert_uint_eq(info(&f).readers, 1);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 2, A_V, A_R, NULL), 0);
	ck_assert(modified(&f, 2));
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, 1, 0, 2), 0);
	ck_assert(modified(&f, 1));
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 3, A_V, A_R, NULL), 0);
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 3, 0, 0), 0);
	ck_assert(modified(&f, 3));
	ck_assert_uint_eq(info(&f).dirty, 3);
	readers(&f, -1);
	/* without a reader, remove and protect never clear the mark */
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, 2, 0, 1), 0);
	ck_assert(modified(&f, 2));
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 2, 0, 0), 0);
	ck_assert(modified(&f, 2));
	/* but an enter does (§1) */
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 3, A_V, A_R, NULL), 0);
	ck_assert(!modified(&f, 3));
	/* nor does a reader closing */
	ck_assert(modified(&f, 1));
	ck_assert_uint_eq(info(&f).dirty, 2);
	fx_close(&f);
}
END_TEST

START_TEST(test_h_remove)
{
	struct kvmshim_ppc_hpte h;
	uint64_t avpn = A_V & ~0x7fULL;
	struct fx f;

	fx_open(&f, 18);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 16384, 0, 0),
			EINVAL);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 5, 0, 0),
			ENOENT);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, KVMSHIM_PPC_H_EXACT,
			      5, 0, 0),
			EINVAL);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 5, A_V, A_R, NULL), 0);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, KVMSHIM_PPC_H_AVPN,
			      5, avpn + 0x80, 0),
			ENOENT);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h,
			      KVMSHIM_PPC_H_ANDCOND, 5, KS_HPTE_V_BOLTED, 0),
			ENOENT);
	ck_assert_uint_eq(info(&f).valid, 1);
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h,
			       KVMSHIM_PPC_H_AVPN | KVMSHIM_PPC_H_ANDCOND, 5,
			       avpn, 0),
			 -ENOENT);
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, KVMSHIM_PPC_H_AVPN,
			       5, avpn, 0),
			 0);
	ck_assert_uint_eq(h.v, A_V);
	ck_assert_uint_eq(h.r, A_R);
	ck_assert_uint_eq(h.index, 5);
	ck_assert_uint_eq(info(&f).valid, 0);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 5, 0, 0),
			ENOENT);
	fx_close(&f);
}
END_TEST

START_TEST(test_h_protect)
{
	uint64_t bits = KS_HPTE_R_PP0 | KS_HPTE_R_KEY_HI | 0x600 | KS_HPTE_R_N |
			1;
	struct kvmshim_ppc_hpte h;
	struct fx f;

	fx_open(&f, 18);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, 9, 0, 1),
			ENOENT);
	ck_assert_int_eq(
		enter(&f, KVMSHIM_PPC_H_EXACT, 9, A_V, A_R | 0x180, NULL), 0);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, 9, 0,
			      KS_HPTE_R_R),
			EINVAL);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h,
			      KVMSHIM_PPC_H_ANDCOND, 9, 0, 1),
			EINVAL);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, 16384, 0, 1),
			EINVAL);
	ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, KVMSHIM_PPC_H_AVPN,
			      9, 0x80, 1),
			ENOENT);
	ck_assert_int_eq(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h,
			       KVMSHIM_PPC_H_AVPN, 9, A_V & ~0x7fULL, bits),
			 0);
	/* PP 2 -> 1, M and R/C kept */
	ck_assert_uint_eq(h.r, 0x0000000012345190ULL | bits);
	ck_assert_uint_eq(entry(&f, 9).r, h.r);
	ck_assert_uint_eq(entry(&f, 9).v, A_V);
	fx_close(&f);
}
END_TEST

START_TEST(test_set_rc_and_harvest)
{
	struct kvmshim_ppc_rc rc = { 4, KS_HPTE_R_R };
	struct kvmshim_ppc_entry e;
	struct fx f;

	fx_open(&f, 18);
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), ENOENT);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 4, A_V, A_R, NULL), 0);
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), 0);
	e = entry(&f, 4);
	ck_assert_uint_eq(e.rc, KS_HPTE_R_R);
	ck_assert_uint_eq(e.r, A_R);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT);
	/* unharvested bits make the entry dirty, not modified */
	ck_assert_uint_eq(info(&f).dirty, 1);
	rc.bits = 0x200;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), EINVAL);
	rc.index = 16384;
	rc.bits = KS_HPTE_R_C;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), EINVAL);

	pthread_mutex_lock(&f.vm->lock);
	ck_assert_uint_eq(ks_hpt_harvest_rc(f.vm, 4), KS_HPTE_R_R);
	ck_assert_uint_eq(ks_hpt_harvest_rc(f.vm, 4), 0);
	pthread_mutex_unlock(&f.vm->lock);
	e = entry(&f, 4);
	ck_assert_uint_eq(e.r, A_R | KS_HPTE_R_R);
	ck_assert_uint_eq(e.rc, 0);
	/* no reader: harvesting marked nothing */
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_uint_eq(info(&f).dirty, 0);
	/* a bit the guest view has is no news */
	rc.index = 4;
	rc.bits = KS_HPTE_R_R | KS_HPTE_R_C;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), 0);
	ck_assert_uint_eq(entry(&f, 4).rc, KS_HPTE_R_C);
	readers(&f, 1);
	pthread_mutex_lock(&f.vm->lock);
	ck_assert_uint_eq(ks_hpt_harvest_rc(f.vm, 4), KS_HPTE_R_C);
	pthread_mutex_unlock(&f.vm->lock);
	ck_assert(modified(&f, 4));
	readers(&f, -1);
	/* a new entry starts without pending bits */
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), 0);
	{
		struct kvmshim_ppc_hpte h;

		ck_assert_int_eq(
			hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, 4, 0, 0), 0);
	}
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 4, A_V, A_R, NULL), 0);
	ck_assert_uint_eq(entry(&f, 4).rc, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_read_entry_and_insert_raw)
{
	struct kvmshim_ppc_entry e = { .index = 16384 };
	struct fx f;

	fx_open(&f, 0);
	e.index = 0;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_READ_ENTRY, &e), EINVAL);
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &e), EINVAL);
	fx_close(&f);

	fx_open(&f, 18);
	e.index = 16384;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_READ_ENTRY, &e), EINVAL);
	e = entry(&f, 16383);
	ck_assert_uint_eq(e.flags, 0);
	ck_assert_uint_eq(e.v, 0);
	ck_assert_uint_eq(e.r, 0);
	ck_assert_uint_eq(e.rc, 0);
	/* no checks at all: a reserved B and an undecodable size */
	e.index = 100;
	e.flags = KVMSHIM_PPC_ENTRY_MODIFIED;
	e.v = (1ULL << 63) | 0x0000000123456a64ULL; /* VALID clear, HVLOCK */
	e.r = 0x2000 | KS_HPTE_GR_MODIFIED;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &e), 0);
	e = entry(&f, 100);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT |
					   KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(e.v, (1ULL << 63) | 0x0000000123456a05ULL);
	ck_assert_uint_eq(e.r, 0x2000);
	/* replaces what is there */
	e.flags = 0;
	e.v = A_V;
	e.r = A_R;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &e), 0);
	e = entry(&f, 100);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_uint_eq(e.v, A_V);
	ck_assert_uint_eq(info(&f).valid, 1);
	e.flags = 4;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &e), EINVAL);
	fx_close(&f);
}
END_TEST

START_TEST(test_control_validation)
{
	struct kvmshim_ppc_resize_worker w = { 3, 0 };
	struct kvmshim_ppc_fail_alloc fa = { 4, 1 };
	uint32_t ready = 1;
	struct fx f;

	fx_open(&f, 0);
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_MMU_READY, &ready), EINVAL);
	ready = 2;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_MMU_READY, &ready), EINVAL);
	ready = 0;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_MMU_READY, &ready), 0);
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_RESIZE_WORKER, &w), EINVAL);
	w.mode = KVMSHIM_PPC_WORKER_DELAY;
	w.delay_ms = 600001;
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_RESIZE_WORKER, &w), EINVAL);
	w.delay_ms = 600000;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_RESIZE_WORKER, &w), 0);
	ck_assert_errno(ioc(&f, KVMSHIM_PPC_FAIL_ALLOC, &fa), EINVAL);
	fa.which = KVMSHIM_PPC_FAIL_HTAB | KVMSHIM_PPC_FAIL_RESIZE;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_FAIL_ALLOC, &fa), 0);
	fa.count = 0;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_FAIL_ALLOC, &fa), 0);
	{
		uint32_t o = 18;

		ck_assert_int_eq(ioc(&f, KS_PPC_ALLOCATE_HTAB, &o), 0);
	}
	ready = 1;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_MMU_READY, &ready), 0);
	ck_assert_uint_eq(info(&f).mmu_ready, 1);
	/* bad pointers */
	ck_assert_errno(unit_ioctl(f.h, KVMSHIM_PPC_H_ENTER, BAD_PTR), EFAULT);
	ck_assert_errno(unit_ioctl(f.h, KVMSHIM_PPC_READ_ENTRY, BAD_PTR),
			EFAULT);
	ck_assert_errno(unit_ioctl(f.h, KVMSHIM_PPC_INFO, BAD_PTR), EFAULT);
	ck_assert_errno(unit_ioctl(f.h, KVMSHIM_PPC_SET_RC, BAD_PTR), EFAULT);
	fx_close(&f);
}
END_TEST

START_TEST(test_unknown_private_numbers)
{
	struct kvmshim_ppc_info in;
	struct ks_engine *eng;
	struct ks_handle *h;
	struct fx f;

	fx_open(&f, 18);
	ck_assert_errno(unit_ioctl(f.h, _IO(KVMSHIM_IO, 0x1f), 0), ENOTTY);
	ck_assert_errno(unit_ioctl(f.h, _IO(KVMSHIM_IO, 0x2f), 0), ENOTTY);
	/* the full number counts, not just nr */
	ck_assert_errno(unit_ioctl(f.h, _IOR(KVMSHIM_IO, 0x1b, __u64),
				   (uintptr_t)&in),
			ENOTTY);
	fx_close(&f);

	/* not on an s390 VM, nor on a system handle */
	eng = unit_engine("s390x");
	h = unit_open(eng, 1, UNIT_TGID);
	ck_assert_errno(unit_ioctl(h, KVMSHIM_PPC_INFO, (uintptr_t)&in),
			ENOTTY);
	ks_release(h);
	ks_engine_free(eng);
	eng = unit_engine("power8");
	h = unit_open(eng, 0, UNIT_TGID);
	ck_assert_errno(unit_ioctl(h, KVMSHIM_PPC_INFO, (uintptr_t)&in),
			ENOTTY);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_stream_api)
{
	struct ks_hpt_span sp;
	struct ks_hpte e;
	struct fx f;

	fx_open(&f, 0);
	pthread_mutex_lock(&f.vm->lock);
	ck_assert_uint_eq(ks_hpt_npte(f.vm), 0);
	ck_assert(!ks_hpt_get(f.vm, 0, &e));
	ck_assert(!ks_hpt_span(f.vm, 0, &sp));
	ck_assert(!ks_hpt_remove(f.vm, 0));
	pthread_mutex_unlock(&f.vm->lock);
	fx_close(&f);

	fx_open(&f, 18);
	pthread_mutex_lock(&f.vm->lock);
	ck_assert_uint_eq(ks_hpt_npte(f.vm), 16384);
	ck_assert(!ks_hpt_mmu_ready(f.vm));
	/* the checks of §6 without H_ENTER's slot logic */
	ck_assert_int_eq(ks_hpt_enter(f.vm, 5000, A_V, A_R), 0);
	ck_assert_int_eq(ks_hpt_enter(f.vm, 5001, A_V | (1ULL << 63), A_R),
			 -EINVAL);
	ck_assert_int_eq(ks_hpt_enter(f.vm, 5001, A_V | KS_HPTE_V_LARGE,
				      0x9000),
			 -EINVAL);
	ck_assert(ks_hpt_get(f.vm, 5000, &e));
	ck_assert(ks_hpte_present(&e) && !ks_hpte_dirty(&e));
	ck_assert(ks_hpt_get(f.vm, 5001, &e));
	ck_assert(!ks_hpte_present(&e));
	ck_assert_uint_eq(ks_hpt_next_present(f.vm, 0), 5000);
	ck_assert_uint_eq(ks_hpt_next_dirty(f.vm, 0), 16384);
	/* spans end at chunk boundaries, with the chunk's counts */
	ck_assert(ks_hpt_span(f.vm, 4100, &sp));
	ck_assert_uint_eq(sp.n, 8192 - 4100);
	ck_assert_uint_eq(sp.n_present, 1);
	ck_assert_uint_eq(sp.n_dirty, 0);
	ck_assert_ptr_nonnull(sp.e);
	ck_assert_uint_eq(sp.e[900].v, A_V);
	ck_assert(ks_hpt_span(f.vm, 16383, &sp));
	ck_assert_uint_eq(sp.n, 1);
	ck_assert_ptr_null(sp.e);
	ck_assert(!ks_hpt_span(f.vm, 16384, &sp));
	/* with a reader, removal marks; a report clears */
	ks_hpt_readers_inc(f.vm);
	ck_assert(ks_hpt_remove(f.vm, 5000));
	ck_assert(!ks_hpt_remove(f.vm, 5000));
	ck_assert_uint_eq(ks_hpt_next_dirty(f.vm, 0), 5000);
	ks_hpt_clear_modified(f.vm, 5000);
	ck_assert_uint_eq(ks_hpt_next_dirty(f.vm, 0), 16384);
	ks_hpt_readers_dec(f.vm);
	ks_hpt_readers_dec(f.vm); /* never below 0 */
	ks_hpt_set_mmu_ready(f.vm, true);
	ck_assert(ks_hpt_mmu_ready(f.vm));
	ck_assert_int_eq(ks_hpt_set_hw_rc(f.vm, 5000, KS_HPTE_R_R), -ENOENT);
	pthread_mutex_unlock(&f.vm->lock);
	ck_assert_uint_eq(info(&f).readers, 0);
	fx_close(&f);
}
END_TEST

/* Indices near 2^64 and the edges of an order-46 table, on a small budget. */
START_TEST(test_hostile_indices)
{
	static const uint64_t bad[] = { 1ULL << 42, (1ULL << 42) + 7,
					1ULL << 63, ~0ULL - 7, ~0ULL };
	const uint64_t last = (1ULL << 42) - 1;
	struct ks_engine_config cfg;
	struct kvmshim_ppc_entry e;
	struct kvmshim_ppc_hpte h;
	struct kvmshim_ppc_rc rc;
	uint64_t idx;
	uint32_t o = 46;
	unsigned int k;
	struct fx f;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.hpt_max_alloc_order = 46;
	cfg.memory_limit = 8 << 20;
	ck_assert_int_eq(ks_engine_new(&cfg, &f.eng), 0);
	f.h = unit_open(f.eng, 1, UNIT_TGID);
	f.vm = f.h->vm;
	ck_assert_int_eq(ioc(&f, KS_PPC_ALLOCATE_HTAB, &o), 0);
	ck_assert_uint_eq(info(&f).npte, 1ULL << 42);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_errno(enter(&f, 0, bad[k], A_V, A_R, NULL), EINVAL);
		ck_assert_errno(enter(&f, KVMSHIM_PPC_H_EXACT, bad[k], A_V, A_R,
				      NULL),
				EINVAL);
		ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_REMOVE, &h, 0, bad[k],
				      0, 0),
				EINVAL);
		ck_assert_errno(hcall(&f, KVMSHIM_PPC_H_PROTECT, &h, 0, bad[k],
				      0, 0),
				EINVAL);
		rc.index = bad[k];
		rc.bits = KS_HPTE_R_R;
		ck_assert_errno(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), EINVAL);
		memset(&e, 0, sizeof(e));
		e.index = bad[k];
		ck_assert_errno(ioc(&f, KVMSHIM_PPC_READ_ENTRY, &e), EINVAL);
		e.v = A_V;
		ck_assert_errno(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &e), EINVAL);
	}
	/* the last PTEG works, and so does its last slot */
	ck_assert_int_eq(enter(&f, 0, last, A_V, A_R, &idx), 0);
	ck_assert_uint_eq(idx, last - 7);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, last, A_V, A_R, NULL),
			 0);
	rc.index = last;
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_SET_RC, &rc), 0);
	ck_assert_uint_eq(entry(&f, last).rc, KS_HPTE_R_R);
	ck_assert_uint_eq(info(&f).valid, 2);
	/* entries spread over the table run into the budget, not a crash */
	for (k = 0, idx = 0; k < 64; k++, idx += 1ULL << 36) {
		long ret = enter(&f, KVMSHIM_PPC_H_EXACT, idx, A_V, A_R, NULL);

		if (ret) {
			ck_assert_errno(ret, ENOMEM);
			break;
		}
	}
	ck_assert_uint_lt(k, 64);
	ck_assert_uint_le(ks_mem_used(f.eng), 8 << 20);
	fx_close(&f);
}
END_TEST

Suite *suite_hpt_sim(void);
Suite *suite_hpt_sim(void)
{
	Suite *s = suite_create("hpt_sim");
	TCase *tc = tcase_create("guest simulation");

	tcase_add_test(tc, test_h_enter_slots);
	tcase_add_test(tc, test_h_enter_checks);
	tcase_add_test(tc, test_h_enter_memslot_alignment);
	tcase_add_test(tc, test_modified_marking);
	tcase_add_test(tc, test_h_remove);
	tcase_add_test(tc, test_h_protect);
	tcase_add_test(tc, test_set_rc_and_harvest);
	tcase_add_test(tc, test_read_entry_and_insert_raw);
	tcase_add_test(tc, test_control_validation);
	tcase_add_test(tc, test_unknown_private_numbers);
	tcase_add_test(tc, test_stream_api);
	tcase_add_test(tc, test_hostile_indices);
	suite_add_tcase(s, tc);
	return s;
}
