/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KVM_ALLOCATE_RMA and the Real Mode Area pool (spec: rma.md). */
#ifndef KVMSHIM_CORE_RMA_H
#define KVMSHIM_CORE_RMA_H

#include <stdbool.h>
#include <stdint.h>

struct ks_engine;
struct ks_vm;
struct ks_uctx;
struct ks_tokens;
enum ks_profile_id;

/*
 * Validates rma_size for the profile (-EINVAL with a log line: the daemon
 * will not start) and sets up the pool and the engine's token table.
 */
int ks_rma_pool_init(struct ks_engine *eng);
/* Stops the monitor, cancels pending tokens, returns every entry. */
void ks_rma_pool_free(struct ks_engine *eng);
/* The VM is being destroyed: its pool entries return (README M7). */
void ks_rma_vm_destroy(struct ks_vm *vm);

/* The plain ioctl on a VM fd (the VM-creator check is done by vm.c). */
long ks_ioctl_allocate_rma(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u);

/* An RMA size the profile's Linux accepted (rma.md §2). */
bool ks_rma_size_valid(enum ks_profile_id profile, uint64_t size);

/*
 * The engine's token table.  It lives in the pool object because the
 * pool's monitor thread also drives token expiry.
 */
struct ks_tokens *ks_engine_tokens(struct ks_engine *eng);
/* A token was issued: start the monitor if needed, re-arm its timeout. */
void ks_rma_monitor_kick(struct ks_engine *eng);

#endif /* KVMSHIM_CORE_RMA_H */
