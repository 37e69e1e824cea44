// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rehash speed: a table of order 24 whose 2^20 entries are all bolted and
 * at their hash positions (every slot of every PTEG) is rehashed into a
 * table of order 25, as RESIZE_HPT_COMMIT does.  The baseline is a plain
 * memcpy of the same 16 MiB, measured in the same run.  Best of several
 * runs each.  Exits non-zero only when the result is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine.h"
#include "core/hpt.h"

static int OLD_ORDER = 24;
#define NEW_ORDER (OLD_ORDER + 1)
#define RUNS 15
#define SCRATCH (128UL << 20)

/* Evicts the caches, so that every timed run starts cold. */
static void flush_caches(char *scratch, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 64)
		scratch[i]++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * A bolted 4 KiB entry, 256 MiB segment, whose primary PTEG is g: the
 * page number gives hash bits 0-15, the VSID bit 16 and (for the next
 * order) bit 17, which varies with the slot so the grow spreads entries.
 */
static void make_entry(uint64_t g, unsigned int slot, uint64_t *v, uint64_t *r,
		       uint64_t *vsid, uint64_t *pn)
{
	*pn = g & 0xffff;
	*vsid = (g & 0x10000) | ((uint64_t)(slot & 1) << 17) |
		((uint64_t)slot << 20) | 0x5000000;
	*v = ((((*vsid << 28) | (*pn << 12)) >> 23) << KS_HPTE_V_AVPN_SHIFT) |
	     KS_HPTE_V_BOLTED | KS_HPTE_V_VALID;
	*r = ((g * 8 + slot) << 12) | 0x192; /* R, M, PP=2 */
}

static int fill(struct ks_hpt *t)
{
	uint64_t g, v, r, vsid, pn;
	unsigned int s;

	for (g = 0; g <= t->mask; g++) {
		for (s = 0; s < KS_HPTES_PER_GROUP; s++) {
			make_entry(g, s, &v, &r, &vsid, &pn);
			if (ks_hpt_table_set(t, g * 8 + s, v, r))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Every entry must sit where the hash of its page puts it. */
static int verify(const struct ks_hpt *old, const struct ks_hpt *nt)
{
	uint64_t g, v, r, vsid, pn, nidx;
	unsigned int s;

	if (nt->n_present != old->n_present)
		return -1;
	for (g = 0; g <= old->mask; g++) {
		for (s = 0; s < KS_HPTES_PER_GROUP; s++) {
			const struct ks_hpte *e;

			make_entry(g, s, &v, &r, &vsid, &pn);
			nidx = (ks_hpt_hash(vsid, pn << 12, 12, false) &
				nt->mask) *
				       8 +
			       s;
			e = ks_hpt_table_entry(nt, nidx);
			if (!e || e->v != v || e->r != r)
				return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_hpt *old, *nt;
	double best_rehash = 1e9, best_copy = 1e9, t0, t1;
	size_t bytes;
	char *src, *dst, *scratch;
	uint64_t n;
	int i, ret;

	scratch = calloc(1, SCRATCH);
	if (!scratch)
		return 1;
	/* another order to try: bench/hpt_rehash ORDER (18-45) */
	if (argc > 1)
		OLD_ORDER = atoi(argv[1]);
	if (OLD_ORDER < KS_HPT_MIN_ORDER || OLD_ORDER >= KS_HPT_MAX_ORDER)
		return 1;
	bytes = (size_t)1 << OLD_ORDER;
	if (ks_engine_config_init(&cfg, "power8") || ks_engine_new(&cfg, &eng))
		return 1;
	if (ks_hpt_table_new(eng, OLD_ORDER, false, &old) || fill(old)) {
		fprintf(stderr, "cannot build the table\n");
		return 1;
	}
	n = old->n_present;
	if (n != (1ULL << (OLD_ORDER - 4))) {
		fprintf(stderr, "table holds %llu entries\n",
			(unsigned long long)n);
		return 1;
	}
	src = malloc(bytes);
	dst = malloc(bytes);
	if (!src || !dst)
		return 1;
	/* the baseline copies the very bytes of the old table */
	for (n = 0; n < old->npte; n += KS_HPT_CHUNK_ENTRIES)
		memcpy(src + n * sizeof(struct ks_hpte),
		       ks_hpt_table_entry(old, n),
		       KS_HPT_CHUNK_ENTRIES * sizeof(struct ks_hpte));
	memset(dst, 0, bytes);
	/* alternate the two, so that both see the same machine */
	for (i = 0; i < RUNS; i++) {
		/* the worker prepares (allocates and clears) the new table */
		if (ks_hpt_table_new(eng, NEW_ORDER, true, &nt))
			return 1;
		flush_caches(scratch, SCRATCH);
		t0 = now();
		ret = ks_hpt_table_rehash(old, nt);
		t1 = now();
		if (ret || (i == 0 && verify(old, nt))) {
			fprintf(stderr, "rehash failed: %d\n", ret);
			return 1;
		}
		if (t1 - t0 < best_rehash)
			best_rehash = t1 - t0;
		ks_hpt_table_free(nt);

		flush_caches(scratch, SCRATCH);
		t0 = now();
		memcpy(dst, src, bytes);
		t1 = now();
		if (t1 - t0 < best_copy)
			best_copy = t1 - t0;
	}
	if (memcmp(dst, src, bytes))
		return 1;

	n = old->n_present;
	printf("hpt_rehash: %llu bolted HPTEs, order %d -> %d\n",
	       (unsigned long long)n, OLD_ORDER, NEW_ORDER);
	printf("  rehash          %8.3f ms  %8.1f M HPTE/s\n",
	       best_rehash * 1e3, (double)n / best_rehash / 1e6);
	printf("  memcpy baseline %8.3f ms  %8.1f M HPTE/s (%zu bytes)\n",
	       best_copy * 1e3, (double)n / best_copy / 1e6, bytes);
	printf("  ratio rehash/memcpy time: %.2fx (target <= 4x, >= 50 M "
	       "HPTE/s)\n",
	       best_rehash / best_copy);
	free(src);
	free(dst);
	free(scratch);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
	return 0;
}
