/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sparse storage behind the s390 CMMA model: the per-slot CMMA dirty bitmap
 * and the per-host-page state bytes.  Both grow with what is touched, not
 * with the guest's size, and charge what they hold as model memory.
 * Callers serialise access (the VM lock).
 */
#ifndef KVMSHIM_CORE_CMMA_STORE_H
#define KVMSHIM_CORE_CMMA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_engine;

/*
 * A bitmap of nbits bits in chunks of KS_BM_CHUNK_BITS.  A chunk is NULL
 * (all clear), the shared all-ones sentinel (all set, as migration START
 * leaves every chunk) or a private array of words.  Only private chunks
 * cost memory, so a START on a huge slot is cheap, and a drain frees the
 * chunks it empties.
 */
#define KS_BM_CHUNK_SHIFT 15
#define KS_BM_CHUNK_BITS (1ULL << KS_BM_CHUNK_SHIFT)
#define KS_BM_CHUNK_WORDS (KS_BM_CHUNK_BITS / 64)

struct ks_bitmap {
	uint64_t nbits;
	uint64_t nset; /* bits set in the whole bitmap */
	size_t nchunks;
	uint64_t **chunk;
	uint32_t *chunk_set; /* bits set per chunk */
};

int ks_bitmap_new(struct ks_engine *eng, uint64_t nbits,
		  struct ks_bitmap **out);
void ks_bitmap_free(struct ks_engine *eng, struct ks_bitmap *bm);
/* Sets every bit; never fails. */
void ks_bitmap_fill(struct ks_engine *eng, struct ks_bitmap *bm);
bool ks_bitmap_test(const struct ks_bitmap *bm, uint64_t bit);
/* The first set bit at or after bit, or nbits. */
uint64_t ks_bitmap_next_set(const struct ks_bitmap *bm, uint64_t bit);
/* The first clear bit in [bit, limit), or limit. */
uint64_t ks_bitmap_next_clear(const struct ks_bitmap *bm, uint64_t bit,
			      uint64_t limit);
/*
 * Makes sure that bits [bit, bit + n) can be set without allocating:
 * 0 or -ENOMEM (then nothing changed).
 */
int ks_bitmap_prepare_set(struct ks_engine *eng, struct ks_bitmap *bm,
			  uint64_t bit, uint64_t n);
/* Sets a bit whose chunk was prepared; returns its old value. */
bool ks_bitmap_test_and_set(struct ks_bitmap *bm, uint64_t bit);
/*
 * Clears one bit, the common step of a migration: 1 if it was set, 0 if
 * not, -ENOMEM if it is in an all-set chunk that could not be split.
 */
int ks_bitmap_clear_bit(struct ks_engine *eng, struct ks_bitmap *bm,
			uint64_t bit);
/*
 * Clears bits [bit, bit + n).  Returns the number of bits it cleared from
 * the start of the range, which is less than n only when memory for a
 * partly cleared all-set chunk could not be had; *was_set counts the bits
 * among them that were set.
 */
uint64_t ks_bitmap_clear(struct ks_engine *eng, struct ks_bitmap *bm,
			 uint64_t bit, uint64_t n, uint64_t *was_set);

/*
 * Page states, one byte per 4 KiB host page (the CMMA value byte: usage
 * bits 0x03 and NODAT 0x40), keyed by host page number.  A page that was
 * never given a non-zero state has no storage and reads as 0.  Leaves of
 * KS_PG_LEAF_PAGES pages are found through an open-addressing hash table.
 */
#define KS_PG_LEAF_SHIFT 12
#define KS_PG_LEAF_PAGES (1ULL << KS_PG_LEAF_SHIFT)
/* Host page numbers are 52 bits: addresses wrap at 2^64. */
#define KS_PG_HPN_MASK ((1ULL << 52) - 1)

struct ks_pg_entry {
	uint64_t key; /* leaf number, or KS_PG_EMPTY */
	uint8_t *leaf;
};

struct ks_pgstates {
	struct ks_pg_entry *tab;
	size_t cap; /* 0 or a power of two */
	size_t n;
	/*
	 * The two leaves looked up last, most recent first: runs touch the
	 * same leaf repeatedly, and a migration alternates between the leaf
	 * it drains and the one QEMU's one-value PEEK reads.
	 */
	uint64_t hit_key[2];
	uint8_t *hit_leaf[2];
};

void ks_pg_init(struct ks_pgstates *pg);
void ks_pg_free(struct ks_engine *eng, struct ks_pgstates *pg);
/* Forgets every state (all pages read 0 again) and releases the memory. */
void ks_pg_clear(struct ks_engine *eng, struct ks_pgstates *pg);
uint8_t ks_pg_get(struct ks_pgstates *pg, uint64_t hpn);
/* Copies the states of n consecutive host pages from hpn to dst. */
void ks_pg_read(struct ks_pgstates *pg, uint64_t hpn, uint64_t n, uint8_t *dst);
/* Creates storage for host pages [hpn, hpn + n): 0 or -ENOMEM. */
int ks_pg_prepare(struct ks_engine *eng, struct ks_pgstates *pg, uint64_t hpn,
		  uint64_t n);
/*
 * Sets the bits in mask of page hpn to those of val.  Storage must exist
 * unless the page's new value is 0.
 */
void ks_pg_update(struct ks_pgstates *pg, uint64_t hpn, uint8_t mask,
		  uint8_t val);
/* Bytes of model memory the states hold. */
uint64_t ks_pg_bytes(const struct ks_pgstates *pg);

#endif /* KVMSHIM_CORE_CMMA_STORE_H */
