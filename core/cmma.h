/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* s390 CMMA model, migration mode and VM attributes (spec: cmma.md). */
#ifndef KVMSHIM_CORE_CMMA_H
#define KVMSHIM_CORE_CMMA_H

#include <stdint.h>

struct ks_vm;
struct ks_uctx;

int ks_cmma_vm_init(struct ks_vm *vm);
void ks_cmma_vm_destroy(struct ks_vm *vm);

long ks_ioctl_s390_get_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u);
long ks_ioctl_s390_set_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u);
long ks_ioctl_set_device_attr(struct ks_vm *vm, uint64_t arg,
			      struct ks_uctx *u);
long ks_ioctl_get_device_attr(struct ks_vm *vm, uint64_t arg,
			      struct ks_uctx *u);
long ks_ioctl_has_device_attr(struct ks_vm *vm, uint64_t arg,
			      struct ks_uctx *u);

/* Guest simulation ioctls (KVMSHIM_S390_*) on an s390 VM. */
long ks_s390_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		       struct ks_uctx *u);

#endif /* KVMSHIM_CORE_CMMA_H */
