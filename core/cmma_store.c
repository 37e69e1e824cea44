// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sparse dirty bitmaps and page-state bytes for the CMMA model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmma_store.h"
#include "engine.h"

#define CHUNK_BYTES (KS_BM_CHUNK_WORDS * sizeof(uint64_t))

/* Every chunk that is entirely set points here; it is never written. */
static const uint64_t bm_full_words[KS_BM_CHUNK_WORDS] = {
	[0 ... KS_BM_CHUNK_WORDS - 1] = ~0ULL,
};
#define BM_FULL ((uint64_t *)bm_full_words)

static uint64_t chunk_len(const struct ks_bitmap *bm, size_t c)
{
	uint64_t first = (uint64_t)c << KS_BM_CHUNK_SHIFT;

	return bm->nbits - first < KS_BM_CHUNK_BITS ? bm->nbits - first :
						      KS_BM_CHUNK_BITS;
}

static uint64_t *chunk_alloc(struct ks_engine *eng)
{
	uint64_t *p;

	if (ks_mem_charge(eng, CHUNK_BYTES))
		return NULL;
	p = malloc(CHUNK_BYTES);
	if (!p)
		ks_mem_uncharge(eng, CHUNK_BYTES);
	return p;
}

static void chunk_release(struct ks_engine *eng, struct ks_bitmap *bm, size_t c)
{
	if (bm->chunk[c] && bm->chunk[c] != BM_FULL) {
		free(bm->chunk[c]);
		ks_mem_uncharge(eng, CHUNK_BYTES);
	}
	bm->chunk[c] = NULL;
}

static size_t bitmap_index_bytes(size_t nchunks)
{
	return nchunks * (sizeof(uint64_t *) + sizeof(uint32_t));
}

int ks_bitmap_new(struct ks_engine *eng, uint64_t nbits, struct ks_bitmap **out)
{
	size_t nchunks = (nbits + KS_BM_CHUNK_BITS - 1) >> KS_BM_CHUNK_SHIFT;
	size_t bytes = sizeof(struct ks_bitmap) + bitmap_index_bytes(nchunks);
	struct ks_bitmap *bm;

	if (ks_mem_charge(eng, bytes))
		return -ENOMEM;
	bm = calloc(1, sizeof(*bm));
	if (!bm)
		goto err;
	bm->nbits = nbits;
	bm->nchunks = nchunks;
	bm->chunk = calloc(nchunks ? nchunks : 1, sizeof(*bm->chunk));
	bm->chunk_set = calloc(nchunks ? nchunks : 1, sizeof(*bm->chunk_set));
	if (!bm->chunk || !bm->chunk_set) {
		free(bm->chunk);
		free(bm->chunk_set);
		free(bm);
		goto err;
	}
	*out = bm;
	return 0;
err:
	ks_mem_uncharge(eng, bytes);
	return -ENOMEM;
}

void ks_bitmap_free(struct ks_engine *eng, struct ks_bitmap *bm)
{
	size_t c;

	if (!bm)
		return;
	for (c = 0; c < bm->nchunks; c++)
		chunk_release(eng, bm, c);
	free(bm->chunk);
	free(bm->chunk_set);
	ks_mem_uncharge(eng, sizeof(*bm) + bitmap_index_bytes(bm->nchunks));
	free(bm);
}

void ks_bitmap_fill(struct ks_engine *eng, struct ks_bitmap *bm)
{
	size_t c;

	for (c = 0; c < bm->nchunks; c++) {
		chunk_release(eng, bm, c);
		bm->chunk[c] = BM_FULL;
		bm->chunk_set[c] = (uint32_t)chunk_len(bm, c);
	}
	bm->nset = bm->nbits;
}

bool ks_bitmap_test(const struct ks_bitmap *bm, uint64_t bit)
{
	const uint64_t *p;
	uint64_t off;

	if (bit >= bm->nbits)
		return false;
	p = bm->chunk[bit >> KS_BM_CHUNK_SHIFT];
	off = bit & (KS_BM_CHUNK_BITS - 1);
	return p && (p[off >> 6] >> (off & 63)) & 1;
}

uint64_t ks_bitmap_next_set(const struct ks_bitmap *bm, uint64_t bit)
{
	size_t c;
	uint64_t off;

	if (bit >= bm->nbits)
		return bm->nbits;
	c = bit >> KS_BM_CHUNK_SHIFT;
	off = bit & (KS_BM_CHUNK_BITS - 1);
	for (; c < bm->nchunks; c++, off = 0) {
		const uint64_t *p = bm->chunk[c];
		uint64_t base = (uint64_t)c << KS_BM_CHUNK_SHIFT, word;
		size_t w;

		if (!p || !bm->chunk_set[c])
			continue;
		if (p == BM_FULL)
			return base + off;
		w = off >> 6;
		word = p[w] & (~0ULL << (off & 63));
		for (;;) {
			if (word)
				return base + w * 64 + __builtin_ctzll(word);
			if (++w == KS_BM_CHUNK_WORDS)
				break;
			word = p[w];
		}
	}
	return bm->nbits;
}

uint64_t ks_bitmap_next_clear(const struct ks_bitmap *bm, uint64_t bit,
			      uint64_t limit)
{
	if (limit > bm->nbits)
		limit = bm->nbits;
	while (bit < limit) {
		size_t c = bit >> KS_BM_CHUNK_SHIFT, w;
		uint64_t base = (uint64_t)c << KS_BM_CHUNK_SHIFT;
		uint64_t off = bit - base, word;
		const uint64_t *p = bm->chunk[c];

		if (!p)
			return bit;
		if (p == BM_FULL) {
			bit = base + KS_BM_CHUNK_BITS;
			continue;
		}
		w = off >> 6;
		word = ~p[w] & (~0ULL << (off & 63));
		for (;;) {
			if (word) {
				bit = base + w * 64 + __builtin_ctzll(word);
				return bit < limit ? bit : limit;
			}
			if (++w == KS_BM_CHUNK_WORDS)
				break;
			word = ~p[w];
		}
		bit = base + KS_BM_CHUNK_BITS;
	}
	return limit;
}

int ks_bitmap_prepare_set(struct ks_engine *eng, struct ks_bitmap *bm,
			  uint64_t bit, uint64_t n)
{
	size_t c, first, last;

	if (!n)
		return 0;
	first = bit >> KS_BM_CHUNK_SHIFT;
	last = (bit + n - 1) >> KS_BM_CHUNK_SHIFT;
	for (c = first; c <= last; c++) {
		uint64_t *p;

		if (bm->chunk[c])
			continue;
		p = chunk_alloc(eng);
		if (!p)
			goto fail;
		memset(p, 0, CHUNK_BYTES);
		bm->chunk[c] = p;
		bm->chunk_set[c] = 0;
	}
	return 0;
fail:
	/* undo: the chunks this call created are still empty */
	while (c-- > first)
		if (bm->chunk[c] != BM_FULL && !bm->chunk_set[c])
			chunk_release(eng, bm, c);
	return -ENOMEM;
}

bool ks_bitmap_test_and_set(struct ks_bitmap *bm, uint64_t bit)
{
	size_t c = bit >> KS_BM_CHUNK_SHIFT;
	uint64_t off = bit & (KS_BM_CHUNK_BITS - 1);
	uint64_t *p = bm->chunk[c], m = 1ULL << (off & 63);

	if (p == BM_FULL)
		return true;
	if (p[off >> 6] & m)
		return true;
	p[off >> 6] |= m;
	bm->chunk_set[c]++;
	bm->nset++;
	return false;
}

/* A private copy of an all-set chunk, or NULL. */
static uint64_t *chunk_split(struct ks_engine *eng, struct ks_bitmap *bm,
			     size_t c)
{
	uint64_t len = chunk_len(bm, c);
	uint64_t *p = chunk_alloc(eng);

	if (!p)
		return NULL;
	memset(p, 0, CHUNK_BYTES);
	memset(p, 0xff, (len / 64) * sizeof(uint64_t));
	if (len % 64)
		p[len / 64] = (1ULL << (len % 64)) - 1;
	bm->chunk[c] = p;
	return p;
}

/* Set bits of a word; without -mpopcnt the builtin is a library call. */
static unsigned int popcount64(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned int)((x * 0x0101010101010101ULL) >> 56);
}

/* Clears [off, off + n) of private chunk p; the number that were set. */
static uint64_t words_clear(uint64_t *p, uint64_t off, uint64_t n)
{
	size_t w, w0 = off >> 6, w1 = (off + n - 1) >> 6;
	uint64_t cnt = 0;

	for (w = w0; w <= w1; w++) {
		uint64_t mask = ~0ULL;

		if (w == w0)
			mask &= ~0ULL << (off & 63);
		if (w == w1 && (off + n) & 63)
			mask &= (1ULL << ((off + n) & 63)) - 1;
		cnt += popcount64(p[w] & mask);
		p[w] &= ~mask;
	}
	return cnt;
}

int ks_bitmap_clear_bit(struct ks_engine *eng, struct ks_bitmap *bm,
			uint64_t bit)
{
	size_t c = bit >> KS_BM_CHUNK_SHIFT;
	uint64_t off = bit & (KS_BM_CHUNK_BITS - 1);
	uint64_t *p = bm->chunk[c], m = 1ULL << (off & 63);

	if (!p || (p != BM_FULL && !(p[off >> 6] & m)))
		return 0;
	if (p == BM_FULL) {
		uint64_t was_set;

		return ks_bitmap_clear(eng, bm, bit, 1, &was_set) ? 1 : -ENOMEM;
	}
	p[off >> 6] &= ~m;
	bm->nset--;
	if (!--bm->chunk_set[c])
		chunk_release(eng, bm, c);
	return 1;
}

uint64_t ks_bitmap_clear(struct ks_engine *eng, struct ks_bitmap *bm,
			 uint64_t bit, uint64_t n, uint64_t *was_set)
{
	uint64_t done = 0, set = 0;

	while (done < n) {
		size_t c = (bit + done) >> KS_BM_CHUNK_SHIFT;
		uint64_t off = (bit + done) & (KS_BM_CHUNK_BITS - 1);
		uint64_t len = chunk_len(bm, c), span = len - off, cnt;
		uint64_t *p = bm->chunk[c];

		if (span > n - done)
			span = n - done;
		if (p == BM_FULL && off == 0 && span == len) {
			bm->chunk[c] = NULL;
			cnt = len;
		} else if (p) {
			if (p == BM_FULL) {
				p = chunk_split(eng, bm, c);
				if (!p)
					break;
			}
			cnt = words_clear(p, off, span);
		} else {
			cnt = 0;
		}
		bm->chunk_set[c] -= (uint32_t)cnt;
		bm->nset -= cnt;
		set += cnt;
		if (bm->chunk[c] && !bm->chunk_set[c])
			chunk_release(eng, bm, c);
		done += span;
	}
	*was_set = set;
	return done;
}

/* Page states */

#define KS_PG_EMPTY UINT64_MAX
#define LEAF_BYTES KS_PG_LEAF_PAGES

void ks_pg_init(struct ks_pgstates *pg)
{
	memset(pg, 0, sizeof(*pg));
	pg->hit_key[0] = pg->hit_key[1] = KS_PG_EMPTY;
}

static size_t pg_slot(const struct ks_pgstates *pg, uint64_t key)
{
	/* Fibonacci hashing; cap is a power of two of at least 16 */
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >>
			(64 - __builtin_ctzll(pg->cap)));
}

static uint8_t *pg_leaf(struct ks_pgstates *pg, uint64_t key)
{
	uint8_t *leaf;
	size_t i;

	if (key == pg->hit_key[0])
		return pg->hit_leaf[0];
	if (key == pg->hit_key[1]) {
		leaf = pg->hit_leaf[1];
		goto hit;
	}
	if (!pg->cap)
		return NULL;
	for (i = pg_slot(pg, key);; i = (i + 1) & (pg->cap - 1)) {
		if (pg->tab[i].key == key) {
			leaf = pg->tab[i].leaf;
			goto hit;
		}
		if (pg->tab[i].key == KS_PG_EMPTY)
			return NULL;
	}
hit:
	pg->hit_key[1] = pg->hit_key[0];
	pg->hit_leaf[1] = pg->hit_leaf[0];
	pg->hit_key[0] = key;
	pg->hit_leaf[0] = leaf;
	return leaf;
}

static void pg_put(struct ks_pgstates *pg, uint64_t key, uint8_t *leaf)
{
	size_t i;

	for (i = pg_slot(pg, key); pg->tab[i].key != KS_PG_EMPTY;
	     i = (i + 1) & (pg->cap - 1))
		;
	pg->tab[i].key = key;
	pg->tab[i].leaf = leaf;
	pg->n++;
}

static int pg_grow(struct ks_engine *eng, struct ks_pgstates *pg)
{
	struct ks_pgstates old = *pg;
	size_t cap = pg->cap ? pg->cap * 2 : 16, i;
	struct ks_pg_entry *tab;

	if (ks_mem_charge(eng, cap * sizeof(*tab)))
		return -ENOMEM;
	tab = malloc(cap * sizeof(*tab));
	if (!tab) {
		ks_mem_uncharge(eng, cap * sizeof(*tab));
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		tab[i].key = KS_PG_EMPTY;
	pg->tab = tab;
	pg->cap = cap;
	pg->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.tab[i].key != KS_PG_EMPTY)
			pg_put(pg, old.tab[i].key, old.tab[i].leaf);
	free(old.tab);
	if (old.cap)
		ks_mem_uncharge(eng, old.cap * sizeof(*tab));
	return 0;
}

static int pg_leaf_create(struct ks_engine *eng, struct ks_pgstates *pg,
			  uint64_t key)
{
	uint8_t *leaf;

	if (pg_leaf(pg, key))
		return 0;
	if ((pg->n + 1) * 2 > pg->cap && pg_grow(eng, pg))
		return -ENOMEM;
	if (ks_mem_charge(eng, LEAF_BYTES))
		return -ENOMEM;
	leaf = calloc(1, LEAF_BYTES);
	if (!leaf) {
		ks_mem_uncharge(eng, LEAF_BYTES);
		return -ENOMEM;
	}
	pg_put(pg, key, leaf);
	return 0;
}

void ks_pg_clear(struct ks_engine *eng, struct ks_pgstates *pg)
{
	size_t i;

	for (i = 0; i < pg->cap; i++) {
		if (pg->tab[i].key != KS_PG_EMPTY) {
			free(pg->tab[i].leaf);
			ks_mem_uncharge(eng, LEAF_BYTES);
		}
	}
	free(pg->tab);
	if (pg->cap)
		ks_mem_uncharge(eng, pg->cap * sizeof(*pg->tab));
	ks_pg_init(pg);
}

void ks_pg_free(struct ks_engine *eng, struct ks_pgstates *pg)
{
	ks_pg_clear(eng, pg);
}

uint8_t ks_pg_get(struct ks_pgstates *pg, uint64_t hpn)
{
	const uint8_t *leaf = pg_leaf(pg, hpn >> KS_PG_LEAF_SHIFT);

	return leaf ? leaf[hpn & (KS_PG_LEAF_PAGES - 1)] : 0;
}

/* Length of the piece of [hpn, hpn + n) inside hpn's leaf. */
static uint64_t leaf_span(uint64_t hpn, uint64_t n)
{
	uint64_t room = KS_PG_LEAF_PAGES - (hpn & (KS_PG_LEAF_PAGES - 1));

	return n < room ? n : room;
}

void ks_pg_read(struct ks_pgstates *pg, uint64_t hpn, uint64_t n, uint8_t *dst)
{
	/* QEMU's PEEK of one value, and single frames of a scan */
	if (n == 1) {
		*dst = ks_pg_get(pg, hpn);
		return;
	}
	while (n) {
		uint64_t span = leaf_span(hpn, n);
		const uint8_t *leaf = pg_leaf(pg, hpn >> KS_PG_LEAF_SHIFT);

		if (leaf)
			memcpy(dst, leaf + (hpn & (KS_PG_LEAF_PAGES - 1)),
			       span);
		else
			memset(dst, 0, span);
		dst += span;
		n -= span;
		hpn = (hpn + span) & KS_PG_HPN_MASK;
	}
}

int ks_pg_prepare(struct ks_engine *eng, struct ks_pgstates *pg, uint64_t hpn,
		  uint64_t n)
{
	while (n) {
		uint64_t span = leaf_span(hpn, n);

		if (pg_leaf_create(eng, pg, hpn >> KS_PG_LEAF_SHIFT))
			return -ENOMEM;
		n -= span;
		hpn = (hpn + span) & KS_PG_HPN_MASK;
	}
	return 0;
}

void ks_pg_update(struct ks_pgstates *pg, uint64_t hpn, uint8_t mask,
		  uint8_t val)
{
	uint8_t *leaf = pg_leaf(pg, hpn >> KS_PG_LEAF_SHIFT);
	uint8_t *b;

	if (!leaf)
		return; /* the caller made sure the page stays 0 */
	b = &leaf[hpn & (KS_PG_LEAF_PAGES - 1)];
	*b = (uint8_t)((*b & ~mask) | (val & mask));
}

uint64_t ks_pg_bytes(const struct ks_pgstates *pg)
{
	return pg->n * LEAF_BYTES + pg->cap * sizeof(*pg->tab);
}
