// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the CMMA model lands: the ioctls are unknown. */
#include <errno.h>

#include "cmma.h"
#include "status.h"

int ks_cmma_vm_init(struct ks_vm *vm)
{
	(void)vm;
	return 0;
}

void ks_cmma_vm_destroy(struct ks_vm *vm)
{
	(void)vm;
}

long ks_ioctl_s390_get_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_s390_set_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_set_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_get_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_ioctl_has_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

long ks_s390_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		       struct ks_uctx *u)
{
	(void)vm, (void)cmd, (void)arg, (void)u;
	return -ENOTTY;
}

void ks_cmma_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	(void)vm, (void)st;
}
