/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest memory layout from KVM_SET_USER_MEMORY_REGION (generic.md §4.3).
 * Only the layout is kept; guest RAM is never touched.
 */
#ifndef KVMSHIM_CORE_MEMSLOT_H
#define KVMSHIM_CORE_MEMSLOT_H

#include <stddef.h>
#include <stdint.h>

struct ks_vm;
struct ks_uctx;

struct ks_memslot {
	uint32_t id; /* slot & 0xffff */
	uint32_t flags;
	uint64_t gpa; /* guest_phys_addr */
	uint64_t size; /* memory_size in bytes, never 0 */
	uint64_t uaddr; /* userspace_addr */
	void *arch; /* per-architecture data (s390: CMMA dirty bitmap) */
};

/* Slots sorted by gpa; they never overlap. */
struct ks_memslots {
	struct ks_memslot *v;
	size_t n;
	size_t cap;
};

/* What a KVM_SET_USER_MEMORY_REGION does to an existing layout. */
enum ks_mr_change {
	KS_MR_CREATE,
	KS_MR_DELETE,
	KS_MR_MOVE,
	KS_MR_FLAGS_ONLY,
};

/* The slot containing guest physical address gpa, or NULL. */
const struct ks_memslot *ks_memslot_by_gpa(const struct ks_memslots *s,
					   uint64_t gpa);

/*
 * Index of the first slot whose end lies above unit number x, where a
 * unit is 1 << shift bytes (shift 12: x is a 4 KiB frame number); s->n if
 * no slot ends above x.  Binary search: slots are sorted and disjoint, so
 * their ends are sorted too.
 */
size_t ks_memslot_index_above(const struct ks_memslots *s, uint64_t x,
			      unsigned int shift);

/* Frame numbers of a slot in units of 1 << shift bytes. */
static inline uint64_t ks_memslot_base(const struct ks_memslot *m,
				       unsigned int shift)
{
	return m->gpa >> shift;
}

static inline uint64_t ks_memslot_end(const struct ks_memslot *m,
				      unsigned int shift)
{
	return (m->gpa + m->size) >> shift;
}

void ks_memslots_free(struct ks_vm *vm);

long ks_ioctl_set_user_memory_region(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u);

#endif /* KVMSHIM_CORE_MEMSLOT_H */
