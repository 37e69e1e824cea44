// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HPT through the real CUSE node: allocate, fill through the guest
 * simulation, prepare (polling as QEMU does), commit, read the entries
 * back, and the error paths of hpt.md §7-§8.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"
#include "lib/kvmcalls.h"

#define A_V 0x0000000123456a91ULL /* hpt.md §5 example A, bolted */
#define A_R 0x0000000012345012ULL
#define A2_V 0x0000000123456a11ULL /* page 0xA3CD */
#define B_V 0x0000000123456a95ULL /* 64 KiB */
#define B_R 0x0000000012341012ULL
#define C_V 0x0000000123456a15ULL /* 16 MiB */
#define C_R 0x0000000013000012ULL
#define D_V 0x40000abcde123411ULL /* 1 TiB segment */
#define H 0x2ULL
#define EXACT KVMSHIM_PPC_H_EXACT

static long alloc(int vm, uint32_t order)
{
	uint32_t o = order;
	long ret = e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&o);

	if (o != order)
		e2e_ok(false, "ALLOCATE_HTAB wrote %u back over %u", o, order);
	return ret;
}

static long resize(int vm, unsigned long cmd, uint64_t flags, uint32_t shift)
{
	struct ks_ppc_resize_hpt rh = { flags, shift, 0x5a5a5a5a };

	return e2e_ioctl(vm, cmd, (unsigned long)&rh);
}

static long prepare(int vm, uint32_t shift)
{
	return resize(vm, KS_PPC_RESIZE_HPT_PREPARE, 0, shift);
}

static long commit(int vm, uint32_t shift)
{
	return resize(vm, KS_PPC_RESIZE_HPT_COMMIT, 0, shift);
}

/* QEMU's loop: PREPARE every 100 ms until it is no longer 100. */
static long prepare_poll(int vm, uint32_t shift, int *polls)
{
	long ret = prepare(vm, shift);

	*polls = 1;
	while (ret == 100 && *polls < 100) {
		usleep(100000);
		ret = prepare(vm, shift);
		(*polls)++;
	}
	return ret;
}

static long enter(int vm, uint64_t flags, uint64_t idx, uint64_t v, uint64_t r,
		  uint64_t *out)
{
	struct kvmshim_ppc_hpte h = { flags, idx, v, r };
	long ret = e2e_ioctl(vm, KVMSHIM_PPC_H_ENTER, (unsigned long)&h);

	if (out)
		*out = h.index;
	return ret;
}

static struct kvmshim_ppc_entry entry(int vm, uint64_t idx)
{
	struct kvmshim_ppc_entry e = { .index = idx };

	if (e2e_ioctl(vm, KVMSHIM_PPC_READ_ENTRY, (unsigned long)&e))
		memset(&e, 0xff, sizeof(e));
	return e;
}

static bool holds(int vm, uint64_t idx, uint64_t v, uint64_t r)
{
	struct kvmshim_ppc_entry e = entry(vm, idx);

	return (e.flags & KVMSHIM_PPC_ENTRY_PRESENT) && e.v == v && e.r == r;
}

static bool empty(int vm, uint64_t idx)
{
	return entry(vm, idx).flags == 0;
}

static long worker(int vm, uint32_t mode)
{
	struct kvmshim_ppc_resize_worker w = { mode, 0 };

	return e2e_ioctl(vm, KVMSHIM_PPC_RESIZE_WORKER, (unsigned long)&w);
}

/* Allocate, fill, prepare, commit, read back. */
static void test_grow(int vm)
{
	struct kvmshim_ppc_info in;
	uint64_t idx, i;
	int polls;
	bool ok = true;

	e2e_is(alloc(vm, 18), 0, "ALLOCATE_HTAB(18)");
	in = e2e_ppc_info(vm);
	e2e_ok(in.order == 18 && in.npte == 16384 && in.valid == 0,
	       "an empty order-18 table");
	e2e_is(enter(vm, EXACT, 15576, A_V, A_R, NULL), 0,
	       "H_ENTER example A at its primary position");
	e2e_is(enter(vm, EXACT, 803, A_V | H, A_R, NULL), 0,
	       "H_ENTER example A at its secondary position");
	e2e_is(enter(vm, EXACT, 14161, B_V, B_R, NULL), 0, "H_ENTER 64 KiB");
	e2e_is(enter(vm, EXACT, 7452, C_V | H, C_R, NULL), 0,
	       "H_ENTER 16 MiB, secondary");
	e2e_is(enter(vm, EXACT, 3533, D_V, A_R, NULL), 0,
	       "H_ENTER 1 TiB segment");
	/* a whole PTEG through the free-slot search, not bolted */
	for (i = 0; i < 8; i++) {
		ok &= enter(vm, 0, 200 * 8 + 3, (A_V & ~0x10ULL) + (i << 7),
			    A_R, &idx) == 0 &&
		      idx == 1600 + i;
	}
	e2e_ok(ok, "H_ENTER without H_EXACT fills slots 0-7 in order");
	e2e_is(enter(vm, 0, 1600, A_V, A_R, NULL), -ENOSPC,
	       "H_ENTER into a full PTEG is ENOSPC (H_PTEG_FULL)");
	e2e_is(enter(vm, EXACT, 15576, A_V, A_R, NULL), -ENOSPC,
	       "H_ENTER with H_EXACT on an occupied slot is ENOSPC");
	e2e_is(enter(vm, 0, 16384, A_V, A_R, NULL), -EINVAL,
	       "H_ENTER beyond the table is EINVAL (H_PARAMETER)");
	e2e_is(enter(vm, 0, 0, A_V | 4, 0x2000, NULL), -EINVAL,
	       "H_ENTER with an undecodable page size is EINVAL");
	e2e_ok(holds(vm, 15576, A_V, A_R) &&
		       holds(vm, 1607, (A_V & ~0x10ULL) + (7ULL << 7), A_R),
	       "READ_ENTRY returns what was entered");
	e2e_is(e2e_ppc_info(vm).valid, 13, "13 entries are present");

	e2e_is(e2e_ioctl_u32(vm, KVMSHIM_PPC_SET_MMU_READY, 1), 0,
	       "MMU ready (a VRMA entry's effect)");
	e2e_is(prepare_poll(vm, 20, &polls), 0,
	       "PREPARE(20), polled every 100 ms, reaches 0");
	e2e_ok(polls >= 2, "the first PREPARE answered 100 (%d polls)", polls);
	e2e_is(commit(vm, 20), 0, "COMMIT(20)");
	in = e2e_ppc_info(vm);
	e2e_ok(in.order == 20 && in.valid == 5 && in.mmu_ready &&
		       in.resize_state == KVMSHIM_PPC_RESIZE_NONE,
	       "order 20, the 5 bolted entries, MMU ready, nothing pending");
	e2e_ok(holds(vm, 64728, A_V, A_R) && holds(vm, 803, A_V | H, A_R) &&
		       holds(vm, 63313, B_V, B_R) &&
		       holds(vm, 23836, C_V | H, C_R) &&
		       holds(vm, 52685, D_V, A_R),
	       "bolted entries moved where the hash puts them");
	e2e_ok(empty(vm, 15576) && empty(vm, 1600) && empty(vm, 1607),
	       "old positions and unbolted entries are empty");
	e2e_is(commit(vm, 20), -ENXIO, "a second COMMIT is ENXIO");
}

static void test_errors(int vm)
{
	struct kvmshim_ppc_entry raw = { .index = 5,
					 .v = 0x123456a05ULL,
					 .r = 0x2000 };
	struct kvmshim_ppc_hpte h = { 0, 48344, 0, 0 };
	struct kvmshim_vcpus vc = { 1, 1 };
	struct kvmshim_ppc_info in;
	int polls;

	/* the shrink collision of hpt.md §8.4 */
	e2e_is(alloc(vm, 20), 0, "ALLOCATE_HTAB(20)");
	enter(vm, EXACT, 64728, A_V, A_R, NULL);
	enter(vm, EXACT, 48344, A2_V, A_R, NULL);
	e2e_is(e2e_ioctl_u32(vm, KVMSHIM_PPC_SET_MMU_READY, 1), 0, "MMU ready");
	e2e_is(prepare_poll(vm, 18, &polls), 0, "PREPARE(18) ready");
	e2e_is(commit(vm, 18), -ENOSPC, "shrink collision: COMMIT is ENOSPC");
	in = e2e_ppc_info(vm);
	e2e_ok(in.order == 20 && in.valid == 2 && holds(vm, 64728, A_V, A_R) &&
		       holds(vm, 48344, A2_V, A_R),
	       "the old table is intact");
	e2e_is(in.resize_state, KVMSHIM_PPC_RESIZE_NONE,
	       "the request is released");
	e2e_is(e2e_ioctl(vm, KVMSHIM_PPC_H_REMOVE, (unsigned long)&h), 0,
	       "H_REMOVE one of them");
	e2e_ok(h.v == A2_V && h.r == A_R, "H_REMOVE returns the old words");
	prepare_poll(vm, 18, &polls);
	e2e_is(commit(vm, 18), 0, "now the shrink works");
	e2e_ok(holds(vm, 15576, A_V, A_R), "entry at its order-18 position");

	/* an undecodable entry */
	e2e_is(e2e_ioctl(vm, KVMSHIM_PPC_INSERT_RAW, (unsigned long)&raw), 0,
	       "INSERT_RAW an undecodable entry");
	prepare_poll(vm, 19, &polls);
	e2e_is(commit(vm, 19), -EIO, "COMMIT meets it: EIO");
	e2e_ok(e2e_ppc_info(vm).order == 18 && holds(vm, 5, raw.v, raw.r),
	       "the old table stays");

	/* argument checks and the rows that release */
	e2e_is(resize(vm, KS_PPC_RESIZE_HPT_PREPARE, 1, 20), -EINVAL,
	       "PREPARE with flags is EINVAL");
	e2e_is(prepare(vm, 17), -EINVAL, "PREPARE(17) is EINVAL");
	e2e_is(prepare(vm, 47), -EINVAL, "PREPARE(47) is EINVAL");
	e2e_is(e2e_ioctl(vm, KS_PPC_RESIZE_HPT_PREPARE, 8), -EFAULT,
	       "PREPARE with a bad pointer is EFAULT");
	e2e_is(commit(vm, 21), -ENXIO, "COMMIT with nothing pending: ENXIO");
	e2e_is(prepare(vm, 0), 0, "PREPARE(0) with nothing pending: 0");
	e2e_is(worker(vm, KVMSHIM_PPC_WORKER_HOLD), 0, "hold the worker");
	e2e_is(prepare(vm, 20), 100, "PREPARE(20) is 100");
	usleep(300000);
	e2e_is(prepare(vm, 20), 100, "still 100 while the worker is held");
	e2e_is(commit(vm, 20), -EBUSY, "COMMIT while allocating: EBUSY");
	e2e_is(e2e_ppc_info(vm).resize_state, KVMSHIM_PPC_RESIZE_NONE,
	       "EBUSY released the request");
	e2e_is(prepare(vm, 20), 100, "a new PREPARE starts over");
	e2e_is(e2e_ioctl(vm, KVMSHIM_PPC_RESIZE_RELEASE, 0), 1,
	       "release the held worker");
	e2e_is(prepare_poll(vm, 20, &polls), 0, "then PREPARE reaches 0");
	e2e_is(worker(vm, KVMSHIM_PPC_WORKER_NOW), 0, "worker back to normal");
	e2e_is(prepare(vm, 21), 100, "another order replaces the request");
	e2e_is(e2e_ppc_info(vm).resize_order, 21, "pending order is 21");

	/* ALLOCATE_HTAB: EBUSY, EFAULT, the order that frees first */
	e2e_is(e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&vc), 0,
	       "one vCPU running");
	e2e_is(alloc(vm, 18), -EBUSY,
	       "ALLOCATE_HTAB with running vCPUs: EBUSY");
	e2e_is(e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, 8), -EFAULT,
	       "ALLOCATE_HTAB with a bad pointer: EFAULT");
	vc.running = 0;
	e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&vc);
	e2e_is(alloc(vm, 18), 0, "same order again clears the table");
	in = e2e_ppc_info(vm);
	e2e_ok(in.order == 18 && in.valid == 0 && !in.mmu_ready &&
		       in.resize_order == 21,
	       "cleared, MMU not ready, the request kept");
	e2e_is(commit(vm, 21), -EIO, "COMMIT with the MMU not ready: EIO");
	e2e_is(e2e_ppc_info(vm).resize_state, KVMSHIM_PPC_RESIZE_NONE,
	       "EIO released the request");
	e2e_is(alloc(vm, 17), -EINVAL, "ALLOCATE_HTAB(17) is EINVAL");
	e2e_is(e2e_ppc_info(vm).order, 0, "and the old table is gone");
	e2e_is(alloc(vm, 35), -ENOMEM,
	       "ALLOCATE_HTAB above hpt_max_alloc_order: ENOMEM");
	/* powerpc encodings */
	{
		uint32_t o = 19;
		struct ks_ppc_resize_hpt rh = { 0, 20, 0 };

		e2e_is(e2e_ioctl(vm, 0xC004AEA7, (unsigned long)&o), 0,
		       "ALLOCATE_HTAB, powerpc encoding");
		e2e_is(e2e_ioctl(vm, 0x4010AEAD, (unsigned long)&rh), 100,
		       "RESIZE_HPT_PREPARE, powerpc encoding");
	}
	e2e_is(e2e_ioctl_u32(vm, KVMSHIM_PPC_RUN, 0), -EINVAL,
	       "first vCPU run without a memslot at 0: EINVAL");
}

/* A held worker on one VM neither blocks another nor the daemon's exit. */
static void test_two_vms(struct e2e_daemon *d)
{
	int vm1 = e2e_open(d->vm_path, O_RDWR);
	int vm2 = e2e_open(d->vm_path, O_RDWR);
	int polls;

	worker(vm1, KVMSHIM_PPC_WORKER_HOLD);
	alloc(vm1, 18);
	e2e_is(prepare(vm1, 19), 100, "VM 1: a held PREPARE");
	e2e_is(alloc(vm2, 18), 0, "VM 2: ALLOCATE_HTAB");
	e2e_is(prepare_poll(vm2, 19, &polls), 0, "VM 2: PREPARE completes");
	e2e_ioctl_u32(vm2, KVMSHIM_PPC_SET_MMU_READY, 1);
	e2e_is(commit(vm2, 19), 0, "VM 2: COMMIT");
	close(vm1);
	e2e_is(e2e_ppc_info(vm2).order, 19, "VM 2 lives on after VM 1 closed");
	close(vm2);
}

/* Spreads entries over an order-34 table until the budget says no. */
static uint64_t fill_until_enomem(int vm, long *ret)
{
	uint64_t i;

	*ret = 0;
	for (i = 0; i < 64; i++) {
		*ret = enter(vm, EXACT, i << 24, A_V, A_R, NULL);
		if (*ret)
			break;
	}
	return i;
}

/* The budget: a big table is cheap, filling it is bounded. */
static void test_budget(void)
{
	struct e2e_daemon d;
	uint64_t n, n2;
	int vm, polls;
	long ret;

	e2e_daemon_start(&d, "kvmshim-hpt-budget", "--memory-limit", "1M",
			 NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(alloc(vm, 34), 0, "order 34 (16 GiB) within a 1 MiB budget");
	n = fill_until_enomem(vm, &ret);
	e2e_is(ret, -ENOMEM, "entries spread over it run out: ENOMEM");
	e2e_ok(n > 1 && n < 64, "after %llu entries", (unsigned long long)n);
	e2e_is(e2e_ppc_info(vm).valid, n, "the failed entry was not stored");
	e2e_is(prepare(vm, 26), 100, "PREPARE(26) beyond the budget");
	e2e_is(prepare_poll(vm, 26, &polls), 0,
	       "is backed lazily and becomes ready");
	close(vm);
	/* CUSE sends the release after close() returns */
	usleep(300000);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(alloc(vm, 34), 0, "a new VM, a new order-34 table");
	n2 = fill_until_enomem(vm, &ret);
	e2e_is(n2, n, "the closed VM gave its memory back");
	close(vm);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon exits cleanly");
}

int main(void)
{
	struct e2e_daemon d;
	int vm;

	e2e_daemon_start(&d, "kvmshim-hpt", NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	test_grow(vm);
	close(vm);
	vm = e2e_open(d.vm_path, O_RDWR);
	test_errors(vm);
	close(vm);
	test_two_vms(&d);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon exits cleanly");
	test_budget();
	return e2e_done();
}
