// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One hashed page table: page-size decoding, the hash, sparse storage and
 * the rehash (spec: hpt.md §2-§5, §8.3).
 *
 * A table of order o holds 2^(o-4) entries.  Orders up to 46 (2^42
 * entries) must cost almost nothing until used, so entries live in chunks
 * of 4096 (64 KiB) that are backed on first write, under leaf directories
 * of 4096 chunks that are allocated on first use; only the top directory
 * (one pointer per 2^24 entries, 2 MiB at order 46) is paid up front.
 * Every chunk, leaf and the table itself keep counts of present and dirty
 * entries, so iteration skips empty or clean regions whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "hpt.h"

/* base shift in bits 0-7, actual shift in bits 8-15; 0 = invalid */
static inline unsigned int hpte_shifts(uint64_t v, uint64_t r)
{
	unsigned int lp, lphi;

	if (!(v & KS_HPTE_V_LARGE))
		return 12 | 12 << 8;
	lp = (r >> 12) & 0xf;
	lphi = (r >> 16) & 0xf;
	switch (lp) {
	case 0: /* 16 MiB */
		return lphi ? 0 : 24 | 24 << 8;
	case 1: /* 64 KiB */
		return 16 | 16 << 8;
	case 3: /* 16 GiB */
		return lphi ? 0 : 34 | 34 << 8;
	case 7: /* 64 KiB page, 4 KiB base */
		return 12 | 16 << 8;
	case 8: /* 16 MiB page, 64 KiB or 4 KiB base */
		if (lphi == 0)
			return 16 | 24 << 8;
		if (lphi == 3)
			return 12 | 24 << 8;
		return 0;
	}
	return 0;
}

unsigned int ks_hpte_base_shift(uint64_t v, uint64_t r)
{
	return hpte_shifts(v, r) & 0xff;
}

unsigned int ks_hpte_actual_shift(uint64_t v, uint64_t r)
{
	return hpte_shifts(v, r) >> 8;
}

uint64_t ks_hpt_hash(uint64_t vsid, uint64_t seg_off, unsigned int pshift,
		     bool one_tb)
{
	uint64_t hash = vsid ^ (seg_off >> pshift);

	if (one_tb)
		hash ^= vsid << 25;
	return hash & 0x7fffffffffULL;
}

/*
 * Recovers the hash of a bolted entry from its AVPN and the PTEG it sits
 * in: the AVPN lacks the page-number bits below VA bit 23, and those are
 * the low bits of (hash ^ vsid-part), which the old PTEG number gives.
 */
static inline uint64_t rehash_index(uint64_t v, unsigned int pshift,
				    uint64_t idx, uint64_t old_mask,
				    uint64_t new_mask)
{
	uint64_t avpn = (v & KS_HPTE_V_AVPN) >> KS_HPTE_V_AVPN_SHIFT;
	uint64_t pteg = idx / KS_HPTES_PER_GROUP;
	uint64_t off, vsid, hash;

	if (pshift > 23)
		avpn &= ~((1ULL << (pshift - 23)) - 1);
	if (v & KS_HPTE_V_SECONDARY)
		pteg = ~pteg;
	if (!(v & KS_HPTE_V_1TB_SEG)) {
		off = (avpn & 0x1f) << 23;
		vsid = avpn >> 5;
		if (pshift < 23)
			off |= ((vsid ^ pteg) & old_mask) << pshift;
		hash = vsid ^ (off >> pshift);
	} else {
		off = (avpn & 0x1ffff) << 23;
		vsid = avpn >> 17;
		if (pshift < 23)
			off |= ((vsid ^ (vsid << 25) ^ pteg) & old_mask)
			       << pshift;
		hash = vsid ^ (vsid << 25) ^ (off >> pshift);
	}
	if (v & KS_HPTE_V_SECONDARY)
		hash = ~hash;
	return (hash & new_mask) * KS_HPTES_PER_GROUP +
	       idx % KS_HPTES_PER_GROUP;
}

uint64_t ks_hpte_rehash_index(uint64_t v, unsigned int pshift, uint64_t idx,
			      uint64_t old_mask, uint64_t new_mask)
{
	return rehash_index(v, pshift, idx, old_mask, new_mask);
}

/* ---- storage ---- */

#define CHUNK_BYTES (KS_HPT_CHUNK_ENTRIES * sizeof(struct ks_hpte))
#define SLAB_BYTES (2UL << 20)

static uint64_t table_chunks(const struct ks_hpt *t)
{
	return t->npte >> KS_HPT_CHUNK_SHIFT;
}

static uint32_t leaf_chunks(const struct ks_hpt *t, size_t li)
{
	uint64_t left = table_chunks(t) - ((uint64_t)li << KS_HPT_LEAF_SHIFT);

	return left < KS_HPT_LEAF_CHUNKS ? (uint32_t)left :
					   (uint32_t)KS_HPT_LEAF_CHUNKS;
}

static size_t leaf_bytes(uint32_t n_chunks)
{
	return sizeof(struct ks_hpt_leaf) +
	       (size_t)n_chunks * sizeof(struct ks_hpt_chunk);
}

static int charge(struct ks_hpt *t, size_t bytes)
{
	int ret = ks_mem_charge(t->eng, bytes);

	if (!ret)
		t->charged += bytes;
	return ret;
}

static void uncharge(struct ks_hpt *t, size_t bytes)
{
	ks_mem_uncharge(t->eng, bytes);
	t->charged -= bytes;
}

static struct ks_hpt_leaf *leaf_get(struct ks_hpt *t, size_t li)
{
	struct ks_hpt_leaf *l = t->leaf[li];
	uint32_t n;

	if (l)
		return l;
	n = leaf_chunks(t, li);
	if (charge(t, leaf_bytes(n)))
		return NULL;
	l = calloc(1, leaf_bytes(n));
	if (!l) {
		uncharge(t, leaf_bytes(n));
		return NULL;
	}
	l->n_chunks = n;
	t->leaf[li] = l;
	return l;
}

/* Zeroed memory, 2 MiB aligned when that large so THP can back it. */
static char *map_zeroed(size_t len)
{
	size_t map_len = len >= SLAB_BYTES ? len + SLAB_BYTES : len;
	char *map, *base;

	map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	base = map;
	if (map_len > len) {
		base = (char *)(((uintptr_t)map + SLAB_BYTES - 1) &
				~(uintptr_t)(SLAB_BYTES - 1));
		if (base > map)
			munmap(map, (size_t)(base - map));
		if (base + len < map + map_len)
			munmap(base + len,
			       (size_t)(map + map_len - (base + len)));
#ifdef MADV_HUGEPAGE
		madvise(base, len, MADV_HUGEPAGE);
#endif
	}
	return base;
}

/* A new slab of len bytes at the head of the list, or NULL. */
static struct ks_hpt_slab *slab_new(struct ks_hpt *t, size_t len)
{
	struct ks_hpt_slab *s;

	if (charge(t, len + sizeof(*s)))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->base = map_zeroed(len);
	if (!s || !s->base) {
		free(s);
		uncharge(t, len + sizeof(*s));
		return NULL;
	}
	s->len = len;
	s->next = t->slabs;
	t->slabs = s;
	return s;
}

static struct ks_hpte *chunk_back(struct ks_hpt *t, struct ks_hpt_chunk *c)
{
	struct ks_hpt_slab *s = t->slabs;
	size_t len = (size_t)1 << t->order;

	if (c->e)
		return c->e;
	if (!s || s->used == s->len) {
		/* a whole slab if the budget allows, else one chunk */
		s = slab_new(t, len < SLAB_BYTES ? len : SLAB_BYTES);
		if (!s)
			s = slab_new(t, CHUNK_BYTES);
		if (!s)
			return NULL;
	}
	c->e = (struct ks_hpte *)(s->base + s->used);
	s->used += CHUNK_BYTES;
	return c->e;
}

/* Backs every chunk now, from one slab; false if the budget says no. */
static bool table_back_eagerly(struct ks_hpt *t)
{
	size_t len = (size_t)1 << t->order, off, li;
	long page = sysconf(_SC_PAGESIZE);
	struct ks_hpt_slab *s;

	s = slab_new(t, len);
	if (!s)
		return false;
	for (li = 0; li < t->n_leaves; li++) {
		struct ks_hpt_leaf *l = leaf_get(t, li);
		uint32_t ci;

		if (!l)
			return false;
		for (ci = 0; ci < l->n_chunks; ci++)
			chunk_back(t, &l->c[ci]);
	}
	/* fault it in now, as Linux clears a new table, not in the rehash */
	for (off = 0; off < len; off += (size_t)page)
		s->base[off] = 0;
	t->flat = (struct ks_hpte *)s->base;
	return true;
}

int ks_hpt_table_new(struct ks_engine *eng, unsigned int order, bool eager,
		     struct ks_hpt **out)
{
	uint64_t npte = 1ULL << (order - 4);
	size_t n_leaves, fixed;
	struct ks_hpt *t;

	*out = NULL;
	if (order < KS_HPT_MIN_ORDER || order > KS_HPT_MAX_ORDER)
		return -EINVAL;
	n_leaves = (size_t)((npte + (1ULL << KS_HPT_LEAF_ENTRY_SHIFT) - 1) >>
			    KS_HPT_LEAF_ENTRY_SHIFT);
	fixed = sizeof(*t) + n_leaves * sizeof(t->leaf[0]);
	if (ks_mem_charge(eng, fixed))
		return -ENOMEM;
	t = calloc(1, fixed);
	if (!t) {
		ks_mem_uncharge(eng, fixed);
		return -ENOMEM;
	}
	t->eng = eng;
	t->order = order;
	t->npte = npte;
	t->mask = ks_hpt_order_mask(order);
	t->charged = fixed;
	t->n_leaves = n_leaves;
	if (eager && order <= KS_HPT_EAGER_MAX_ORDER &&
	    !table_back_eagerly(t)) {
		/* what could not be backed now will be when written */
		ks_hpt_table_free(t);
		return ks_hpt_table_new(eng, order, false, out);
	}
	*out = t;
	return 0;
}

void ks_hpt_table_free(struct ks_hpt *t)
{
	struct ks_hpt_slab *s, *next;
	size_t li;

	if (!t)
		return;
	for (li = 0; li < t->n_leaves; li++)
		free(t->leaf[li]);
	for (s = t->slabs; s; s = next) {
		next = s->next;
		munmap(s->base, s->len);
		free(s);
	}
	ks_mem_uncharge(t->eng, t->charged);
	free(t);
}

/* Empties a chunk's entries, keeping modified flags; returns their count. */
static uint32_t chunk_clear(struct ks_hpte *e)
{
	uint32_t i, n = 0;

	for (i = 0; i < KS_HPT_CHUNK_ENTRIES; i++) {
		e[i].v = 0;
		e[i].r &= KS_HPTE_GR_MODIFIED;
		n += e[i].r != 0;
	}
	return n;
}

void ks_hpt_table_clear(struct ks_hpt *t)
{
	size_t li;
	uint32_t ci;

	t->n_present = t->n_dirty = 0;
	for (li = 0; li < t->n_leaves; li++) {
		struct ks_hpt_leaf *l = t->leaf[li];

		if (!l)
			continue;
		l->n_present = l->n_dirty = 0;
		for (ci = 0; ci < l->n_chunks; ci++) {
			struct ks_hpt_chunk *c = &l->c[ci];

			if (c->n_dirty)
				c->n_dirty = chunk_clear(c->e);
			else if (c->n_present)
				memset(c->e, 0, CHUNK_BYTES);
			c->n_present = 0;
			l->n_dirty += c->n_dirty;
		}
		t->n_dirty += l->n_dirty;
	}
}

static inline bool stored_dirty(uint64_t v, uint64_t r)
{
	return (r & KS_HPTE_GR_MODIFIED) ||
	       ((v & KS_HPTE_V_VALID) && (v & KS_HPTE_PEND_MASK));
}

int ks_hpt_table_set(struct ks_hpt *t, uint64_t idx, uint64_t v, uint64_t r)
{
	size_t li = (size_t)(idx >> KS_HPT_LEAF_ENTRY_SHIFT);
	struct ks_hpt_leaf *l = t->leaf[li];
	struct ks_hpt_chunk *c;
	struct ks_hpte *e;
	int dp, dd;

	/* an empty, clean entry needs no storage */
	if (!(v & KS_HPTE_V_VALID) && !(r & KS_HPTE_GR_MODIFIED) &&
	    !ks_hpt_table_entry(t, idx))
		return 0;
	if (!l && !(l = leaf_get(t, li)))
		return -ENOMEM;
	c = &l->c[(idx >> KS_HPT_CHUNK_SHIFT) & (KS_HPT_LEAF_CHUNKS - 1)];
	if (!chunk_back(t, c))
		return -ENOMEM;
	e = &c->e[idx & (KS_HPT_CHUNK_ENTRIES - 1)];
	dp = (int)!!(v & KS_HPTE_V_VALID) - (int)!!(e->v & KS_HPTE_V_VALID);
	dd = (int)stored_dirty(v, r) - (int)stored_dirty(e->v, e->r);
	e->v = v;
	e->r = r;
	c->n_present += (uint32_t)dp;
	l->n_present += (uint64_t)(int64_t)dp;
	t->n_present += (uint64_t)(int64_t)dp;
	c->n_dirty += (uint32_t)dd;
	l->n_dirty += (uint64_t)(int64_t)dd;
	t->n_dirty += (uint64_t)(int64_t)dd;
	return 0;
}

/* First index >= from whose entry is dirty (or present); npte if none. */
static uint64_t table_next(const struct ks_hpt *t, uint64_t from, bool dirty)
{
	uint64_t idx = from;

	while (idx < t->npte) {
		size_t li = (size_t)(idx >> KS_HPT_LEAF_ENTRY_SHIFT);
		const struct ks_hpt_leaf *l = t->leaf[li];
		const struct ks_hpt_chunk *c;
		uint64_t end;

		if (!l || !(dirty ? l->n_dirty : l->n_present)) {
			idx = (uint64_t)(li + 1) << KS_HPT_LEAF_ENTRY_SHIFT;
			continue;
		}
		c = &l->c[(idx >> KS_HPT_CHUNK_SHIFT) &
			  (KS_HPT_LEAF_CHUNKS - 1)];
		end = ((idx >> KS_HPT_CHUNK_SHIFT) + 1) << KS_HPT_CHUNK_SHIFT;
		if (!c->e || !(dirty ? c->n_dirty : c->n_present)) {
			idx = end;
			continue;
		}
		for (; idx < end; idx++) {
			const struct ks_hpte *e =
				&c->e[idx & (KS_HPT_CHUNK_ENTRIES - 1)];

			if (dirty ? ks_hpte_dirty(e) : ks_hpte_present(e))
				return idx;
		}
	}
	return t->npte;
}

uint64_t ks_hpt_table_next_dirty(const struct ks_hpt *t, uint64_t from)
{
	return table_next(t, from, true);
}

uint64_t ks_hpt_table_next_present(const struct ks_hpt *t, uint64_t from)
{
	return table_next(t, from, false);
}

/* ---- rehash ---- */

struct rehash_ctx {
	struct ks_hpt *nt;
	uint64_t old_mask;
	uint32_t *tally; /* flat destination: present and dirty per chunk */
};

/* The chunk of new index nidx, backing storage as needed. */
static struct ks_hpt_chunk *rehash_back(struct rehash_ctx *x, uint64_t nidx)
{
	size_t li = (size_t)(nidx >> KS_HPT_LEAF_ENTRY_SHIFT);
	struct ks_hpt_leaf *l = x->nt->leaf[li];
	struct ks_hpt_chunk *c;

	if (!l && !(l = leaf_get(x->nt, li)))
		return NULL;
	c = &l->c[(nidx >> KS_HPT_CHUNK_SHIFT) & (KS_HPT_LEAF_CHUNKS - 1)];
	if (!c->e && !chunk_back(x->nt, c))
		return NULL;
	return c;
}

/*
 * Where src[i] goes: the new index, or RH_SKIP (not moved) or RH_EIO.
 * 4 KiB pages in 256 MiB segments take the branch with constant shifts.
 */
#define RH_SKIP UINT64_MAX
#define RH_EIO (UINT64_MAX - 1)

static inline uint64_t rehash_target(uint64_t v, uint64_t r, uint64_t idx,
				     uint64_t old_mask, uint64_t new_mask)
{
	unsigned int pshift;

	if (!(v & KS_HPTE_V_VALID))
		return RH_SKIP;
	if (!(v & (KS_HPTE_V_LARGE | KS_HPTE_V_1TB_SEG))) {
		if (!(v & KS_HPTE_V_BOLTED))
			return RH_SKIP;
		return rehash_index(v, 12, idx, old_mask, new_mask);
	}
	pshift = hpte_shifts(v, r) & 0xff;
	if (!pshift)
		return RH_EIO;
	/* only bolted entries survive a resize */
	if (!(v & KS_HPTE_V_BOLTED))
		return RH_SKIP;
	return rehash_index(v, pshift, idx, old_mask, new_mask);
}

/* Into a table backed as one array: no lookups, counts tallied. */
static int rehash_chunk_flat(struct rehash_ctx *x, const struct ks_hpte *src,
			     uint64_t base)
{
	uint64_t new_mask = x->nt->mask, old_mask = x->old_mask;
	struct ks_hpte *flat = x->nt->flat;
	uint32_t *tally = x->tally;
	uint32_t i;

	for (i = 0; i < KS_HPT_CHUNK_ENTRIES; i++) {
		uint64_t v = src[i].v, r = src[i].r;
		uint64_t nidx =
			rehash_target(v, r, base + i, old_mask, new_mask);
		struct ks_hpte *d;

		if (nidx >= RH_EIO) {
			if (nidx == RH_SKIP)
				continue;
			return -EIO;
		}
		d = &flat[nidx];
		if (d->v & KS_HPTE_V_VALID)
			return -ENOSPC;
		*d = src[i];
		tally[2 * (nidx >> KS_HPT_CHUNK_SHIFT)]++;
		if (stored_dirty(v, r))
			tally[2 * (nidx >> KS_HPT_CHUNK_SHIFT) + 1]++;
	}
	return 0;
}

/* Into a table backed chunk by chunk, backing them as needed. */
static int rehash_chunk(struct rehash_ctx *x, const struct ks_hpte *src,
			uint64_t base)
{
	uint64_t new_mask = x->nt->mask, old_mask = x->old_mask;
	uint32_t i;

	for (i = 0; i < KS_HPT_CHUNK_ENTRIES; i++) {
		uint64_t v = src[i].v, r = src[i].r;
		uint64_t nidx =
			rehash_target(v, r, base + i, old_mask, new_mask);
		struct ks_hpt_chunk *c;
		struct ks_hpte *d;

		if (nidx >= RH_EIO) {
			if (nidx == RH_SKIP)
				continue;
			return -EIO;
		}
		c = rehash_back(x, nidx);
		if (!c)
			return -ENOMEM;
		d = &c->e[nidx & (KS_HPT_CHUNK_ENTRIES - 1)];
		if (d->v & KS_HPTE_V_VALID)
			return -ENOSPC;
		*d = src[i];
		c->n_present++;
		if (stored_dirty(v, r))
			c->n_dirty++;
	}
	return 0;
}

/* Moves the flat rehash's tallies into the chunk counts. */
static void untally(struct ks_hpt *t, const uint32_t *tally)
{
	uint64_t cn;

	for (cn = 0; cn < table_chunks(t); cn++) {
		struct ks_hpt_chunk *c =
			&t->leaf[cn >> KS_HPT_LEAF_SHIFT]
				 ->c[cn & (KS_HPT_LEAF_CHUNKS - 1)];

		c->n_present += tally[2 * cn];
		c->n_dirty += tally[2 * cn + 1];
	}
}

/* Leaf and table counts from the chunk counts the rehash kept. */
static void recount(struct ks_hpt *t)
{
	size_t li;
	uint32_t ci;

	t->n_present = t->n_dirty = 0;
	for (li = 0; li < t->n_leaves; li++) {
		struct ks_hpt_leaf *l = t->leaf[li];

		if (!l)
			continue;
		l->n_present = l->n_dirty = 0;
		for (ci = 0; ci < l->n_chunks; ci++) {
			l->n_present += l->c[ci].n_present;
			l->n_dirty += l->c[ci].n_dirty;
		}
		t->n_present += l->n_present;
		t->n_dirty += l->n_dirty;
	}
}

int ks_hpt_table_rehash(const struct ks_hpt *old, struct ks_hpt *nt)
{
	struct rehash_ctx x = { .nt = nt };
	size_t li;
	uint32_t ci;
	int ret = 0;

	if (!old)
		return 0;
	x.old_mask = old->mask;
	if (nt->flat) {
		x.tally = calloc(2 * table_chunks(nt), sizeof(*x.tally));
		if (!x.tally)
			return -ENOMEM;
	}
	for (li = 0; li < old->n_leaves && !ret; li++) {
		const struct ks_hpt_leaf *l = old->leaf[li];

		if (!l || !l->n_present)
			continue;
		for (ci = 0; ci < l->n_chunks && !ret; ci++) {
			const struct ks_hpt_chunk *c = &l->c[ci];
			uint64_t base =
				((uint64_t)li << KS_HPT_LEAF_ENTRY_SHIFT) |
				((uint64_t)ci << KS_HPT_CHUNK_SHIFT);

			if (!c->e || !c->n_present)
				continue;
			if (x.tally)
				ret = rehash_chunk_flat(&x, c->e, base);
			else
				ret = rehash_chunk(&x, c->e, base);
		}
	}
	if (x.tally) {
		untally(nt, x.tally);
		free(x.tally);
	}
	recount(nt);
	return ret;
}
