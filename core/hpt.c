// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HPT of a ppc VM: KVM_PPC_ALLOCATE_HTAB, the RESIZE_HPT pair and its
 * worker, and the entry operations shared by the guest simulation and the
 * HTAB stream (spec: hpt.md §1, §6-§8).
 *
 * vm->lock plays the part of Linux's MMU setup lock: it serialises these
 * ioctls, HTAB writes and the guest simulation of one VM.  The resize
 * worker takes it only to look at and publish its request; it allocates
 * without it, as Linux's does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"

#include "hpt.h"
#include "internal.h"
#include "status.h"

/* RESIZE_HPT_PREPARE's "estimated milliseconds", always this literal (Q8) */
#define RESIZE_ESTIMATE_MS 100

static struct ks_hpt_state *state(const struct ks_vm *vm)
{
	return vm->hpt;
}

int ks_hpt_vm_init(struct ks_vm *vm)
{
	struct ks_hpt_state *st;
	pthread_condattr_t ca;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&st->cond, &ca)) {
		pthread_condattr_destroy(&ca);
		free(st);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	st->worker_mode = KS_HPT_WORKER_NOW;
	vm->hpt = st;
	return 0;
}

/*
 * Drops the pending request, like Linux's resize_hpt_release(): one the
 * worker is still allocating is left for the worker to free.
 */
static void resize_release(struct ks_hpt_state *st)
{
	struct ks_hpt_resize *rz = st->resize;

	if (!rz)
		return;
	st->resize = NULL;
	if (!(rz->error == -EBUSY && rz->taken)) {
		ks_hpt_table_free(rz->table);
		free(rz);
	}
	/* a waiting worker notices that its request is gone */
	pthread_cond_broadcast(&st->cond);
}

void ks_hpt_vm_destroy(struct ks_vm *vm)
{
	struct ks_hpt_state *st = state(vm);
	bool joinable;

	if (!st)
		return;
	pthread_mutex_lock(&vm->lock);
	st->dying = true;
	resize_release(st);
	joinable = st->worker_joinable;
	pthread_mutex_unlock(&vm->lock);
	/* the worker frees what it holds and exits; no one else can start one */
	if (joinable)
		pthread_join(st->worker, NULL);
	ks_hpt_table_free(st->cur);
	pthread_cond_destroy(&st->cond);
	free(st);
	vm->hpt = NULL;
}

/*
 * An HPT allocation (Linux's kvmppc_allocate_hpt): EINVAL outside 18-46,
 * ENOMEM above hpt_max_alloc_order, when a failure was injected, or when
 * the budget cannot cover the table's fixed cost.
 */
static int hpt_alloc(struct ks_vm *vm, uint32_t order, uint32_t *fail,
		     struct ks_hpt **out)
{
	*out = NULL;
	if (order < KS_HPT_MIN_ORDER || order > KS_HPT_MAX_ORDER)
		return -EINVAL;
	if (order > vm->eng->cfg.hpt_max_alloc_order)
		return -ENOMEM;
	if (*fail) {
		(*fail)--;
		return -ENOMEM;
	}
	return ks_hpt_table_new(vm->eng, order, false, out);
}

long ks_ioctl_ppc_allocate_htab(struct ks_vm *vm, uint64_t arg,
				struct ks_uctx *u)
{
	struct ks_hpt_state *st = state(vm);
	struct ks_hpt *t;
	uint32_t order;
	long ret;

	if (vm->eng->cfg.ppc_nested)
		return -EOPNOTSUPP;
	ret = ks_copy_from_user(u, &order, arg, sizeof(order));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;

	pthread_mutex_lock(&vm->lock);
	if (st->mmu_ready && vm->vcpus_running) {
		ret = -EBUSY;
		goto out;
	}
	st->mmu_ready = false;
	if (st->cur && st->cur->order == order) {
		/* QEMU's reset: clear the entries, keep the modified flags */
		ks_hpt_table_clear(st->cur);
		goto out;
	}
	/* Q7: the old table goes before the order is looked at */
	ks_hpt_table_free(st->cur);
	st->cur = NULL;
	ret = hpt_alloc(vm, order, &st->fail_htab, &t);
	if (!ret)
		st->cur = t;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* ---- the resize worker ---- */

/* Waits as the request's timing mode says; the VM lock is held. */
static void resize_wait(struct ks_vm *vm, struct ks_hpt_resize *rz)
{
	struct ks_hpt_state *st = state(vm);
	struct timespec until;

	if (rz->mode == KS_HPT_WORKER_NOW)
		return;
	if (rz->mode == KS_HPT_WORKER_DELAY) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += rz->delay_ms / 1000;
		until.tv_nsec += (long)(rz->delay_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	while (st->resize == rz && !st->dying) {
		if (rz->mode == KS_HPT_WORKER_HOLD) {
			if (st->release_gen != rz->release_gen)
				return;
			pthread_cond_wait(&st->cond, &vm->lock);
		} else if (pthread_cond_timedwait(&st->cond, &vm->lock,
						  &until) == ETIMEDOUT) {
			return;
		}
	}
}

/* Allocates the request's table without the VM lock, then publishes it. */
static void resize_allocate(struct ks_vm *vm, struct ks_hpt_resize *rz)
{
	struct ks_hpt_state *st = state(vm);
	struct ks_hpt *t = NULL;
	int err = 0;

	/* like Linux, a request that is no longer current is not allocated */
	if (st->resize == rz && !st->dying) {
		if (rz->order > vm->eng->cfg.hpt_max_alloc_order) {
			err = -ENOMEM;
		} else if (st->fail_resize) {
			st->fail_resize--;
			err = -ENOMEM;
		} else {
			pthread_mutex_unlock(&vm->lock);
			err = ks_hpt_table_new(vm->eng, rz->order, true, &t);
			pthread_mutex_lock(&vm->lock);
		}
	}
	if (st->resize == rz) {
		rz->error = err;
		rz->table = t;
	} else {
		/* cancelled or replaced meanwhile: the result is discarded */
		ks_hpt_table_free(t);
		free(rz);
	}
	pthread_cond_broadcast(&st->cond);
}

static void *resize_worker(void *arg)
{
	struct ks_vm *vm = arg;
	struct ks_hpt_state *st = state(vm);

	pthread_setname_np(pthread_self(), "kvmshim-resize");
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		struct ks_hpt_resize *rz = st->resize;

		if (st->dying || !rz || rz->taken || rz->error != -EBUSY)
			break;
		rz->taken = true;
		resize_wait(vm, rz);
		resize_allocate(vm, rz);
	}
	st->worker_running = false;
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* PREPARE row 10: a new request and a worker for it; 100 or -ENOMEM. */
static long resize_start(struct ks_vm *vm, uint32_t order)
{
	struct ks_hpt_state *st = state(vm);
	struct ks_hpt_resize *rz;

	rz = calloc(1, sizeof(*rz));
	if (!rz)
		return -ENOMEM;
	rz->order = order;
	rz->error = -EBUSY;
	rz->mode = st->worker_mode;
	rz->delay_ms = st->worker_delay_ms;
	rz->release_gen = st->release_gen;
	st->resize = rz;
	if (!st->worker_running) {
		/* the previous worker has decided to exit: collect it */
		if (st->worker_joinable)
			pthread_join(st->worker, NULL);
		st->worker_joinable = false;
		if (pthread_create(&st->worker, NULL, resize_worker, vm)) {
			st->resize = NULL;
			free(rz);
			return -ENOMEM;
		}
		st->worker_running = st->worker_joinable = true;
	}
	return RESIZE_ESTIMATE_MS;
}

/* Reads and checks the argument of both RESIZE_HPT ioctls. */
static long resize_arg(uint64_t arg, struct ks_uctx *u,
		       struct ks_ppc_resize_hpt *rh)
{
	long ret = ks_copy_from_user(u, rh, arg, sizeof(*rh));

	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	/* pad is ignored */
	if (rh->flags)
		return -EINVAL;
	if (rh->shift &&
	    (rh->shift < KS_HPT_MIN_ORDER || rh->shift > KS_HPT_MAX_ORDER))
		return -EINVAL;
	return 0;
}

long ks_ioctl_ppc_resize_hpt_prepare(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u)
{
	struct ks_hpt_state *st = state(vm);
	struct ks_ppc_resize_hpt rh;
	struct ks_hpt_resize *rz;
	long ret;

	ret = resize_arg(arg, u, &rh);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	rz = st->resize;
	if (rz) {
		if (rz->order == rh.shift) {
			if (rz->error == -EBUSY) {
				ret = RESIZE_ESTIMATE_MS;
			} else if (rz->error) {
				/* the failure is reported once, then forgotten */
				ret = rz->error;
				resize_release(st);
			}
			goto out;
		}
		resize_release(st);
	}
	if (rh.shift)
		ret = resize_start(vm, rh.shift);
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

long ks_ioctl_ppc_resize_hpt_commit(struct ks_vm *vm, uint64_t arg,
				    struct ks_uctx *u)
{
	struct ks_hpt_state *st = state(vm);
	struct ks_ppc_resize_hpt rh;
	struct ks_hpt_resize *rz;
	long ret;

	ret = resize_arg(arg, u, &rh);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	rz = st->resize;
	/* Linux warns: vCPUs cannot have asked for this without a ready MMU */
	if (!st->mmu_ready) {
		ret = -EIO;
		goto release;
	}
	st->mmu_ready = false;
	if (!rz || rz->order != rh.shift)
		ret = -ENXIO;
	else if (rz->error)
		ret = rz->error; /* -EBUSY while allocating */
	else
		ret = ks_hpt_table_rehash(st->cur, rz->table);
	if (!ret) {
		/* pivot: the old table goes with the request */
		struct ks_hpt *old = st->cur;

		st->cur = rz->table;
		rz->table = old;
	}
	st->mmu_ready = true;
release:
	/* Q8: every path from here on forgets the request */
	resize_release(st);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* ---- entry operations (vm->lock held) ---- */

struct ks_hpt *ks_hpt_cur(const struct ks_vm *vm)
{
	return vm->hpt ? vm->hpt->cur : NULL;
}

uint64_t ks_hpt_npte(const struct ks_vm *vm)
{
	const struct ks_hpt *t = ks_hpt_cur(vm);

	return t ? t->npte : 0;
}

bool ks_hpt_mmu_ready(const struct ks_vm *vm)
{
	return state(vm)->mmu_ready;
}

void ks_hpt_set_mmu_ready(struct ks_vm *vm, bool ready)
{
	state(vm)->mmu_ready = ready;
}

void ks_hpt_readers_inc(struct ks_vm *vm)
{
	state(vm)->readers++;
}

void ks_hpt_readers_dec(struct ks_vm *vm)
{
	if (state(vm)->readers)
		state(vm)->readers--;
}

/* The modified mark a change leaves: set only while a reader is open. */
static uint64_t mark(const struct ks_vm *vm)
{
	return state(vm)->readers ? KS_HPTE_GR_MODIFIED : 0;
}

bool ks_hpt_get(const struct ks_vm *vm, uint64_t idx, struct ks_hpte *e)
{
	const struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *p;

	memset(e, 0, sizeof(*e));
	if (!t || idx >= t->npte)
		return false;
	p = ks_hpt_table_entry(t, idx);
	if (p)
		*e = *p;
	return true;
}

bool ks_hpt_span(const struct ks_vm *vm, uint64_t idx, struct ks_hpt_span *sp)
{
	const struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpt_leaf *l;
	const struct ks_hpt_chunk *c;
	uint64_t end;

	memset(sp, 0, sizeof(*sp));
	if (!t || idx >= t->npte)
		return false;
	end = ((idx >> KS_HPT_CHUNK_SHIFT) + 1) << KS_HPT_CHUNK_SHIFT;
	sp->n = (end < t->npte ? end : t->npte) - idx;
	l = t->leaf[idx >> KS_HPT_LEAF_ENTRY_SHIFT];
	if (!l)
		return true;
	c = &l->c[(idx >> KS_HPT_CHUNK_SHIFT) & (KS_HPT_LEAF_CHUNKS - 1)];
	if (c->e)
		sp->e = c->e + (idx & (KS_HPT_CHUNK_ENTRIES - 1));
	sp->n_present = c->n_present;
	sp->n_dirty = c->n_dirty;
	return true;
}

uint64_t ks_hpt_next_dirty(const struct ks_vm *vm, uint64_t from)
{
	const struct ks_hpt *t = ks_hpt_cur(vm);

	return t ? ks_hpt_table_next_dirty(t, from) : 0;
}

uint64_t ks_hpt_next_present(const struct ks_vm *vm, uint64_t from)
{
	const struct ks_hpt *t = ks_hpt_cur(vm);

	return t ? ks_hpt_table_next_present(t, from) : 0;
}

/* Linux's slot_is_aligned(): a large page must lie wholly in its slot. */
static bool slot_aligned(const struct ks_vm *vm, const struct ks_memslot *s,
			 unsigned int pshift)
{
	uint64_t psize = 1ULL << pshift;

	if (psize <= vm->eng->cfg.profile.host_page_size)
		return true;
	return !(s->gpa & (psize - 1)) && !(s->size & (psize - 1));
}

/* hpt.md §6 rows 1-5: 0 or -EINVAL (the entry is rejected). */
static int enter_check(const struct ks_vm *vm, uint64_t v, uint64_t r)
{
	const struct ks_memslot *slot;
	unsigned int pshift;
	uint64_t gpa;

	if (v & KS_HPTE_V_B_RESERVED)
		return -EINVAL;
	pshift = ks_hpte_actual_shift(v, r);
	if (!pshift)
		return -EINVAL;
	gpa = (r & KS_HPTE_R_RPN) & ~((1ULL << pshift) - 1);
	slot = ks_memslot_by_gpa(&vm->slots, gpa);
	/* no memslot: emulated MMIO, stored all the same (M3) */
	if (slot && !slot_aligned(vm, slot, pshift))
		return -EINVAL;
	return 0;
}

/* hpt.md §6 row 6; an enter with no reader clears a stale mark (§1). */
static int enter_store(struct ks_vm *vm, uint64_t idx, uint64_t v, uint64_t r)
{
	v &= ~(KS_HPTE_V_HVLOCK | KS_HPTE_V_ABSENT);
	r &= ~KS_HPTE_GR_MODIFIED;
	return ks_hpt_table_set(ks_hpt_cur(vm), idx, v | KS_HPTE_V_VALID,
				r | mark(vm));
}

int ks_hpt_enter(struct ks_vm *vm, uint64_t idx, uint64_t v, uint64_t r)
{
	int ret = enter_check(vm, v, r);

	return ret ? ret : enter_store(vm, idx, v, r);
}

bool ks_hpt_remove(struct ks_vm *vm, uint64_t idx)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;

	if (!t || idx >= t->npte)
		return false;
	e = ks_hpt_table_entry(t, idx);
	if (!e || !ks_hpte_present(e))
		return false;
	/* the chunk is backed, so this cannot fail */
	ks_hpt_table_set(t, idx, 0, e->r | mark(vm));
	return true;
}

uint64_t ks_hpt_harvest_rc(struct ks_vm *vm, uint64_t idx)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;
	uint64_t bits;

	if (!t || idx >= t->npte)
		return 0;
	e = ks_hpt_table_entry(t, idx);
	if (!e)
		return 0;
	bits = ks_hpte_pending_rc(e);
	if (bits)
		ks_hpt_table_set(t, idx, e->v & ~KS_HPTE_PEND_MASK,
				 e->r | bits | mark(vm));
	return bits;
}

void ks_hpt_clear_modified(struct ks_vm *vm, uint64_t idx)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;

	if (!t || idx >= t->npte)
		return;
	e = ks_hpt_table_entry(t, idx);
	if (e && ks_hpte_modified(e))
		ks_hpt_table_set(t, idx, e->v, e->r & ~KS_HPTE_GR_MODIFIED);
}

int ks_hpt_set_hw_rc(struct ks_vm *vm, uint64_t idx, uint64_t bits)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;
	uint64_t pend = 0;

	if (!t || idx >= t->npte || (bits & ~(KS_HPTE_R_R | KS_HPTE_R_C)))
		return -EINVAL;
	e = ks_hpt_table_entry(t, idx);
	if (!e || !ks_hpte_present(e))
		return -ENOENT;
	/* bits the guest view already has are not news to harvest */
	bits &= ~e->r;
	if (bits & KS_HPTE_R_R)
		pend |= KS_HPTE_PEND_R;
	if (bits & KS_HPTE_R_C)
		pend |= KS_HPTE_PEND_C;
	return ks_hpt_table_set(t, idx, e->v | pend, e->r);
}

uint64_t ks_hpt_mem_bytes(const struct ks_vm *vm)
{
	const struct ks_hpt_state *st = state(vm);
	uint64_t n = st->cur ? st->cur->charged : 0;

	if (st->resize && st->resize->table)
		n += st->resize->table->charged;
	return n;
}

/* ---- the guest's hcalls ---- */

static bool idx_present(const struct ks_hpt *t, uint64_t idx)
{
	const struct ks_hpte *e = ks_hpt_table_entry(t, idx);

	return e && ks_hpte_present(e);
}

int ks_hpt_h_enter(struct ks_vm *vm, uint64_t flags, uint64_t *idx, uint64_t v,
		   uint64_t r)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	uint64_t i, base;
	int ret;

	if (flags & ~KVMSHIM_PPC_H_EXACT)
		return -EINVAL;
	/* hpt.md §6: the index and the slot come before the entry's checks */
	if (!t || *idx >= t->npte)
		return -EINVAL;
	if (flags & KVMSHIM_PPC_H_EXACT) {
		if (idx_present(t, *idx))
			return -ENOSPC;
		i = *idx;
	} else {
		base = *idx & ~(uint64_t)(KS_HPTES_PER_GROUP - 1);
		for (i = 0; i < KS_HPTES_PER_GROUP; i++)
			if (!idx_present(t, base + i))
				break;
		if (i == KS_HPTES_PER_GROUP)
			return -ENOSPC;
		i += base;
	}
	ret = enter_check(vm, v, r);
	if (ret)
		return ret;
	ret = enter_store(vm, i, v, r);
	if (!ret)
		*idx = i;
	return ret;
}

/* The entry H_REMOVE / H_PROTECT act on, or NULL for H_NOT_FOUND. */
static const struct ks_hpte *hcall_entry(const struct ks_hpt *t, uint64_t idx,
					 uint64_t flags, uint64_t avpn)
{
	const struct ks_hpte *e = ks_hpt_table_entry(t, idx);
	uint64_t v;

	if (!e || !ks_hpte_present(e))
		return NULL;
	v = ks_hpte_guest_v(e);
	if ((flags & KVMSHIM_PPC_H_AVPN) && (v & ~0x7fULL) != avpn)
		return NULL;
	if ((flags & KVMSHIM_PPC_H_ANDCOND) && (v & avpn))
		return NULL;
	return e;
}

int ks_hpt_h_remove(struct ks_vm *vm, uint64_t flags, uint64_t idx,
		    uint64_t avpn, uint64_t *v, uint64_t *r)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;

	if (flags & ~(KVMSHIM_PPC_H_AVPN | KVMSHIM_PPC_H_ANDCOND))
		return -EINVAL;
	if (!t || idx >= t->npte)
		return -EINVAL;
	e = hcall_entry(t, idx, flags, avpn);
	if (!e)
		return -ENOENT;
	*v = ks_hpte_guest_v(e);
	*r = ks_hpte_guest_r(e);
	ks_hpt_remove(vm, idx);
	return 0;
}

#define PROTECT_MASK                                                           \
	(KS_HPTE_R_PP0 | KS_HPTE_R_PP | KS_HPTE_R_N | KS_HPTE_R_KEY_HI |       \
	 KS_HPTE_R_KEY_LO)

int ks_hpt_h_protect(struct ks_vm *vm, uint64_t flags, uint64_t idx,
		     uint64_t avpn, uint64_t bits, uint64_t *r)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	const struct ks_hpte *e;
	uint64_t nr;

	if ((flags & ~KVMSHIM_PPC_H_AVPN) || (bits & ~PROTECT_MASK))
		return -EINVAL;
	if (!t || idx >= t->npte)
		return -EINVAL;
	e = hcall_entry(t, idx, flags, avpn);
	if (!e)
		return -ENOENT;
	nr = (e->r & ~PROTECT_MASK) | bits;
	ks_hpt_table_set(t, idx, e->v, nr | mark(vm));
	*r = nr & ~KS_HPTE_GR_MODIFIED;
	return 0;
}

int ks_hpt_first_run(struct ks_vm *vm)
{
	struct ks_hpt_state *st = state(vm);
	uint32_t order = KS_DEFAULT_HPT_ORDER;
	struct ks_hpt *t;
	int ret;

	if (st->mmu_ready)
		return 0;
	if (!st->cur) {
		/* userspace never chose a size: try smaller ones too */
		ret = hpt_alloc(vm, order, &st->fail_htab, &t);
		while (ret == -ENOMEM && --order >= KS_HPT_MIN_ORDER)
			ret = hpt_alloc(vm, order, &st->fail_htab, &t);
		if (ret)
			return ret;
		st->cur = t;
	}
	if (!ks_memslot_by_gpa(&vm->slots, 0))
		return -EINVAL;
	st->mmu_ready = true;
	return 0;
}

/* ---- status ---- */

void ks_hpt_status(struct ks_vm *vm, struct ks_vm_status *vs)
{
	struct ks_hpt_state *st = state(vm);

	if (!st)
		return;
	pthread_mutex_lock(&vm->lock);
	if (st->cur) {
		vs->hpt_order = st->cur->order;
		vs->hpt_valid = st->cur->n_present;
	}
	vs->mmu_ready = st->mmu_ready;
	if (st->resize) {
		vs->resize_order = st->resize->order;
		vs->resize_state = st->resize->error == -EBUSY ? "allocating" :
				   st->resize->error	       ? "failed" :
								 "ready";
	}
	pthread_mutex_unlock(&vm->lock);
}
