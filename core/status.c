// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "status.h"

static void vm_status(struct ks_vm *vm, struct ks_vm_status *vs)
{
	memset(vs, 0, sizeof(*vs));
	vs->id = vm->id;
	vs->creator_tgid = vm->creator_tgid;
	pthread_mutex_lock(&vm->lock);
	vs->vcpus_created = vm->vcpus_created;
	vs->vcpus_running = vm->vcpus_running;
	vs->memslots = (uint32_t)vm->slots.n;
	pthread_mutex_unlock(&vm->lock);
	if (vm->eng->cfg.profile.arch == KS_ARCH_PPC) {
		ks_hpt_status(vm, vs);
		ks_htab_status(vm, vs);
		ks_rma_status(vm, vs);
	} else {
		ks_cmma_status(vm, vs);
	}
}

/*
 * A reference to a VM on the engine's list, unless its last one is being
 * dropped: ks_vm_put() lowers the count to 0 before it takes the engine
 * lock to unlink the VM, which it then destroys.
 */
static bool vm_tryget(struct ks_vm *vm)
{
	int refs = atomic_load(&vm->refs);

	do {
		if (refs <= 0)
			return false;
	} while (!atomic_compare_exchange_weak(&vm->refs, &refs, refs + 1));
	return true;
}

unsigned int
ks_engine_status(struct ks_engine *eng, struct ks_engine_status *st,
		 void (*fn)(void *opaque, const struct ks_vm_status *vs),
		 void *opaque)
{
	struct ks_vm **vms = NULL, *vm;
	struct ks_vm_status vs;
	unsigned int n = 0, i;

	memset(st, 0, sizeof(*st));
	st->profile = eng->cfg.profile.name;
	st->mem_limit = eng->cfg.memory_limit;
	ks_rma_pool_status(eng, st);
	/* take references so that no VM lock is taken under the engine's */
	pthread_mutex_lock(&eng->lock);
	for (vm = eng->vms; vm; vm = vm->next)
		n++;
	vms = n ? calloc(n, sizeof(*vms)) : NULL;
	i = 0;
	for (vm = eng->vms; vm && vms; vm = vm->next)
		if (vm_tryget(vm))
			vms[i++] = vm;
	pthread_mutex_unlock(&eng->lock);
	n = i;
	/* the list is newest first */
	for (i = 0; i < n / 2; i++) {
		vm = vms[i];
		vms[i] = vms[n - 1 - i];
		vms[n - 1 - i] = vm;
	}
	for (i = 0; i < n; i++) {
		vm_status(vms[i], &vs);
		if (fn)
			fn(opaque, &vs);
		ks_vm_put(vms[i]);
	}
	free(vms);
	st->vms = n;
	st->mem_used = ks_mem_used(eng);
	return n;
}
