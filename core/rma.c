// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the RMA pool lands. */
#include <errno.h>

#include "rma.h"

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
