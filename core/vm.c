// SPDX-License-Identifier: LGPL-2.1-or-later
/* VM lifetime and VM-fd ioctl routing (spec: generic.md §4). */
#include <errno.h>
#include <stdlib.h>

#include "cmma.h"
#include "hpt.h"
#include "htab.h"
#include "internal.h"
#include "rma.h"

static int vm_arch_init(struct ks_vm *vm)
{
	if (vm->eng->cfg.profile.arch == KS_ARCH_PPC)
		return ks_hpt_vm_init(vm);
	return ks_cmma_vm_init(vm);
}

static void vm_arch_destroy(struct ks_vm *vm)
{
	if (vm->eng->cfg.profile.arch == KS_ARCH_PPC) {
		ks_rma_vm_destroy(vm);
		ks_hpt_vm_destroy(vm);
	} else {
		ks_cmma_vm_destroy(vm);
	}
}

int ks_vm_create(struct ks_engine *eng, unsigned long type, pid_t creator,
		 struct ks_vm **out)
{
	struct ks_vm *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->eng = eng;
	vm->type = type;
	vm->creator_tgid = creator;
	atomic_init(&vm->refs, 1);
	pthread_mutex_init(&vm->lock, NULL);
	ret = vm_arch_init(vm);
	if (ret) {
		pthread_mutex_destroy(&vm->lock);
		free(vm);
		return ret;
	}
	pthread_mutex_lock(&eng->lock);
	vm->id = eng->next_vm_id++;
	vm->next = eng->vms;
	if (eng->vms)
		eng->vms->prev = vm;
	eng->vms = vm;
	pthread_mutex_unlock(&eng->lock);
	*out = vm;
	return 0;
}

void ks_vm_get(struct ks_vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
}

void ks_vm_put(struct ks_vm *vm)
{
	struct ks_engine *eng = vm->eng;

	if (atomic_fetch_sub(&vm->refs, 1) != 1)
		return;
	pthread_mutex_lock(&eng->lock);
	if (vm->prev)
		vm->prev->next = vm->next;
	else
		eng->vms = vm->next;
	if (vm->next)
		vm->next->prev = vm->prev;
	pthread_mutex_unlock(&eng->lock);
	vm_arch_destroy(vm);
	ks_memslots_free(vm);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int ks_vm_check_caller(const struct ks_vm *vm, const struct ks_caller *c)
{
	/* M4: a caller the daemon cannot see is not checked */
	if (!c->tgid || !vm->creator_tgid)
		return 0;
	return c->tgid == vm->creator_tgid ? 0 : -EIO;
}

static long vm_ioctl_ppc(struct ks_vm *vm, int id, uint64_t arg,
			 struct ks_uctx *u)
{
	switch (id) {
	case KS_IOCTL_PPC_ALLOCATE_HTAB:
		return ks_ioctl_ppc_allocate_htab(vm, arg, u);
	case KS_IOCTL_PPC_RESIZE_HPT_PREPARE:
		return ks_ioctl_ppc_resize_hpt_prepare(vm, arg, u);
	case KS_IOCTL_PPC_RESIZE_HPT_COMMIT:
		return ks_ioctl_ppc_resize_hpt_commit(vm, arg, u);
	case KS_IOCTL_PPC_GET_HTAB_FD:
		return ks_ioctl_ppc_get_htab_fd(vm, arg, u);
	case KS_IOCTL_ALLOCATE_RMA:
		if (!vm->eng->cfg.profile.has_rma)
			return -ENOTTY;
		return ks_ioctl_allocate_rma(vm, arg, u);
	}
	return -ENOTTY;
}

static long vm_ioctl_s390(struct ks_vm *vm, int id, uint64_t arg,
			  struct ks_uctx *u)
{
	switch (id) {
	case KS_IOCTL_S390_GET_CMMA_BITS:
		return ks_ioctl_s390_get_cmma_bits(vm, arg, u);
	case KS_IOCTL_S390_SET_CMMA_BITS:
		return ks_ioctl_s390_set_cmma_bits(vm, arg, u);
	case KS_IOCTL_SET_DEVICE_ATTR:
		return ks_ioctl_set_device_attr(vm, arg, u);
	case KS_IOCTL_GET_DEVICE_ATTR:
		return ks_ioctl_get_device_attr(vm, arg, u);
	case KS_IOCTL_HAS_DEVICE_ATTR:
		return ks_ioctl_has_device_attr(vm, arg, u);
	}
	return -ENOTTY;
}

long ks_vm_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg,
		 struct ks_uctx *u)
{
	struct ks_vm *vm = h->vm;
	const struct ks_profile *p = &vm->eng->cfg.profile;
	int id;
	long ret;

	ret = ks_vm_check_caller(vm, &u->caller);
	if (ret)
		return ret;
	id = ks_ioctl_decode(p, cmd);
	switch (id) {
	case KS_IOCTL_CHECK_EXTENSION:
		return ks_profile_cap(p, arg);
	case KS_IOCTL_SET_USER_MEMORY_REGION:
		return ks_ioctl_set_user_memory_region(vm, arg, u);
	}
	if (p->arch == KS_ARCH_PPC)
		return vm_ioctl_ppc(vm, id, arg, u);
	return vm_ioctl_s390(vm, id, arg, u);
}
