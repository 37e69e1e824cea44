// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the HPT model lands: the ioctls are unknown. */
#include <errno.h>

#include "hpt.h"
#include "status.h"

int ks_hpt_vm_init(struct ks_vm *vm)
{
	(void)vm;
	return 0;
}

void ks_hpt_vm_destroy(struct ks_vm *vm)
{
	(void)vm;
}

long ks_ioctl_ppc_allocate_htab(struct ks_vm *vm, uint64_t arg,
				struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_ppc_resize_hpt_prepare(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_ppc_resize_hpt_commit(struct ks_vm *vm, uint64_t arg,
				    struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ppc_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		      struct ks_uctx *u)
{
	(void)vm, (void)cmd, (void)arg, (void)u;
	return -ENOTTY;
}

void ks_hpt_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	(void)vm, (void)st;
}
