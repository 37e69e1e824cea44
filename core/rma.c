// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the RMA pool lands. */
#include <errno.h>

#include "rma.h"
#include "status.h"

int ks_rma_pool_init(struct ks_engine *eng)
{
	(void)eng;
	return 0;
}

void ks_rma_pool_free(struct ks_engine *eng)
{
	(void)eng;
}

void ks_rma_vm_destroy(struct ks_vm *vm)
{
	(void)vm;
}

long ks_ioctl_allocate_rma(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}

void ks_rma_status(struct ks_vm *vm, struct ks_vm_status *st)
{
	(void)vm, (void)st;
}

void ks_rma_pool_status(struct ks_engine *eng, struct ks_engine_status *st)
{
	(void)eng, (void)st;
}
