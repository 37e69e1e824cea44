/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* powerpc hashed page table model and its ioctls (spec: hpt.md). */
#ifndef KVMSHIM_CORE_HPT_H
#define KVMSHIM_CORE_HPT_H

#include <stdint.h>

struct ks_vm;
struct ks_uctx;

int ks_hpt_vm_init(struct ks_vm *vm);
void ks_hpt_vm_destroy(struct ks_vm *vm);

long ks_ioctl_ppc_allocate_htab(struct ks_vm *vm, uint64_t arg,
				struct ks_uctx *u);
long ks_ioctl_ppc_resize_hpt_prepare(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u);
long ks_ioctl_ppc_resize_hpt_commit(struct ks_vm *vm, uint64_t arg,
				    struct ks_uctx *u);

/* Guest simulation ioctls (KVMSHIM_PPC_*) on a ppc VM. */
long ks_ppc_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		      struct ks_uctx *u);

#endif /* KVMSHIM_CORE_HPT_H */
