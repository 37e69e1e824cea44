// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memory-slot subset of KVM_SET_USER_MEMORY_REGION (spec: generic.md
 * §4.3), for both architectures.  The slots are kept in an array sorted by
 * guest physical address, so that lookups by address are binary searches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmma.h"
#include "internal.h"

/* KVM_MEM_MAX_NR_PAGES: page counts must fit in a signed 32-bit int */
#define KS_MEM_MAX_NR_PAGES ((1ULL << 31) - 1)

size_t ks_memslot_index_above(const struct ks_memslots *s, uint64_t x,
			      unsigned int shift)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks_memslot_end(&s->v[mid], shift) > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const struct ks_memslot *ks_memslot_by_gpa(const struct ks_memslots *s,
					   uint64_t gpa)
{
	size_t i = ks_memslot_index_above(s, gpa, 0);

	if (i < s->n && gpa >= s->v[i].gpa)
		return &s->v[i];
	return NULL;
}

static void slot_free_arch(struct ks_vm *vm, struct ks_memslot *m)
{
	if (vm->eng->cfg.profile.arch == KS_ARCH_S390)
		ks_cmma_slot_free(vm, m);
	m->arch = NULL;
}

void ks_memslots_free(struct ks_vm *vm)
{
	struct ks_memslots *s = &vm->slots;
	size_t i;

	for (i = 0; i < s->n; i++)
		slot_free_arch(vm, &s->v[i]);
	if (s->cap)
		ks_mem_uncharge(vm->eng, s->cap * sizeof(*s->v));
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static struct ks_memslot *slot_by_id(struct ks_memslots *s, uint32_t id,
				     size_t *idx)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i].id == id) {
			*idx = i;
			return &s->v[i];
		}
	}
	return NULL;
}

/* Room for one more slot, charged as model memory. */
static int slots_reserve(struct ks_vm *vm)
{
	struct ks_memslots *s = &vm->slots;
	size_t cap = s->cap ? s->cap * 2 : 8;
	struct ks_memslot *v;
	int ret;

	if (s->n < s->cap)
		return 0;
	ret = ks_mem_charge(vm->eng, (cap - s->cap) * sizeof(*v));
	if (ret)
		return ret;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v) {
		ks_mem_uncharge(vm->eng, (cap - s->cap) * sizeof(*v));
		return -ENOMEM;
	}
	s->v = v;
	s->cap = cap;
	return 0;
}

static void slots_remove(struct ks_memslots *s, size_t idx)
{
	memmove(&s->v[idx], &s->v[idx + 1], (s->n - idx - 1) * sizeof(*s->v));
	s->n--;
}

/* Inserts m at its place by gpa; the caller reserved the room. */
static void slots_insert(struct ks_memslots *s, const struct ks_memslot *m)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].gpa < m->gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(*s->v));
	s->v[lo] = *m;
	s->n++;
}

/* Does [gpa, gpa + size) meet a slot other than id? */
static bool slots_overlap(const struct ks_memslots *s, uint32_t id,
			  uint64_t gpa, uint64_t size)
{
	size_t i = ks_memslot_index_above(s, gpa, 0);

	for (; i < s->n && s->v[i].gpa < gpa + size; i++)
		if (s->v[i].id != id)
			return true;
	return false;
}

/* Rows 1-7 of the check table: everything that needs no slot state. */
static int region_check(const struct ks_profile *p,
			const struct ks_userspace_memory_region *m)
{
	uint64_t hps = p->host_page_size;

	if (m->flags & ~(KS_MEM_LOG_DIRTY_PAGES | KS_MEM_READONLY))
		return -EINVAL;
	if ((m->slot & 0xffff) >= p->user_mem_slots)
		return -EINVAL;
	/* neither s390 nor powerpc supports read-only memory */
	if (m->flags & KS_MEM_READONLY)
		return -EINVAL;
	if (m->memory_size % hps || m->guest_phys_addr % hps ||
	    m->userspace_addr % hps)
		return -EINVAL;
	/* s390's access_ok() accepts any range; powerpc's rejects a wrap */
	if (p->arch == KS_ARCH_PPC &&
	    m->userspace_addr + m->memory_size < m->userspace_addr)
		return -EINVAL;
	if (m->slot >> 16)
		return -EINVAL;
	if (m->guest_phys_addr + m->memory_size < m->guest_phys_addr)
		return -EINVAL;
	if (m->memory_size / hps > KS_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

static int region_delete(struct ks_vm *vm, size_t idx)
{
	struct ks_memslot old = vm->slots.v[idx];

	slots_remove(&vm->slots, idx);
	slot_free_arch(vm, &old);
	return 0;
}

static int region_set(struct ks_vm *vm,
		      const struct ks_userspace_memory_region *m)
{
	const struct ks_profile *p = &vm->eng->cfg.profile;
	bool s390 = p->arch == KS_ARCH_S390;
	struct ks_memslot *cur, old, new;
	enum ks_mr_change change;
	size_t idx = 0;
	int ret;

	ret = region_check(p, m);
	if (ret)
		return ret;
	cur = slot_by_id(&vm->slots, m->slot & 0xffff, &idx);
	if (!m->memory_size)
		return cur ? region_delete(vm, idx) : -EINVAL;
	if (!cur) {
		change = KS_MR_CREATE;
	} else {
		if (m->userspace_addr != cur->uaddr ||
		    m->memory_size != cur->size ||
		    ((m->flags ^ cur->flags) & KS_MEM_READONLY))
			return -EINVAL;
		if (m->guest_phys_addr != cur->gpa)
			change = KS_MR_MOVE;
		else if (m->flags != cur->flags)
			change = KS_MR_FLAGS_ONLY;
		else
			return 0;
	}
	if ((change == KS_MR_CREATE || change == KS_MR_MOVE) &&
	    slots_overlap(&vm->slots, m->slot & 0xffff, m->guest_phys_addr,
			  m->memory_size))
		return -EEXIST;
	if (change == KS_MR_CREATE) {
		ret = slots_reserve(vm);
		if (ret)
			return ret;
	}

	memset(&new, 0, sizeof(new));
	new.id = m->slot & 0xffff;
	new.flags = m->flags;
	new.gpa = m->guest_phys_addr;
	new.size = m->memory_size;
	new.uaddr = m->userspace_addr;
	if (cur)
		old = *cur;
	if (s390) {
		ret = ks_cmma_slot_prepare(vm, cur ? &old : NULL, &new, change);
		if (ret)
			return ret;
		ks_cmma_slot_commit(vm, cur ? &old : NULL, &new, change);
	}
	switch (change) {
	case KS_MR_CREATE:
		slots_insert(&vm->slots, &new);
		break;
	case KS_MR_MOVE:
		slots_remove(&vm->slots, idx);
		slots_insert(&vm->slots, &new);
		break;
	default:
		*cur = new;
		break;
	}
	return 0;
}

long ks_ioctl_set_user_memory_region(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u)
{
	struct ks_userspace_memory_region m;
	long ret;

	ret = ks_copy_from_user(u, &m, arg, sizeof(m));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	ret = region_set(vm, &m);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}
