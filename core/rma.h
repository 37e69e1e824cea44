/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KVM_ALLOCATE_RMA and the Real Mode Area pool (spec: rma.md). */
#ifndef KVMSHIM_CORE_RMA_H
#define KVMSHIM_CORE_RMA_H

#include <stdint.h>

struct ks_engine;
struct ks_vm;
struct ks_uctx;

int ks_rma_pool_init(struct ks_engine *eng);
void ks_rma_pool_free(struct ks_engine *eng);
/* The VM is being destroyed: its pool entries return (README M7). */
void ks_rma_vm_destroy(struct ks_vm *vm);

long ks_ioctl_allocate_rma(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u);

#endif /* KVMSHIM_CORE_RMA_H */
