/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* s390 CMMA model, migration mode and VM attributes (spec: cmma.md). */
#ifndef KVMSHIM_CORE_CMMA_H
#define KVMSHIM_CORE_CMMA_H

#include <stdbool.h>
#include <stdint.h>

#include "memslot.h"

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

/*
 * The guest executes a state-setting ESSA on each of count frames from
 * gfn (cmma.md §3): usage 0-3, NODAT 0 or 1.  Takes the VM lock.  Returns
 * 0, -ESRCH (no vCPU was ever created), -ENXIO (CMMA not enabled: the
 * guest would get an operation exception), -EFAULT (a frame is in no
 * memory slot: an addressing exception) or -ENOMEM; on error nothing
 * changed.
 */
int ks_cmma_guest_essa(struct ks_vm *vm, uint64_t gfn, uint64_t count,
		       unsigned int usage, bool nodat);

/* What the model holds, for tests and the status report. */
struct ks_cmma_info {
	bool use_cmma;
	bool uses_cmm;
	bool migration_mode;
	uint64_t dirty_count; /* Linux's counter, reported as "remaining" */
	uint64_t dirty_bits; /* bits set in the slots' CMMA bitmaps */
	uint64_t state_bytes; /* memory holding page states */
};

void ks_cmma_info(struct ks_vm *vm, struct ks_cmma_info *info);

/*
 * s390 side of a memory-slot change, called with the VM lock held
 * (generic.md §4.3 rows 11-12, cmma.md §5).  prepare may fail and then
 * changes nothing; commit cannot fail.  Neither is called for a delete,
 * which frees the slot's data with ks_cmma_slot_free().
 */
int ks_cmma_slot_prepare(struct ks_vm *vm, const struct ks_memslot *old,
			 struct ks_memslot *new, enum ks_mr_change change);
void ks_cmma_slot_commit(struct ks_vm *vm, const struct ks_memslot *old,
			 const struct ks_memslot *new,
			 enum ks_mr_change change);
void ks_cmma_slot_free(struct ks_vm *vm, struct ks_memslot *m);

#endif /* KVMSHIM_CORE_CMMA_H */
