// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder until the memory-slot model lands. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

const struct ks_memslot *ks_memslot_by_gpa(const struct ks_memslots *s,
					   uint64_t gpa)
{
	(void)s, (void)gpa;
	return NULL;
}

void ks_memslots_free(struct ks_vm *vm)
{
	free(vm->slots.v);
	vm->slots.v = NULL;
	vm->slots.n = vm->slots.cap = 0;
}

long ks_ioctl_set_user_memory_region(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u)
{
	(void)vm, (void)arg, (void)u;
	return -ENOTTY;
}
