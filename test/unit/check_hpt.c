// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HPT model itself: page-size decoding, the hash, the rehash with
 * hand-computed positions (spec: hpt.md §3-§5, §8.3-§8.4), and the sparse
 * storage with its memory accounting.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/engine.h"
#include "core/hpt.h"
#include "unit.h"

/* Worked examples of hpt.md §5, bolted. */
#define A_V 0x0000000123456a91ULL /* 4 KiB, 256 MiB segment, page 0xABCD */
#define A_R 0x0000000012345012ULL
#define A2_V 0x0000000123456a11ULL /* same VSID, page 0xA3CD */
#define B_V 0x0000000123456a95ULL /* 64 KiB (L, LP = 1) */
#define B_R 0x0000000012341012ULL
#define C_V 0x0000000123456a15ULL /* 16 MiB (L, LP = 0) */
#define C_R 0x0000000013000012ULL
#define D_V 0x40000abcde123411ULL /* 4 KiB, 1 TiB segment */
#define D_R 0x0000000012345012ULL
#define H KS_HPTE_V_SECONDARY

static struct ks_engine *eng_limit(uint64_t limit)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.memory_limit = limit;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	return eng;
}

static struct ks_hpt *table(struct ks_engine *eng, unsigned int order)
{
	struct ks_hpt *t;

	ck_assert_int_eq(ks_hpt_table_new(eng, order, false, &t), 0);
	return t;
}

static void put(struct ks_hpt *t, uint64_t idx, uint64_t v, uint64_t r)
{
	ck_assert_int_eq(ks_hpt_table_set(t, idx, v, r), 0);
}

/* The entry at idx holds exactly (v, r). */
static void ck_entry(const struct ks_hpt *t, uint64_t idx, uint64_t v,
		     uint64_t r)
{
	const struct ks_hpte *e = ks_hpt_table_entry(t, idx);

	ck_assert_msg(e && e->v == v && e->r == r,
		      "entry %llu: v 0x%llx r 0x%llx, expected 0x%llx 0x%llx",
		      (unsigned long long)idx,
		      e ? (unsigned long long)e->v : 0ULL,
		      e ? (unsigned long long)e->r : 0ULL,
		      (unsigned long long)v, (unsigned long long)r);
}

static int rehash(const struct ks_hpt *old, unsigned int order,
		  struct ks_hpt **out)
{
	ck_assert_int_eq(ks_hpt_table_new(old->eng, order, false, out), 0);
	return ks_hpt_table_rehash(old, *out);
}

START_TEST(test_page_size_table)
{
	static const struct {
		uint64_t v, r;
		unsigned int base, actual;
	} rows[] = {
		{ 0x1, 0xffff000, 12, 12 }, /* L = 0: R ignored */
		{ 0x5, 0x00000, 24, 24 }, /* LP 0, lphi 0 */
		{ 0x5, 0x10000, 0, 0 }, /* LP 0, lphi != 0 */
		{ 0x5, 0x01000, 16, 16 },   { 0x5, 0xf1000, 16, 16 },
		{ 0x5, 0x03000, 34, 34 },   { 0x5, 0x13000, 0, 0 },
		{ 0x5, 0x07000, 12, 16 },   { 0x5, 0x57000, 12, 16 },
		{ 0x5, 0x08000, 16, 24 },   { 0x5, 0x38000, 12, 24 },
		{ 0x5, 0x18000, 0, 0 },	    { 0x5, 0x48000, 0, 0 },
		{ 0x5, 0x02000, 0, 0 },	    { 0x5, 0x04000, 0, 0 },
		{ 0x5, 0x05000, 0, 0 },	    { 0x5, 0x06000, 0, 0 },
		{ 0x5, 0x09000, 0, 0 },	    { 0x5, 0x0f000, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_uint_eq(ks_hpte_base_shift(rows[i].v, rows[i].r),
				  rows[i].base);
		ck_assert_uint_eq(ks_hpte_actual_shift(rows[i].v, rows[i].r),
				  rows[i].actual);
	}
	/* the examples decode as their names say */
	ck_assert_uint_eq(ks_hpte_base_shift(B_V, B_R), 16);
	ck_assert_uint_eq(ks_hpte_base_shift(C_V, C_R), 24);
	ck_assert_uint_eq(ks_hpte_base_shift(D_V, D_R), 12);
}
END_TEST

START_TEST(test_hash_examples)
{
	uint64_t m18 = ks_hpt_order_mask(18), m20 = ks_hpt_order_mask(20);
	uint64_t h;

	ck_assert_uint_eq(m18, 0x7ff);
	ck_assert_uint_eq(m20, 0x1fff);
	/* A: 4 KiB */
	h = ks_hpt_hash(0x123456, 0x0abcd000, 12, false);
	ck_assert_uint_eq(h, 0x129f9b);
	ck_assert_uint_eq(h & m18, 0x79b);
	ck_assert_uint_eq(~h & m18, 0x064);
	ck_assert_uint_eq(h & m20, 0x1f9b);
	ck_assert_uint_eq(~h & m20, 0x064);
	/* B: 64 KiB */
	h = ks_hpt_hash(0x123456, 0x0abc0000, 16, false);
	ck_assert_uint_eq(h, 0x123eea);
	ck_assert_uint_eq(h & m18, 0x6ea);
	ck_assert_uint_eq(~h & m18, 0x115);
	ck_assert_uint_eq(h & m20, 0x1eea);
	/* C: 16 MiB */
	h = ks_hpt_hash(0x123456, 0x0a000000, 24, false);
	ck_assert_uint_eq(h, 0x12345c);
	ck_assert_uint_eq(h & m18, 0x45c);
	ck_assert_uint_eq(~h & m18, 0x3a3);
	ck_assert_uint_eq(h & m20, 0x145c);
	ck_assert_uint_eq(~h & m20, 0xba3);
	/* D: 1 TiB segment, 39 bits kept */
	h = ks_hpt_hash(0x0abcde, 0x1234567000, 12, true);
	ck_assert_uint_eq(h, 0x79bd29f9b9);
	ck_assert_uint_eq(h & m18, 0x1b9);
	ck_assert_uint_eq(~h & m18, 0x646);
	ck_assert_uint_eq(h & m20, 0x19b9);
	ck_assert_uint_eq(~h & m20, 0x646);
}
END_TEST

START_TEST(test_rehash_index_examples)
{
	uint64_t m18 = 0x7ff, m20 = 0x1fff;

	/* §8.4: A primary slot 0, and secondary in slot 3 */
	ck_assert_uint_eq(ks_hpte_rehash_index(A_V, 12, 15576, m18, m20),
			  64728);
	ck_assert_uint_eq(ks_hpte_rehash_index(A_V | H, 12, 803, m18, m20),
			  803);
	/* and back */
	ck_assert_uint_eq(ks_hpte_rehash_index(A_V, 12, 64728, m20, m18),
			  15576);
	/* 64 KiB, 16 MiB, 1 TiB */
	ck_assert_uint_eq(ks_hpte_rehash_index(B_V, 16, 14160, m18, m20),
			  63312);
	ck_assert_uint_eq(ks_hpte_rehash_index(B_V | H, 16, 2216, m18, m20),
			  2216);
	ck_assert_uint_eq(ks_hpte_rehash_index(C_V, 24, 8928, m18, m20), 41696);
	ck_assert_uint_eq(ks_hpte_rehash_index(C_V | H, 24, 7448, m18, m20),
			  23832);
	ck_assert_uint_eq(ks_hpte_rehash_index(D_V, 12, 3528, m18, m20), 52680);
	ck_assert_uint_eq(ks_hpte_rehash_index(D_V | H, 12, 12848, m18, m20),
			  12848);
	/* the AVPN bit inside a 16 MiB page is ignored */
	ck_assert_uint_eq(ks_hpte_rehash_index(C_V | 0x80, 24, 8928, m18, m20),
			  41696);
}
END_TEST

/* Every example at its order-18 position, primary and secondary. */
static struct ks_hpt *examples18(struct ks_engine *eng)
{
	struct ks_hpt *t = table(eng, 18);

	put(t, 15576, A_V, A_R); /* PTEG 0x79b slot 0 */
	put(t, 803, A_V | H, A_R); /* PTEG 0x064 slot 3 */
	put(t, 14161, B_V, B_R); /* PTEG 0x6ea slot 1 */
	put(t, 2218, B_V | H, B_R); /* PTEG 0x115 slot 2 */
	put(t, 8935, C_V, C_R); /* PTEG 0x45c slot 7 */
	put(t, 7452, C_V | H, C_R); /* PTEG 0x3a3 slot 4 */
	put(t, 3533, D_V, D_R); /* PTEG 0x1b9 slot 5 */
	put(t, 12854, D_V | H, D_R); /* PTEG 0x646 slot 6 */
	return t;
}

START_TEST(test_rehash_grow_18_20)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = examples18(eng), *nt;

	ck_assert_int_eq(rehash(old, 20, &nt), 0);
	ck_assert_uint_eq(nt->n_present, 8);
	ck_entry(nt, 64728, A_V, A_R);
	ck_entry(nt, 803, A_V | H, A_R);
	ck_entry(nt, 63313, B_V, B_R);
	ck_entry(nt, 2218, B_V | H, B_R);
	ck_entry(nt, 41703, C_V, C_R);
	ck_entry(nt, 23836, C_V | H, C_R);
	ck_entry(nt, 52685, D_V, D_R);
	ck_entry(nt, 12854, D_V | H, D_R);
	/* the old table is untouched */
	ck_assert_uint_eq(old->n_present, 8);
	ck_entry(old, 15576, A_V, A_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_shrink_20_18)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = table(eng, 20), *nt;

	put(old, 64728, A_V, A_R);
	put(old, 803, A_V | H, A_R);
	put(old, 63313, B_V, B_R);
	put(old, 41703, C_V, C_R);
	put(old, 23836, C_V | H, C_R);
	put(old, 52685, D_V, D_R);
	ck_assert_int_eq(rehash(old, 18, &nt), 0);
	ck_assert_uint_eq(nt->n_present, 6);
	ck_entry(nt, 15576, A_V, A_R);
	ck_entry(nt, 803, A_V | H, A_R);
	ck_entry(nt, 14161, B_V, B_R);
	ck_entry(nt, 8935, C_V, C_R);
	ck_entry(nt, 7452, C_V | H, C_R);
	ck_entry(nt, 3533, D_V, D_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_same_order)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = examples18(eng), *nt;

	ck_assert_int_eq(rehash(old, 18, &nt), 0);
	ck_assert_uint_eq(nt->n_present, 8);
	ck_entry(nt, 15576, A_V, A_R);
	ck_entry(nt, 12854, D_V | H, D_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_shrink_collision)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = table(eng, 20), *nt;

	/* §8.4: pages 0xABCD and 0xA3CD both land on order-18 index 15576 */
	put(old, 64728, A_V, A_R);
	put(old, 48344, A2_V, A_R);
	ck_assert_int_eq(rehash(old, 18, &nt), -ENOSPC);
	/* 48344 was visited first and placed */
	ck_entry(nt, 15576, A2_V, A_R);
	ck_assert_uint_eq(old->n_present, 2);
	ck_entry(old, 64728, A_V, A_R);
	ck_entry(old, 48344, A2_V, A_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_grow_collision_misplaced)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = table(eng, 20), *nt;

	/*
	 * M9: example A placed in PTEG 0x79b and in 0xf9b, neither its hash
	 * position at order 20.  Offset bit 23 is set in the AVPN, so PTEG
	 * bit 11 is lost in the OR and both reconstruct page 0xBBCD:
	 * hash 0x128f9b, order-21 PTEG 0xf9b, index 31960.
	 */
	put(old, 0x79b * 8, A_V, A_R);
	put(old, 0xf9b * 8, A_V, A_R);
	ck_assert_uint_eq(ks_hpte_rehash_index(A_V, 12, 0x79b * 8, 0x1fff,
					       0x3fff),
			  31960);
	ck_assert_int_eq(rehash(old, 21, &nt), -ENOSPC);
	ks_hpt_table_free(nt);
	/* with one of them the grow works */
	put(old, 0xf9b * 8, 0, 0);
	ck_assert_int_eq(rehash(old, 21, &nt), 0);
	ck_entry(nt, 31960, A_V, A_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_drops_unbolted_keeps_state)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = table(eng, 18), *nt;
	uint64_t pend = KS_HPTE_PEND_C;

	put(old, 15576, A_V & ~KS_HPTE_V_BOLTED, A_R);
	/* modified flag and unharvested C travel with the entry */
	put(old, 15577, A_V | pend, A_R | KS_HPTE_GR_MODIFIED);
	ck_assert_uint_eq(old->n_dirty, 1);
	ck_assert_int_eq(rehash(old, 20, &nt), 0);
	ck_assert_uint_eq(nt->n_present, 1);
	ck_assert_uint_eq(nt->n_dirty, 1);
	ck_assert(!ks_hpte_present(ks_hpt_table_entry(nt, 64728)));
	ck_entry(nt, 64729, A_V | pend, A_R | KS_HPTE_GR_MODIFIED);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_eio_order)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = table(eng, 20), *nt;
	/* L with LP = 2: undecodable; not bolted, still EIO */
	uint64_t bad_v = 0x0000000123456a05ULL, bad_r = 0x2000;

	put(old, 40000, bad_v, bad_r);
	ck_assert_int_eq(rehash(old, 18, &nt), -EIO);
	ks_hpt_table_free(nt);
	/* an earlier collision wins over a later EIO */
	put(old, 64728, A_V, A_R);
	put(old, 48344, A2_V, A_R);
	put(old, 40000, 0, 0);
	put(old, 65000, bad_v, bad_r);
	ck_assert_int_eq(rehash(old, 18, &nt), -ENOSPC);
	ks_hpt_table_free(nt);
	/* an earlier EIO wins over a later collision */
	put(old, 100, bad_v, bad_r);
	ck_assert_int_eq(rehash(old, 18, &nt), -EIO);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_rehash_into_eager_table)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *old = examples18(eng), *nt;

	ck_assert_int_eq(ks_hpt_table_new(eng, 20, true, &nt), 0);
	ck_assert_ptr_nonnull(nt->flat);
	ck_assert_int_eq(ks_hpt_table_rehash(old, nt), 0);
	ck_assert_uint_eq(nt->n_present, 8);
	ck_entry(nt, 64728, A_V, A_R);
	ck_entry(nt, 23836, C_V | H, C_R);
	ck_assert_uint_eq(ks_hpt_table_next_present(nt, 0), 803);
	ck_assert_uint_eq(ks_hpt_table_next_present(nt, 64729), nt->npte);
	ks_hpt_table_free(nt);
	/*
	 * A misplaced entry moves by its reconstructed hash: example A in
	 * PTEG 0 reads as page 0xAC56, hash 0x129800, order-20 PTEG 0x1800.
	 */
	put(old, 15576, 0, 0);
	put(old, 0, A_V, A_R);
	ck_assert_int_eq(ks_hpt_table_new(eng, 20, true, &nt), 0);
	ck_assert_int_eq(ks_hpt_table_rehash(old, nt), 0);
	ck_entry(nt, 0x1800 * 8, A_V, A_R);
	ks_hpt_table_free(nt);
	ks_hpt_table_free(old);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_storage_sparse_order_46)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *t = table(eng, 46);
	uint64_t last = t->npte - 1;

	ck_assert_uint_eq(t->npte, 1ULL << 42);
	/* the top directory only: 2^18 pointers */
	ck_assert_uint_lt(ks_mem_used(eng), 3ULL << 20);
	put(t, last, A_V, A_R);
	put(t, 5, A_V, A_R);
	ck_assert_uint_lt(ks_mem_used(eng), 12ULL << 20);
	ck_assert_uint_eq(ks_hpt_table_next_present(t, 0), 5);
	ck_assert_uint_eq(ks_hpt_table_next_present(t, 6), last);
	ck_assert_uint_eq(ks_hpt_table_next_dirty(t, 0), t->npte);
	put(t, 1ULL << 40, 0, KS_HPTE_GR_MODIFIED); /* removed, modified */
	ck_assert_uint_eq(ks_hpt_table_next_dirty(t, 6), 1ULL << 40);
	ck_assert_uint_eq(t->n_present, 2);
	ck_assert_uint_eq(t->n_dirty, 1);
	ks_hpt_table_free(t);
	ck_assert_uint_eq(ks_mem_used(eng), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_storage_budget)
{
	struct ks_engine *eng = eng_limit(64);
	struct ks_hpt *t;

	/* the fixed cost exceeds the budget */
	ck_assert_int_eq(ks_hpt_table_new(eng, 18, false, &t), -ENOMEM);
	ck_assert_ptr_null(t);
	ks_engine_free(eng);

	/* enough for the table and one chunk, not for a second */
	eng = eng_limit(64 * 1024 + 64 * 1024 + 4096);
	ck_assert_int_eq(ks_hpt_table_new(eng, 24, false, &t), 0);
	put(t, 0, A_V, A_R);
	ck_assert_int_eq(ks_hpt_table_set(t, 1ULL << 19, A_V, A_R), -ENOMEM);
	ck_assert_ptr_null(ks_hpt_table_entry(t, 1ULL << 19));
	ck_assert_uint_eq(t->n_present, 1);
	/* an eager table falls back to lazy backing */
	ks_hpt_table_free(t);
	ck_assert_int_eq(ks_hpt_table_new(eng, 24, true, &t), 0);
	ck_assert_ptr_null(t->flat);
	ks_hpt_table_free(t);
	ck_assert_uint_eq(ks_mem_used(eng), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_storage_clear_keeps_modified)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_hpt *t = table(eng, 18);

	put(t, 1, A_V, A_R | KS_HPTE_GR_MODIFIED);
	put(t, 2, A_V | KS_HPTE_PEND_R, A_R);
	put(t, 9000, 0, KS_HPTE_GR_MODIFIED);
	put(t, 9001, A_V, A_R);
	ck_assert_uint_eq(t->n_present, 3);
	ck_assert_uint_eq(t->n_dirty, 3);
	ks_hpt_table_clear(t);
	ck_assert_uint_eq(t->n_present, 0);
	ck_assert_uint_eq(t->n_dirty, 2);
	ck_assert_uint_eq(ks_hpt_table_next_dirty(t, 0), 1);
	ck_assert_uint_eq(ks_hpt_table_next_dirty(t, 2), 9000);
	ck_assert_uint_eq(ks_hpt_table_next_dirty(t, 9001), t->npte);
	ck_assert(!ks_hpte_present(ks_hpt_table_entry(t, 9001)));
	ks_hpt_table_free(t);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_entry_accessors)
{
	struct ks_hpte e = { A_V | KS_HPTE_PEND_R | KS_HPTE_PEND_C,
			     A_R | KS_HPTE_GR_MODIFIED };

	ck_assert(ks_hpte_present(&e));
	ck_assert(ks_hpte_modified(&e));
	ck_assert(ks_hpte_dirty(&e));
	ck_assert_uint_eq(ks_hpte_guest_v(&e), A_V);
	ck_assert_uint_eq(ks_hpte_guest_r(&e), A_R);
	ck_assert_uint_eq(ks_hpte_pending_rc(&e), KS_HPTE_R_R | KS_HPTE_R_C);
	/* Q3: what an HTAB read emits for example A */
	ck_assert_uint_eq(ks_hpte_stream_v(&e), 0x0000000123456ad1ULL);
	e.r = A_R;
	e.v = A_V;
	ck_assert(!ks_hpte_dirty(&e));
	/* an empty entry has no pending bits, whatever v holds */
	e.v = KS_HPTE_PEND_R;
	ck_assert(!ks_hpte_present(&e));
	ck_assert_uint_eq(ks_hpte_pending_rc(&e), 0);
	ck_assert(!ks_hpte_dirty(&e));
}
END_TEST

Suite *suite_hpt(void);
Suite *suite_hpt(void)
{
	Suite *s = suite_create("hpt");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, test_page_size_table);
	tcase_add_test(tc, test_hash_examples);
	tcase_add_test(tc, test_rehash_index_examples);
	tcase_add_test(tc, test_rehash_grow_18_20);
	tcase_add_test(tc, test_rehash_shrink_20_18);
	tcase_add_test(tc, test_rehash_same_order);
	tcase_add_test(tc, test_rehash_shrink_collision);
	tcase_add_test(tc, test_rehash_grow_collision_misplaced);
	tcase_add_test(tc, test_rehash_drops_unbolted_keeps_state);
	tcase_add_test(tc, test_rehash_eio_order);
	tcase_add_test(tc, test_rehash_into_eager_table);
	tcase_add_test(tc, test_storage_sparse_order_46);
	tcase_add_test(tc, test_storage_budget);
	tcase_add_test(tc, test_storage_clear_keeps_modified);
	tcase_add_test(tc, test_entry_accessors);
	suite_add_tcase(s, tc);
	return s;
}
