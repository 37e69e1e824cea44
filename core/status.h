/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A snapshot of the engine for kvmshimctl status. */
#ifndef KVMSHIM_CORE_STATUS_H
#define KVMSHIM_CORE_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ks_engine;
struct ks_vm;

struct ks_vm_status {
	uint64_t id;
	pid_t creator_tgid;
	uint32_t vcpus_created;
	uint32_t vcpus_running;
	uint32_t memslots;
	/* ppc */
	unsigned int hpt_order; /* 0: no HPT */
	uint64_t hpt_valid; /* present entries */
	bool mmu_ready;
	unsigned int resize_order; /* 0: none pending */
	const char *resize_state; /* "allocating", "ready", "failed" */
	unsigned int htab_readers;
	unsigned int htab_writers;
	unsigned int rmas_held;
	uint64_t rma_bytes;
	/* s390 */
	bool cmma_enabled;
	bool uses_cmm;
	bool migration_mode;
	uint64_t cmma_dirty;
};

struct ks_engine_status {
	const char *profile;
	uint64_t mem_used;
	uint64_t mem_limit; /* 0: none */
	unsigned int vms;
	unsigned int rma_free;
	unsigned int rma_total;
	uint64_t rma_size;
};

/* Domain parts of a VM snapshot; each takes the VM lock itself. */
void ks_hpt_status(struct ks_vm *vm, struct ks_vm_status *st);
void ks_htab_status(struct ks_vm *vm, struct ks_vm_status *st);
void ks_cmma_status(struct ks_vm *vm, struct ks_vm_status *st);
void ks_rma_status(struct ks_vm *vm, struct ks_vm_status *st);
void ks_rma_pool_status(struct ks_engine *eng, struct ks_engine_status *st);

/*
 * Fills *st and calls fn for every live VM, in creation order of ids.
 * Returns the number of VMs reported.
 */
unsigned int
ks_engine_status(struct ks_engine *eng, struct ks_engine_status *st,
		 void (*fn)(void *opaque, const struct ks_vm_status *vs),
		 void *opaque);

#endif /* KVMSHIM_CORE_STATUS_H */
