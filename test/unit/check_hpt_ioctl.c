// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_PPC_ALLOCATE_HTAB, KVM_PPC_RESIZE_HPT_PREPARE / _COMMIT and the
 * first vCPU run, row by row (spec: hpt.md §7, §8), the resize worker, and
 * what several threads or a dying VM do to them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/hpt.h"
#include "core/internal.h"
#include "core/status.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define A_V 0x0000000123456a91ULL
#define A_R 0x0000000012345012ULL
#define A2_V 0x0000000123456a11ULL
#define B_V 0x0000000123456a95ULL
#define B_R 0x0000000012341012ULL
#define C_V 0x0000000123456a15ULL
#define C_R 0x0000000013000012ULL
#define D_V 0x40000abcde123411ULL
#define H KS_HPTE_V_SECONDARY
#define BAD_PTR 16 /* never readable (uaccess.c) */

struct fx {
	struct ks_engine *eng;
	struct ks_handle *h;
	struct ks_vm *vm;
};

static void fx_open_cfg(struct fx *f, const struct ks_engine_config *cfg)
{
	ck_assert_int_eq(ks_engine_new(cfg, &f->eng), 0);
	f->h = unit_open(f->eng, 1, UNIT_TGID);
	f->vm = f->h->vm;
}

static void fx_open(struct fx *f)
{
	struct ks_engine_config cfg;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	fx_open_cfg(f, &cfg);
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

static long alloc(struct fx *f, uint32_t order)
{
	uint32_t o = order;
	long ret = ioc(f, KS_PPC_ALLOCATE_HTAB, &o);

	/* never written back */
	ck_assert_uint_eq(o, order);
	return ret;
}

static long resize(struct fx *f, uint32_t cmd, uint64_t flags, uint32_t shift)
{
	struct ks_ppc_resize_hpt rh = { flags, shift, 0xdeadbeef };
	long ret = ioc(f, cmd, &rh);

	ck_assert_uint_eq(rh.shift, shift);
	return ret;
}

static long prepare(struct fx *f, uint32_t shift)
{
	return resize(f, KS_PPC_RESIZE_HPT_PREPARE, 0, shift);
}

static long commit(struct fx *f, uint32_t shift)
{
	return resize(f, KS_PPC_RESIZE_HPT_COMMIT, 0, shift);
}

/* Polls PREPARE as QEMU does (faster) until it stops saying 100. */
static long prepare_wait(struct fx *f, uint32_t shift)
{
	long ret;
	int i;

	for (i = 0; i < 10000; i++) {
		ret = prepare(f, shift);
		if (ret != 100)
			return ret;
		usleep(1000);
	}
	ck_abort_msg("PREPARE still busy after 10 s");
	return ret;
}

static struct kvmshim_ppc_info info(struct fx *f)
{
	struct kvmshim_ppc_info in;

	memset(&in, 0xff, sizeof(in));
	ck_assert_int_eq(ioc(f, KVMSHIM_PPC_INFO, &in), 0);
	return in;
}

/* Waits until the pending request leaves "allocating". */
static struct kvmshim_ppc_info info_settled(struct fx *f)
{
	struct kvmshim_ppc_info in;
	int i;

	for (i = 0; i < 10000; i++) {
		in = info(f);
		if (in.resize_state != KVMSHIM_PPC_RESIZE_ALLOCATING)
			return in;
		usleep(1000);
	}
	ck_abort_msg("resize still allocating after 10 s");
	return in;
}

static long enter(struct fx *f, uint64_t flags, uint64_t idx, uint64_t v,
		  uint64_t r)
{
	struct kvmshim_ppc_hpte h = { flags, idx, v, r };

	return ioc(f, KVMSHIM_PPC_H_ENTER, &h);
}

static struct kvmshim_ppc_entry entry(struct fx *f, uint64_t idx)
{
	struct kvmshim_ppc_entry e = { .index = idx };

	ck_assert_int_eq(ioc(f, KVMSHIM_PPC_READ_ENTRY, &e), 0);
	return e;
}

static void ck_present(struct fx *f, uint64_t idx, uint64_t v, uint64_t r)
{
	struct kvmshim_ppc_entry e = entry(f, idx);

	ck_assert_msg(e.flags & KVMSHIM_PPC_ENTRY_PRESENT,
		      "entry %llu is empty", (unsigned long long)idx);
	ck_assert_uint_eq(e.v, v);
	ck_assert_uint_eq(e.r, r);
}

static void ck_empty(struct fx *f, uint64_t idx)
{
	ck_assert(!(entry(f, idx).flags & KVMSHIM_PPC_ENTRY_PRESENT));
}

static long set_mmu(struct fx *f, uint32_t ready)
{
	return ioc(f, KVMSHIM_PPC_SET_MMU_READY, &ready);
}

static long set_vcpus(struct fx *f, uint32_t created, uint32_t running)
{
	struct kvmshim_vcpus v = { created, running };

	return ioc(f, KVMSHIM_SET_VCPUS, &v);
}

static long worker(struct fx *f, uint32_t mode, uint32_t delay_ms)
{
	struct kvmshim_ppc_resize_worker w = { mode, delay_ms };

	return ioc(f, KVMSHIM_PPC_RESIZE_WORKER, &w);
}

static long fail_alloc(struct fx *f, uint32_t which, uint32_t count)
{
	struct kvmshim_ppc_fail_alloc fa = { which, count };

	return ioc(f, KVMSHIM_PPC_FAIL_ALLOC, &fa);
}

static long run(struct fx *f)
{
	return unit_ioctl(f->h, KVMSHIM_PPC_RUN, 0);
}

/* A memory slot through KVM_SET_USER_MEMORY_REGION. */
static void add_slot(struct fx *f, uint64_t gpa, uint64_t size)
{
	struct ks_userspace_memory_region m = {
		.slot = (uint32_t)f->vm->slots.n,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = 0x7f0000000000ULL + gpa,
	};

	ck_assert_int_eq(
		unit_ioctl(f->h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m), 0);
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- KVM_PPC_ALLOCATE_HTAB ---- */

START_TEST(test_alloc_success_and_range)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	in = info(&f);
	ck_assert_uint_eq(in.order, 0);
	ck_assert_uint_eq(in.npte, 0);
	/* row 6a (M2): no HPT and order 0 */
	ck_assert_errno(alloc(&f, 0), EINVAL);
	ck_assert_int_eq(alloc(&f, 18), 0);
	in = info(&f);
	ck_assert_uint_eq(in.order, 18);
	ck_assert_uint_eq(in.npte, 16384);
	ck_assert_uint_eq(in.valid, 0);
	ck_assert_uint_eq(in.mmu_ready, 0);
	/* rows 7-8 (Q7): the old table goes first */
	ck_assert_errno(alloc(&f, 17), EINVAL);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_errno(alloc(&f, 47), EINVAL);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_errno(alloc(&f, 0x80000012), EINVAL);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_errno(alloc(&f, 0), EINVAL);
	ck_assert_uint_eq(info(&f).order, 0);
	/* the powerpc encoding of the same ioctl */
	{
		uint32_t o = 19;

		ck_assert_int_eq(ioc(&f, 0xC004AEA7, &o), 0);
		ck_assert_uint_eq(info(&f).order, 19);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_alloc_same_order_clears)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	readers(&f, 1);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 15576, A_V, A_R), 0);
	readers(&f, -1);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 14161, B_V, B_R), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(alloc(&f, 18), 0);
	in = info(&f);
	ck_assert_uint_eq(in.order, 18);
	ck_assert_uint_eq(in.valid, 0);
	ck_assert_uint_eq(in.mmu_ready, 0);
	/* the pending resize stays */
	ck_assert_uint_eq(in.resize_order, 20);
	/* row 6: entries empty, modified flags kept */
	ck_empty(&f, 15576);
	ck_empty(&f, 14161);
	ck_assert_uint_eq(entry(&f, 15576).flags, KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(entry(&f, 14161).flags, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_alloc_ebusy)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 15576, A_V, A_R), 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(set_vcpus(&f, 1, 1), 0);
	/* row 4 comes before any look at the order */
	ck_assert_errno(alloc(&f, 18), EBUSY);
	ck_assert_errno(alloc(&f, 17), EBUSY);
	ck_assert_errno(alloc(&f, 20), EBUSY);
	in = info(&f);
	ck_assert_uint_eq(in.order, 18);
	ck_assert_uint_eq(in.valid, 1);
	ck_assert_uint_eq(in.mmu_ready, 1);
	/* EFAULT still comes first */
	ck_assert_errno(unit_ioctl(f.h, KS_PPC_ALLOCATE_HTAB, BAD_PTR), EFAULT);
	/* vCPUs stopped: allowed, and the MMU is no longer ready */
	ck_assert_int_eq(set_vcpus(&f, 1, 0), 0);
	ck_assert_int_eq(alloc(&f, 19), 0);
	ck_assert_uint_eq(info(&f).mmu_ready, 0);
	/* running vCPUs without a ready MMU do not block it */
	ck_assert_int_eq(set_vcpus(&f, 2, 2), 0);
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_uint_eq(info(&f).order, 20);
	fx_close(&f);
}
END_TEST

START_TEST(test_alloc_nested_and_efault)
{
	struct ks_engine_config cfg;
	struct fx f;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power7"), 0);
	cfg.ppc_nested = true;
	fx_open_cfg(&f, &cfg);
	/* row 2 before row 3 */
	ck_assert_errno(alloc(&f, 20), EOPNOTSUPP);
	ck_assert_errno(unit_ioctl(f.h, KS_PPC_ALLOCATE_HTAB, BAD_PTR),
			EOPNOTSUPP);
	ck_assert_uint_eq(info(&f).order, 0);
	fx_close(&f);

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	ck_assert_errno(unit_ioctl(f.h, KS_PPC_ALLOCATE_HTAB, BAD_PTR), EFAULT);
	ck_assert_uint_eq(info(&f).order, 18);
	fx_close(&f);
}
END_TEST

START_TEST(test_alloc_enomem)
{
	struct ks_engine_config cfg;
	struct fx f;

	fx_open(&f);
	/* above hpt_max_alloc_order (34) */
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_errno(alloc(&f, 35), ENOMEM);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_int_eq(alloc(&f, 34), 0);
	ck_assert_uint_eq(info(&f).npte, 1ULL << 30);
	/* injected failures; an invalid order does not use one up */
	ck_assert_int_eq(fail_alloc(&f, KVMSHIM_PPC_FAIL_HTAB, 1), 0);
	ck_assert_errno(alloc(&f, 17), EINVAL);
	ck_assert_errno(alloc(&f, 20), ENOMEM);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_int_eq(alloc(&f, 20), 0);
	fx_close(&f);

	/* the memory budget cannot even hold the table's directory */
	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.memory_limit = 64;
	fx_open_cfg(&f, &cfg);
	ck_assert_errno(alloc(&f, 18), ENOMEM);
	fx_close(&f);

	/* a lower hpt_max_alloc_order */
	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.hpt_max_alloc_order = 20;
	fx_open_cfg(&f, &cfg);
	ck_assert_errno(alloc(&f, 21), ENOMEM);
	ck_assert_int_eq(alloc(&f, 20), 0);
	fx_close(&f);
}
END_TEST

/* ---- KVM_PPC_RESIZE_HPT_PREPARE ---- */

START_TEST(test_prepare_checks)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	/* no HPT and no ready MMU needed */
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_errno(unit_ioctl(f.h, KS_PPC_RESIZE_HPT_PREPARE, BAD_PTR),
			EFAULT);
	ck_assert_errno(resize(&f, KS_PPC_RESIZE_HPT_PREPARE, 1, 20), EINVAL);
	ck_assert_errno(resize(&f, KS_PPC_RESIZE_HPT_PREPARE, 1ULL << 63, 0),
			EINVAL);
	ck_assert_errno(prepare(&f, 17), EINVAL);
	ck_assert_errno(prepare(&f, 47), EINVAL);
	ck_assert_errno(prepare(&f, 1), EINVAL);
	/* none of these touched the pending request */
	in = info(&f);
	ck_assert_uint_eq(in.resize_order, 20);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_ALLOCATING);
	/* row 8: shift 0 cancels */
	ck_assert_int_eq(prepare(&f, 0), 0);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prepare(&f, 0), 0);
	/* the generic and powerpc encodings */
	{
		struct ks_ppc_resize_hpt rh = { 0, 19, 0 };

		ck_assert_int_eq(ioc(&f, 0x4010AEAD, &rh), 100);
		ck_assert_int_eq(ioc(&f, 0x8010AEAD, &rh), 100);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_prepare_async_ready)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	/* row 10, then rows 4/5 */
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	in = info(&f);
	ck_assert_uint_eq(in.resize_order, 20);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_uint_ge(in.mem_bytes, 1ULL << 20);
	ck_assert_int_eq(prepare(&f, 20), 0);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_READY);
	/* a same-size resize is allowed */
	ck_assert_int_eq(prepare(&f, 18), 100);
	ck_assert_int_eq(prepare_wait(&f, 18), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_prepare_hold_release)
{
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(unit_ioctl(f.h, KVMSHIM_PPC_RESIZE_RELEASE, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	usleep(50000);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_ALLOCATING);
	ck_assert_int_eq(unit_ioctl(f.h, KVMSHIM_PPC_RESIZE_RELEASE, 0), 1);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	/* the mode stays: the next request is held again */
	ck_assert_int_eq(prepare(&f, 21), 100);
	usleep(20000);
	ck_assert_int_eq(prepare(&f, 21), 100);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_NOW, 0), 0);
	ck_assert_int_eq(prepare(&f, 21), 100);
	ck_assert_int_eq(unit_ioctl(f.h, KVMSHIM_PPC_RESIZE_RELEASE, 0), 1);
	ck_assert_int_eq(prepare_wait(&f, 21), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_prepare_delay)
{
	double t0;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_DELAY, 200), 0);
	t0 = now();
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert(now() - t0 >= 0.2);
	fx_close(&f);
}
END_TEST

START_TEST(test_prepare_failure_reported_once)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(fail_alloc(&f, KVMSHIM_PPC_FAIL_RESIZE, 1), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	in = info_settled(&f);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_int_eq(in.resize_errno, ENOMEM);
	/* row 6: the error once, then the request is gone */
	ck_assert_errno(prepare(&f, 20), ENOMEM);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	/* above hpt_max_alloc_order, the worker fails too */
	ck_assert_int_eq(prepare(&f, 35), 100);
	ck_assert_errno(prepare_wait(&f, 35), ENOMEM);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	fx_close(&f);
}
END_TEST

START_TEST(test_prepare_replace_and_cancel)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	/* row 7: another order replaces it */
	ck_assert_int_eq(prepare(&f, 21), 100);
	in = info(&f);
	ck_assert_uint_eq(in.resize_order, 21);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_ALLOCATING);
	ck_assert_int_eq(prepare(&f, 0), 0);
	ck_assert_uint_eq(info(&f).resize_order, 0);
	/* a ready request is replaced too */
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_NOW, 0), 0);
	ck_assert_int_eq(prepare(&f, 22), 100);
	ck_assert_int_eq(prepare_wait(&f, 22), 0);
	ck_assert_int_eq(prepare(&f, 19), 100);
	ck_assert_int_eq(prepare_wait(&f, 19), 0);
	in = info(&f);
	ck_assert_uint_eq(in.resize_order, 19);
	/* only the order-19 table is held now */
	ck_assert_uint_lt(in.mem_bytes, 1ULL << 20);
	fx_close(&f);
}
END_TEST

/* ---- KVM_PPC_RESIZE_HPT_COMMIT ---- */

/* An order-18 HPT with the examples at their hash positions. */
static void fill18(struct fx *f)
{
	ck_assert_int_eq(alloc(f, 18), 0);
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 15576, A_V, A_R), 0);
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 803, A_V | H, A_R), 0);
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 14161, B_V, B_R), 0);
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 7452, C_V | H, C_R), 0);
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 3533, D_V, A_R), 0);
	/* not bolted: dropped by any resize */
	ck_assert_int_eq(enter(f, KVMSHIM_PPC_H_EXACT, 15577,
			       A_V & ~KS_HPTE_V_BOLTED, A_R),
			 0);
}

START_TEST(test_commit_arg_checks)
{
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert_errno(unit_ioctl(f.h, KS_PPC_RESIZE_HPT_COMMIT, BAD_PTR),
			EFAULT);
	ck_assert_errno(resize(&f, KS_PPC_RESIZE_HPT_COMMIT, 2, 20), EINVAL);
	ck_assert_errno(commit(&f, 17), EINVAL);
	ck_assert_errno(commit(&f, 47), EINVAL);
	/* rows 1-3 keep the request */
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_READY);
	ck_assert_int_eq(commit(&f, 20), 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_eio_mmu_not_ready)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert_errno(commit(&f, 20), EIO);
	in = info(&f);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(in.order, 18);
	ck_assert_uint_eq(in.valid, 6);
	ck_assert_uint_eq(in.mmu_ready, 0);
	/* even with nothing pending, EIO comes before ENXIO */
	ck_assert_errno(commit(&f, 0), EIO);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_enxio)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_errno(commit(&f, 20), ENXIO);
	ck_assert_errno(commit(&f, 0), ENXIO);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	/* the wrong order still releases the request */
	ck_assert_errno(commit(&f, 21), ENXIO);
	in = info(&f);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(in.mmu_ready, 1);
	ck_assert_uint_eq(in.order, 18);
	ck_assert_errno(commit(&f, 20), ENXIO);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert_errno(commit(&f, 0), ENXIO);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_ebusy_releases)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_errno(commit(&f, 20), EBUSY);
	in = info(&f);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(in.mmu_ready, 1);
	ck_assert_uint_eq(in.order, 18);
	/* the held worker discarded its request: a new one starts over */
	ck_assert_int_eq(unit_ioctl(f.h, KVMSHIM_PPC_RESIZE_RELEASE, 0), 0);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_NOW, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert_int_eq(commit(&f, 20), 0);
	ck_assert_uint_eq(info(&f).order, 20);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_failed_request)
{
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(fail_alloc(&f, KVMSHIM_PPC_FAIL_RESIZE, 1), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_uint_eq(info_settled(&f).resize_state,
			  KVMSHIM_PPC_RESIZE_FAILED);
	ck_assert_errno(commit(&f, 20), ENOMEM);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_assert_uint_eq(info(&f).order, 18);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_grow)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	ck_assert_int_eq(commit(&f, 20), 0);
	in = info(&f);
	ck_assert_uint_eq(in.order, 20);
	ck_assert_uint_eq(in.npte, 65536);
	ck_assert_uint_eq(in.valid, 5);
	ck_assert_uint_eq(in.mmu_ready, 1);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_present(&f, 64728, A_V, A_R);
	ck_present(&f, 803, A_V | H, A_R);
	ck_present(&f, 63313, B_V, B_R);
	ck_present(&f, 23836, C_V | H, C_R);
	ck_present(&f, 52685, D_V, A_R);
	ck_empty(&f, 15576);
	ck_empty(&f, 64729);
	ck_empty(&f, 15577);
	/* the request is gone: commit again is ENXIO */
	ck_assert_errno(commit(&f, 20), ENXIO);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_shrink_and_collision)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 20), 0);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 64728, A_V, A_R), 0);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 48344, A2_V, A_R), 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(prepare(&f, 18), 100);
	ck_assert_int_eq(prepare_wait(&f, 18), 0);
	ck_assert_errno(commit(&f, 18), ENOSPC);
	in = info(&f);
	ck_assert_uint_eq(in.order, 20);
	ck_assert_uint_eq(in.valid, 2);
	ck_assert_uint_eq(in.mmu_ready, 1);
	ck_assert_uint_eq(in.resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_present(&f, 64728, A_V, A_R);
	ck_present(&f, 48344, A2_V, A_R);
	/* without the second entry the shrink works */
	{
		struct kvmshim_ppc_hpte h = { 0, 48344, 0, 0 };

		ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_H_REMOVE, &h), 0);
	}
	ck_assert_int_eq(prepare(&f, 18), 100);
	ck_assert_int_eq(prepare_wait(&f, 18), 0);
	ck_assert_int_eq(commit(&f, 18), 0);
	ck_assert_uint_eq(info(&f).order, 18);
	ck_present(&f, 15576, A_V, A_R);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_eio_undecodable)
{
	struct kvmshim_ppc_entry raw = { .index = 5,
					 .v = 0x0000000123456a05ULL,
					 .r = 0x2000 };
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(ioc(&f, KVMSHIM_PPC_INSERT_RAW, &raw), 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(prepare(&f, 19), 100);
	ck_assert_int_eq(prepare_wait(&f, 19), 0);
	ck_assert_errno(commit(&f, 19), EIO);
	ck_assert_uint_eq(info(&f).order, 18);
	ck_assert_uint_eq(info(&f).valid, 7);
	ck_assert_uint_eq(info(&f).resize_state, KVMSHIM_PPC_RESIZE_NONE);
	ck_present(&f, 5, raw.v, raw.r);
	ck_present(&f, 15576, A_V, A_R);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_uses_current_table)
{
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(prepare(&f, 20), 100);
	ck_assert_int_eq(prepare_wait(&f, 20), 0);
	/* a new table of another order: the request stays */
	ck_assert_int_eq(alloc(&f, 19), 0);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 0xf9b * 8, A_V, A_R),
			 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(commit(&f, 20), 0);
	ck_assert_uint_eq(info(&f).valid, 1);
	ck_present(&f, 64728, A_V, A_R);
	fx_close(&f);
}
END_TEST

START_TEST(test_commit_keeps_modified)
{
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	readers(&f, 1);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 15576, A_V, A_R), 0);
	readers(&f, -1);
	ck_assert_int_eq(enter(&f, KVMSHIM_PPC_H_EXACT, 14161, B_V, B_R), 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(prepare(&f, 18), 100);
	ck_assert_int_eq(prepare_wait(&f, 18), 0);
	ck_assert_int_eq(commit(&f, 18), 0);
	ck_assert_uint_eq(entry(&f, 15576).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT |
				  KVMSHIM_PPC_ENTRY_MODIFIED);
	ck_assert_uint_eq(entry(&f, 14161).flags, KVMSHIM_PPC_ENTRY_PRESENT);
	fx_close(&f);
}
END_TEST

/* ---- the first vCPU run ---- */

START_TEST(test_first_run)
{
	struct kvmshim_ppc_info in;
	struct fx f;

	fx_open(&f);
	/* the default HPT is allocated before the memslot check */
	ck_assert_errno(run(&f), EINVAL);
	in = info(&f);
	ck_assert_uint_eq(in.order, 24);
	ck_assert_uint_eq(in.mmu_ready, 0);
	add_slot(&f, 0x10000000, 1 << 20);
	ck_assert_errno(run(&f), EINVAL);
	add_slot(&f, 0, 1 << 20);
	ck_assert_int_eq(run(&f), 0);
	ck_assert_uint_eq(info(&f).mmu_ready, 1);
	ck_assert_int_eq(run(&f), 0);
	/* an HPT the VMM chose is kept */
	ck_assert_int_eq(alloc(&f, 19), 0);
	ck_assert_int_eq(run(&f), 0);
	ck_assert_uint_eq(info(&f).order, 19);
	fx_close(&f);
}
END_TEST

START_TEST(test_first_run_smaller_orders)
{
	struct ks_engine_config cfg;
	struct fx f;

	fx_open(&f);
	add_slot(&f, 0, 1 << 20);
	ck_assert_int_eq(fail_alloc(&f, KVMSHIM_PPC_FAIL_HTAB, 3), 0);
	ck_assert_int_eq(run(&f), 0);
	ck_assert_uint_eq(info(&f).order, 21);
	fx_close(&f);

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.hpt_max_alloc_order = 20;
	fx_open_cfg(&f, &cfg);
	add_slot(&f, 0, 1 << 20);
	ck_assert_int_eq(run(&f), 0);
	ck_assert_uint_eq(info(&f).order, 20);
	fx_close(&f);

	cfg.hpt_max_alloc_order = 17;
	fx_open_cfg(&f, &cfg);
	add_slot(&f, 0, 1 << 20);
	ck_assert_errno(run(&f), ENOMEM);
	ck_assert_uint_eq(info(&f).order, 0);
	ck_assert_uint_eq(info(&f).mmu_ready, 0);
	fx_close(&f);
}
END_TEST

/*
 * The tables of hpt.md §7, §8.1 and §8.2 as a state machine, driven at
 * random with the worker held so that "allocating" lasts until released.
 */
struct rmodel {
	uint32_t cur; /* order of the HPT, 0: none */
	bool ready, running;
	uint32_t pend; /* order of the pending request, 0: none */
	uint32_t st; /* KVMSHIM_PPC_RESIZE_* of the pending request */
	uint32_t fails; /* injected resize failures to come */
};

static long m_prepare(struct rmodel *m, uint32_t s)
{
	if (s && (s < 18 || s > 46))
		return -EINVAL;
	if (m->pend && m->pend == s) {
		if (m->st == KVMSHIM_PPC_RESIZE_ALLOCATING)
			return 100;
		if (m->st == KVMSHIM_PPC_RESIZE_READY)
			return 0;
		m->pend = 0;
		return -ENOMEM;
	}
	m->pend = 0;
	if (!s)
		return 0;
	m->pend = s;
	m->st = KVMSHIM_PPC_RESIZE_ALLOCATING;
	return 100;
}

static long m_commit(struct rmodel *m, uint32_t s)
{
	long ret;

	if (s && (s < 18 || s > 46))
		return -EINVAL;
	if (!m->ready) {
		m->pend = 0;
		return -EIO;
	}
	if (!m->pend || m->pend != s)
		ret = -ENXIO;
	else if (m->st == KVMSHIM_PPC_RESIZE_ALLOCATING)
		ret = -EBUSY;
	else if (m->st == KVMSHIM_PPC_RESIZE_FAILED)
		ret = -ENOMEM;
	else
		ret = 0;
	if (!ret)
		m->cur = s;
	m->pend = 0;
	return ret;
}

static long m_alloc(struct rmodel *m, uint32_t o)
{
	if (m->ready && m->running)
		return -EBUSY;
	m->ready = false;
	if (m->cur && m->cur == o)
		return 0;
	m->cur = 0;
	if (o < 18 || o > 46)
		return -EINVAL;
	m->cur = o;
	return 0;
}

START_TEST(test_resize_state_machine)
{
	static const uint32_t shifts[] = { 0, 18, 19, 20, 17, 47, 19, 18 };
	static const uint32_t orders[] = { 0, 18, 19, 20, 17, 0x80000012 };
	uint64_t s = 0x243f6a8885a308d3ULL ^ (uint64_t)_i;
	struct rmodel m = { 0 };
	struct kvmshim_ppc_info in;
	struct fx f;
	int step;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	for (step = 0; step < 400; step++) {
		uint64_t x;
		uint32_t a;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		x = s;
		a = (uint32_t)(x >> 8);
		switch (x % 8) {
		case 0:
		case 1:
			ck_assert_int_eq(prepare(&f, shifts[a % 8]),
					 m_prepare(&m, shifts[a % 8]));
			break;
		case 2:
			ck_assert_int_eq(commit(&f, shifts[a % 8]),
					 m_commit(&m, shifts[a % 8]));
			break;
		case 3:
			ck_assert_int_eq(alloc(&f, orders[a % 6]),
					 m_alloc(&m, orders[a % 6]));
			break;
		case 4:
			/* the worker finishes what it holds */
			ck_assert_int_eq(
				unit_ioctl(f.h, KVMSHIM_PPC_RESIZE_RELEASE, 0),
				m.pend &&
					m.st == KVMSHIM_PPC_RESIZE_ALLOCATING);
			info_settled(&f);
			if (m.pend && m.st == KVMSHIM_PPC_RESIZE_ALLOCATING) {
				m.st = KVMSHIM_PPC_RESIZE_READY;
				if (m.fails) {
					m.fails--;
					m.st = KVMSHIM_PPC_RESIZE_FAILED;
				}
			}
			break;
		case 5:
			ck_assert_int_eq(set_mmu(&f, 1), m.cur ? 0 : -EINVAL);
			if (m.cur)
				m.ready = true;
			break;
		case 6:
			m.running = a & 1;
			ck_assert_int_eq(set_vcpus(&f, 1, m.running), 0);
			break;
		default:
			m.fails = a % 2;
			ck_assert_int_eq(fail_alloc(&f, KVMSHIM_PPC_FAIL_RESIZE,
						    m.fails),
					 0);
			break;
		}
		in = info(&f);
		ck_assert_msg(in.order == m.cur && in.mmu_ready == m.ready &&
				      in.resize_order == m.pend,
			      "step %d: order %u ready %u pending %u, model "
			      "%u %u %u",
			      step, in.order, in.mmu_ready, in.resize_order,
			      m.cur, m.ready, m.pend);
		if (m.pend) {
			ck_assert_uint_eq(in.resize_state, m.st);
			if (m.st == KVMSHIM_PPC_RESIZE_FAILED)
				ck_assert_uint_eq(in.resize_errno, ENOMEM);
		} else {
			ck_assert_uint_eq(in.resize_state,
					  KVMSHIM_PPC_RESIZE_NONE);
		}
	}
	fx_close(&f);
}
END_TEST

/* ---- lifetime and concurrency ---- */

START_TEST(test_destroy_with_waiting_worker)
{
	double t0;
	struct fx f;

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	t0 = now();
	ks_release(f.h);
	ck_assert(now() - t0 < 2.0);
	ck_assert_uint_eq(ks_mem_used(f.eng), 0);
	ks_engine_free(f.eng);

	fx_open(&f);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_DELAY, 600000), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	t0 = now();
	fx_close(&f);
	ck_assert(now() - t0 < 2.0);
}
END_TEST

START_TEST(test_destroy_while_allocating)
{
	struct fx f;
	int i;

	/* a large prepared table is allocated while the VM goes away */
	for (i = 0; i < 3; i++) {
		fx_open(&f);
		ck_assert_int_eq(prepare(&f, 26), 100);
		usleep((useconds_t)(i * 2000));
		fx_close(&f);
	}
	/* and requests replaced while allocating are discarded */
	fx_open(&f);
	ck_assert_int_eq(prepare(&f, 26), 100);
	ck_assert_int_eq(prepare(&f, 25), 100);
	ck_assert_int_eq(prepare(&f, 0), 0);
	ck_assert_int_eq(prepare(&f, 19), 100);
	ck_assert_int_eq(prepare_wait(&f, 19), 0);
	fx_close(&f);
}
END_TEST

struct stress {
	struct fx *f;
	unsigned int id;
	int errors;
};

/* Enters, checks and removes bolted entries in its own PTEGs. */
static void *stress_hcalls(void *arg)
{
	struct stress *s = arg;
	unsigned int i;

	for (i = 0; i < 300; i++) {
		uint64_t idx = (s->id * 64 + i % 64) * 8 + i % 8;
		uint64_t v = A_V + ((uint64_t)i << 7);
		struct kvmshim_ppc_hpte h = { KVMSHIM_PPC_H_EXACT, idx, v,
					      A_R };
		struct kvmshim_ppc_entry e = { .index = idx };

		if (unit_ioctl(s->f->h, KVMSHIM_PPC_H_ENTER, (uintptr_t)&h) ||
		    unit_ioctl(s->f->h, KVMSHIM_PPC_READ_ENTRY,
			       (uintptr_t)&e) ||
		    e.v != v) {
			s->errors++;
			continue;
		}
		h.flags = KVMSHIM_PPC_H_AVPN;
		h.v = v & ~0x7fULL;
		if (unit_ioctl(s->f->h, KVMSHIM_PPC_H_REMOVE, (uintptr_t)&h) ||
		    h.v != v)
			s->errors++;
	}
	return NULL;
}

/* Same-size resizes keep every bolted 4 KiB entry where it is. */
static void *stress_resize(void *arg)
{
	struct stress *s = arg;
	unsigned int i;

	for (i = 0; i < 20; i++) {
		long ret = prepare(s->f, 18);

		while (ret == 100)
			ret = prepare(s->f, 18);
		if (ret || commit(s->f, 18))
			s->errors++;
	}
	return NULL;
}

START_TEST(test_concurrent_ioctls_one_vm)
{
	struct stress s[5];
	pthread_t th[5];
	struct fx f;
	unsigned int i;

	fx_open(&f);
	ck_assert_int_eq(alloc(&f, 18), 0);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	for (i = 0; i < 5; i++) {
		s[i].f = &f;
		s[i].id = i;
		s[i].errors = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL,
						i < 4 ? stress_hcalls :
							stress_resize,
						&s[i]),
				 0);
	}
	for (i = 0; i < 5; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(s[i].errors, 0);
	}
	ck_assert_uint_eq(info(&f).valid, 0);
	ck_assert_uint_eq(info(&f).order, 18);
	fx_close(&f);
}
END_TEST

static void *hold_lock(void *arg)
{
	struct ks_vm *vm = arg;

	pthread_mutex_lock(&vm->lock);
	usleep(300000);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

START_TEST(test_other_vm_not_blocked)
{
	struct ks_handle *h2;
	struct fx f;
	pthread_t th;
	uint32_t o = 20;
	double t0;

	fx_open(&f);
	h2 = unit_open(f.eng, 1, UNIT_TGID);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	/* VM 1 busy for 300 ms */
	ck_assert_int_eq(pthread_create(&th, NULL, hold_lock, f.vm), 0);
	usleep(20000);
	t0 = now();
	ck_assert_int_eq(unit_ioctl(h2, KS_PPC_ALLOCATE_HTAB, (uintptr_t)&o),
			 0);
	{
		struct ks_ppc_resize_hpt rh = { 0, 21, 0 };

		ck_assert_int_eq(unit_ioctl(h2, KS_PPC_RESIZE_HPT_PREPARE,
					    (uintptr_t)&rh),
				 100);
	}
	ck_assert(now() - t0 < 0.2);
	pthread_join(th, NULL);
	ks_release(h2);
	fx_close(&f);
}
END_TEST

START_TEST(test_status_snapshot)
{
	struct ks_vm_status vs;
	struct fx f;

	fx_open(&f);
	fill18(&f);
	ck_assert_int_eq(set_mmu(&f, 1), 0);
	ck_assert_int_eq(worker(&f, KVMSHIM_PPC_WORKER_HOLD, 0), 0);
	ck_assert_int_eq(prepare(&f, 20), 100);
	memset(&vs, 0, sizeof(vs));
	ks_hpt_status(f.vm, &vs);
	ck_assert_uint_eq(vs.hpt_order, 18);
	ck_assert_uint_eq(vs.hpt_valid, 6);
	ck_assert(vs.mmu_ready);
	ck_assert_uint_eq(vs.resize_order, 20);
	ck_assert_str_eq(vs.resize_state, "allocating");
	fx_close(&f);
}
END_TEST

Suite *suite_hpt_ioctl(void);
Suite *suite_hpt_ioctl(void)
{
	Suite *s = suite_create("hpt_ioctl");
	TCase *tc = tcase_create("ioctls");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_alloc_success_and_range);
	tcase_add_test(tc, test_alloc_same_order_clears);
	tcase_add_test(tc, test_alloc_ebusy);
	tcase_add_test(tc, test_alloc_nested_and_efault);
	tcase_add_test(tc, test_alloc_enomem);
	tcase_add_test(tc, test_prepare_checks);
	tcase_add_test(tc, test_prepare_async_ready);
	tcase_add_test(tc, test_prepare_hold_release);
	tcase_add_test(tc, test_prepare_delay);
	tcase_add_test(tc, test_prepare_failure_reported_once);
	tcase_add_test(tc, test_prepare_replace_and_cancel);
	tcase_add_test(tc, test_commit_arg_checks);
	tcase_add_test(tc, test_commit_eio_mmu_not_ready);
	tcase_add_test(tc, test_commit_enxio);
	tcase_add_test(tc, test_commit_ebusy_releases);
	tcase_add_test(tc, test_commit_failed_request);
	tcase_add_test(tc, test_commit_grow);
	tcase_add_test(tc, test_commit_shrink_and_collision);
	tcase_add_test(tc, test_commit_eio_undecodable);
	tcase_add_test(tc, test_commit_uses_current_table);
	tcase_add_test(tc, test_commit_keeps_modified);
	tcase_add_loop_test(tc, test_resize_state_machine, 0, 6);
	tcase_add_test(tc, test_first_run);
	tcase_add_test(tc, test_first_run_smaller_orders);
	tcase_add_test(tc, test_destroy_with_waiting_worker);
	tcase_add_test(tc, test_destroy_while_allocating);
	tcase_add_test(tc, test_concurrent_ioctls_one_vm);
	tcase_add_test(tc, test_other_vm_not_blocked);
	tcase_add_test(tc, test_status_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
