// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The powerpc guest simulation ioctls (KVMSHIM_PPC_*, nr 0x10-0x2f): what
 * a running guest and the hardware would do to the HPT, and the resize
 * worker's controls.  Layouts and errnos: uapi/kvmshim/kvmshim.h.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kvmshim/kvmshim.h"

#include "hpt.h"
#include "internal.h"

#define ASSERT_SIZE(type, size)                                                \
	_Static_assert(sizeof(struct type) == (size), #type " size")
ASSERT_SIZE(kvmshim_ppc_hpte, 32);
ASSERT_SIZE(kvmshim_ppc_rc, 16);
ASSERT_SIZE(kvmshim_ppc_entry, 40);
ASSERT_SIZE(kvmshim_ppc_resize_worker, 8);
ASSERT_SIZE(kvmshim_ppc_fail_alloc, 8);
ASSERT_SIZE(kvmshim_ppc_info, 56);
_Static_assert(offsetof(struct kvmshim_ppc_info, readers) == 40,
	       "kvmshim_ppc_info layout");

#define DELAY_MAX_MS 600000

/* Reads an in-struct and, for _IOWR, declares it as the out region. */
static long sim_args(struct ks_uctx *u, uint64_t arg, void *buf, size_t len,
		     bool out)
{
	long ret = ks_copy_from_user(u, buf, arg, len);

	if (!ret && out)
		ret = ks_want_to_user(u, arg, len);
	if (!ret)
		ret = ks_uctx_ready(u);
	return ret;
}

static long sim_hcall(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		      struct ks_uctx *u)
{
	struct kvmshim_ppc_hpte h;
	uint64_t idx, v, r;
	long ret;

	ret = sim_args(u, arg, &h, sizeof(h), true);
	if (ret)
		return ret;
	idx = h.index;
	v = h.v;
	r = h.r;
	pthread_mutex_lock(&vm->lock);
	if (cmd == KVMSHIM_PPC_H_ENTER)
		ret = ks_hpt_h_enter(vm, h.flags, &idx, v, r);
	else if (cmd == KVMSHIM_PPC_H_REMOVE)
		ret = ks_hpt_h_remove(vm, h.flags, idx, h.v, &v, &r);
	else
		ret = ks_hpt_h_protect(vm, h.flags, idx, h.v, h.r, &r);
	pthread_mutex_unlock(&vm->lock);
	if (ret)
		return ret;
	h.index = idx;
	h.v = v;
	h.r = r;
	return ks_copy_to_user(u, arg, &h, sizeof(h));
}

static long sim_set_rc(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_ppc_rc rc;
	long ret;

	ret = sim_args(u, arg, &rc, sizeof(rc), false);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = ks_hpt_set_hw_rc(vm, rc.index, rc.bits);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static long sim_read_entry(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_ppc_entry en;
	struct ks_hpte e;
	long ret;

	ret = sim_args(u, arg, &en, sizeof(en), true);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = ks_hpt_get(vm, en.index, &e) ? 0 : -EINVAL;
	pthread_mutex_unlock(&vm->lock);
	if (ret)
		return ret;
	en.flags = 0;
	en.pad = 0;
	en.v = en.r = en.rc = 0;
	if (ks_hpte_present(&e)) {
		en.flags |= KVMSHIM_PPC_ENTRY_PRESENT;
		en.v = ks_hpte_guest_v(&e);
		en.r = ks_hpte_guest_r(&e);
		en.rc = ks_hpte_pending_rc(&e);
	}
	if (ks_hpte_modified(&e))
		en.flags |= KVMSHIM_PPC_ENTRY_MODIFIED;
	return ks_copy_to_user(u, arg, &en, sizeof(en));
}

static long sim_insert_raw(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_ppc_entry en;
	struct ks_hpt *t;
	uint64_t v, r;
	long ret;

	ret = sim_args(u, arg, &en, sizeof(en), false);
	if (ret)
		return ret;
	if (en.flags &
	    ~(KVMSHIM_PPC_ENTRY_PRESENT | KVMSHIM_PPC_ENTRY_MODIFIED))
		return -EINVAL;
	v = (en.v & ~(KS_HPTE_V_HVLOCK | KS_HPTE_V_ABSENT)) | KS_HPTE_V_VALID;
	r = en.r & ~KS_HPTE_GR_MODIFIED;
	pthread_mutex_lock(&vm->lock);
	t = ks_hpt_cur(vm);
	if (!t || en.index >= t->npte) {
		ret = -EINVAL;
	} else {
		if ((en.flags & KVMSHIM_PPC_ENTRY_MODIFIED) || vm->hpt->readers)
			r |= KS_HPTE_GR_MODIFIED;
		ret = ks_hpt_table_set(t, en.index, v, r);
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static long sim_set_mmu_ready(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	uint32_t ready;
	long ret;

	ret = sim_args(u, arg, &ready, sizeof(ready), false);
	if (ret)
		return ret;
	if (ready > 1)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if (ready && !ks_hpt_cur(vm))
		ret = -EINVAL;
	else
		ks_hpt_set_mmu_ready(vm, ready);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static long sim_resize_worker(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_ppc_resize_worker w;
	long ret;

	ret = sim_args(u, arg, &w, sizeof(w), false);
	if (ret)
		return ret;
	if (w.mode > KVMSHIM_PPC_WORKER_HOLD ||
	    (w.mode == KVMSHIM_PPC_WORKER_DELAY && w.delay_ms > DELAY_MAX_MS))
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	vm->hpt->worker_mode =
		w.mode == KVMSHIM_PPC_WORKER_DELAY ? KS_HPT_WORKER_DELAY :
		w.mode == KVMSHIM_PPC_WORKER_HOLD  ? KS_HPT_WORKER_HOLD :
						     KS_HPT_WORKER_NOW;
	vm->hpt->worker_delay_ms =
		w.mode == KVMSHIM_PPC_WORKER_DELAY ? w.delay_ms : 0;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static long sim_resize_release(struct ks_vm *vm, struct ks_uctx *u)
{
	struct ks_hpt_state *st = vm->hpt;
	const struct ks_hpt_resize *rz;
	long ret;

	ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	rz = st->resize;
	ret = rz && rz->error == -EBUSY && rz->mode == KS_HPT_WORKER_HOLD &&
	      rz->release_gen == st->release_gen;
	st->release_gen++;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static long sim_fail_alloc(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_ppc_fail_alloc f;
	long ret;

	ret = sim_args(u, arg, &f, sizeof(f), false);
	if (ret)
		return ret;
	if (f.which & ~(KVMSHIM_PPC_FAIL_HTAB | KVMSHIM_PPC_FAIL_RESIZE))
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	if (f.which & KVMSHIM_PPC_FAIL_HTAB)
		vm->hpt->fail_htab = f.count;
	if (f.which & KVMSHIM_PPC_FAIL_RESIZE)
		vm->hpt->fail_resize = f.count;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static long sim_info(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	const struct ks_hpt_state *st = vm->hpt;
	struct kvmshim_ppc_info in;
	const struct ks_hpt *t;
	long ret;

	ret = ks_want_to_user(u, arg, sizeof(in));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	memset(&in, 0, sizeof(in));
	pthread_mutex_lock(&vm->lock);
	t = st->cur;
	if (t) {
		in.order = t->order;
		in.npte = t->npte;
		in.valid = t->n_present;
		in.dirty = t->n_dirty;
	}
	in.mmu_ready = st->mmu_ready;
	in.mem_bytes = ks_hpt_mem_bytes(vm);
	in.readers = st->readers;
	if (st->resize) {
		in.resize_order = st->resize->order;
		if (st->resize->error == -EBUSY) {
			in.resize_state = KVMSHIM_PPC_RESIZE_ALLOCATING;
		} else if (st->resize->error) {
			in.resize_state = KVMSHIM_PPC_RESIZE_FAILED;
			in.resize_errno = -st->resize->error;
		} else {
			in.resize_state = KVMSHIM_PPC_RESIZE_READY;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return ks_copy_to_user(u, arg, &in, sizeof(in));
}

static long sim_run(struct ks_vm *vm, struct ks_uctx *u)
{
	long ret = ks_uctx_ready(u);

	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = ks_hpt_first_run(vm);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

long ks_ppc_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		      struct ks_uctx *u)
{
	switch (cmd) {
	case KVMSHIM_PPC_H_ENTER:
	case KVMSHIM_PPC_H_REMOVE:
	case KVMSHIM_PPC_H_PROTECT:
		return sim_hcall(vm, cmd, arg, u);
	case KVMSHIM_PPC_SET_RC:
		return sim_set_rc(vm, arg, u);
	case KVMSHIM_PPC_READ_ENTRY:
		return sim_read_entry(vm, arg, u);
	case KVMSHIM_PPC_INSERT_RAW:
		return sim_insert_raw(vm, arg, u);
	case KVMSHIM_PPC_RUN:
		return sim_run(vm, u);
	case KVMSHIM_PPC_SET_MMU_READY:
		return sim_set_mmu_ready(vm, arg, u);
	case KVMSHIM_PPC_RESIZE_WORKER:
		return sim_resize_worker(vm, arg, u);
	case KVMSHIM_PPC_RESIZE_RELEASE:
		return sim_resize_release(vm, u);
	case KVMSHIM_PPC_FAIL_ALLOC:
		return sim_fail_alloc(vm, arg, u);
	case KVMSHIM_PPC_INFO:
		return sim_info(vm, arg, u);
	}
	return -ENOTTY;
}
