/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * powerpc hashed page table model and its ioctls (spec: hpt.md).
 *
 * Three layers:
 *  - the HPTE format, page-size decoding and the hash (pure functions);
 *  - struct ks_hpt, one table: 2^order bytes of 16-byte entries, stored
 *    sparsely in chunks of KS_HPT_CHUNK_ENTRIES that are backed (and
 *    charged to the engine's memory budget) when first written;
 *  - the per-VM state (current table, MMU ready, readers, pending resize)
 *    and the operations the ioctls, the guest simulation and the HTAB
 *    stream share.  Those take a struct ks_vm and expect vm->lock held.
 */
#ifndef KVMSHIM_CORE_HPT_H
#define KVMSHIM_CORE_HPT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_vm;
struct ks_uctx;
struct ks_engine;

/* ---- Entry points routed by core/vm.c and core/priv.c ---- */

int ks_hpt_vm_init(struct ks_vm *vm);
void ks_hpt_vm_destroy(struct ks_vm *vm);

long ks_ioctl_ppc_allocate_htab(struct ks_vm *vm, uint64_t arg,
				struct ks_uctx *u);
long ks_ioctl_ppc_resize_hpt_prepare(struct ks_vm *vm, uint64_t arg,
				     struct ks_uctx *u);
long ks_ioctl_ppc_resize_hpt_commit(struct ks_vm *vm, uint64_t arg,
				    struct ks_uctx *u);

/* Guest simulation ioctls (KVMSHIM_PPC_*) on a ppc VM. */
long ks_ppc_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		      struct ks_uctx *u);

/* ---- HPTE format, pre-ISA-v3.0 "old" format (hpt.md §2) ---- */

#define KS_HPTE_V_B_RESERVED (1ULL << 63) /* B = 1x: rejected */
#define KS_HPTE_V_1TB_SEG (1ULL << 62)
#define KS_HPTE_V_AVPN 0x3fffffffffffff80ULL
#define KS_HPTE_V_AVPN_SHIFT 7
#define KS_HPTE_V_HVLOCK 0x40ULL
#define KS_HPTE_V_ABSENT 0x20ULL
#define KS_HPTE_V_BOLTED 0x10ULL
#define KS_HPTE_V_LOCK 0x08ULL
#define KS_HPTE_V_LARGE 0x04ULL
#define KS_HPTE_V_SECONDARY 0x02ULL
#define KS_HPTE_V_VALID 0x01ULL

#define KS_HPTE_R_PP0 (1ULL << 63)
#define KS_HPTE_R_TS (1ULL << 62)
#define KS_HPTE_GR_MODIFIED KS_HPTE_R_TS /* guest view: modified marker */
#define KS_HPTE_R_KEY_HI 0x3000000000000000ULL
#define KS_HPTE_R_RPN 0x0ffffffffffff000ULL
#define KS_HPTE_R_KEY_LO 0xe00ULL
#define KS_HPTE_R_R 0x100ULL
#define KS_HPTE_R_C 0x80ULL
#define KS_HPTE_R_WIMG 0x78ULL
#define KS_HPTE_R_N 0x04ULL
#define KS_HPTE_R_PP 0x03ULL

/* (V & ~0xffffff) of a VRMA HPTE: 1 TiB segment, VSID 0x1ffffff */
#define KS_HPTE_V_VRMA_MASK (~0xffffffULL)
#define KS_HPTE_V_VRMA 0x4001ffffff000000ULL

#define KS_HPT_MIN_ORDER 18
#define KS_HPT_MAX_ORDER 46
#define KS_HPT_DEFAULT_ORDER 24
#define KS_HPTES_PER_GROUP 8

/*
 * Page-size decoding (hpt.md §3): the base shift (used for hashing) and the
 * actual shift of the page an HPTE maps; 0 when the encoding is invalid.
 * The two are either both valid or both 0.
 */
unsigned int ks_hpte_base_shift(uint64_t v, uint64_t r);
unsigned int ks_hpte_actual_shift(uint64_t v, uint64_t r);

/*
 * The hash of hpt.md §4, low 39 bits: 256 MiB segment
 * vsid ^ (off >> pshift); 1 TiB segment vsid ^ (vsid << 25) ^ (off >> pshift).
 * The primary PTEG is hash & mask, the secondary ~hash & mask.
 */
uint64_t ks_hpt_hash(uint64_t vsid, uint64_t seg_off, unsigned int pshift,
		     bool one_tb);

/* PTEG mask and entry count of a table of this order. */
static inline uint64_t ks_hpt_order_mask(unsigned int order)
{
	return (1ULL << (order - 7)) - 1;
}

/*
 * Where the rehash of hpt.md §8.3 puts the bolted entry with V word v and
 * base page shift pshift that sits at index idx of a table with PTEG mask
 * old_mask, in a table with PTEG mask new_mask.
 */
uint64_t ks_hpte_rehash_index(uint64_t v, unsigned int pshift, uint64_t idx,
			      uint64_t old_mask, uint64_t new_mask);

/* ---- One table ---- */

/*
 * An entry as the table stores it, 16 bytes, in the style of Linux's HPT
 * plus reverse map:
 *   v: the V word.  VALID set = present (v then never has HVLOCK or
 *      ABSENT as guest bits); 0 when empty.  The HVLOCK and ABSENT
 *      positions are reused for hardware R and C bits that the hardware
 *      set and no one has harvested into r yet (KS_HPTE_PEND_*).
 *   r: the guest view of R; bit 62 (KS_HPTE_GR_MODIFIED) is the entry's
 *      "modified" flag, which survives the entry being removed.
 * Use the accessors below rather than the raw words.
 */
struct ks_hpte {
	uint64_t v;
	uint64_t r;
};

#define KS_HPTE_PEND_R KS_HPTE_V_HVLOCK
#define KS_HPTE_PEND_C KS_HPTE_V_ABSENT
#define KS_HPTE_PEND_MASK (KS_HPTE_PEND_R | KS_HPTE_PEND_C)

static inline bool ks_hpte_present(const struct ks_hpte *e)
{
	return e->v & KS_HPTE_V_VALID;
}

static inline bool ks_hpte_modified(const struct ks_hpte *e)
{
	return e->r & KS_HPTE_GR_MODIFIED;
}

/* Hardware R/C bits (0x100/0x80 positions) not yet in the guest view. */
static inline uint64_t ks_hpte_pending_rc(const struct ks_hpte *e)
{
	if (!ks_hpte_present(e))
		return 0;
	return ((e->v & KS_HPTE_PEND_R) ? KS_HPTE_R_R : 0) |
	       ((e->v & KS_HPTE_PEND_C) ? KS_HPTE_R_C : 0);
}

/* dirty(e) of htab-fd.md §4: modified, or present with unharvested R/C. */
static inline bool ks_hpte_dirty(const struct ks_hpte *e)
{
	return ks_hpte_modified(e) ||
	       (ks_hpte_present(e) && (e->v & KS_HPTE_PEND_MASK));
}

/* The guest's V word (VALID set) and R word (bit 62 clear). */
static inline uint64_t ks_hpte_guest_v(const struct ks_hpte *e)
{
	return e->v & ~KS_HPTE_PEND_MASK;
}

static inline uint64_t ks_hpte_guest_r(const struct ks_hpte *e)
{
	return e->r & ~KS_HPTE_GR_MODIFIED;
}

/* The V word an HTAB read emits: VALID and HVLOCK set (Q3). */
static inline uint64_t ks_hpte_stream_v(const struct ks_hpte *e)
{
	return ks_hpte_guest_v(e) | KS_HPTE_V_VALID | KS_HPTE_V_HVLOCK;
}

#define KS_HPT_CHUNK_SHIFT 12 /* entries per chunk: 64 KiB of storage */
#define KS_HPT_CHUNK_ENTRIES (1ULL << KS_HPT_CHUNK_SHIFT)
#define KS_HPT_LEAF_SHIFT 12 /* chunks per leaf directory */
#define KS_HPT_LEAF_CHUNKS (1ULL << KS_HPT_LEAF_SHIFT)
#define KS_HPT_LEAF_ENTRY_SHIFT (KS_HPT_CHUNK_SHIFT + KS_HPT_LEAF_SHIFT)

/* A chunk slot of a leaf directory. */
struct ks_hpt_chunk {
	struct ks_hpte *e; /* NULL: not backed, every entry empty and clean */
	uint32_t n_present;
	uint32_t n_dirty;
};

/*
 * Chunk storage: mappings of up to 2 MiB (so that transparent huge pages
 * can back them) handed out one chunk at a time, in the order chunks are
 * first written.  A sparse table thus costs about what it uses.
 */
struct ks_hpt_slab {
	struct ks_hpt_slab *next;
	char *base;
	size_t len;
	size_t used;
};

/* Directory of up to KS_HPT_LEAF_CHUNKS chunks, allocated on first use. */
struct ks_hpt_leaf {
	uint64_t n_present;
	uint64_t n_dirty;
	uint32_t n_chunks;
	uint32_t pad;
	struct ks_hpt_chunk c[];
};

struct ks_hpt {
	struct ks_engine *eng;
	unsigned int order;
	uint64_t npte; /* 2^(order - 4) */
	uint64_t mask; /* PTEG mask, 2^(order - 7) - 1 */
	uint64_t n_present;
	uint64_t n_dirty;
	size_t charged; /* bytes charged to the engine */
	struct ks_hpt_slab *slabs; /* chunk storage; the first has room */
	struct ks_hpte *flat; /* all entries in index order, when eager */
	size_t n_leaves;
	struct ks_hpt_leaf *leaf[];
};

/*
 * A new table, every entry empty and clean (M10).  Fails with -ENOMEM when
 * the fixed cost (the table and its top directory) exceeds the budget.
 * With eager, the whole table is backed and touched now, as Linux
 * allocates and clears it, if it is at most 2^KS_HPT_EAGER_MAX_ORDER
 * bytes and the budget allows; otherwise (and without eager) chunks are
 * backed when first written.
 */
#define KS_HPT_EAGER_MAX_ORDER 26
int ks_hpt_table_new(struct ks_engine *eng, unsigned int order, bool eager,
		     struct ks_hpt **out);
void ks_hpt_table_free(struct ks_hpt *t);
/*
 * Every entry empty; modified flags are kept (hpt.md §7 row 6).  Storage
 * stays backed for reuse.
 */
void ks_hpt_table_clear(struct ks_hpt *t);

/* Entry idx (< npte), or NULL when its chunk is not backed. */
static inline struct ks_hpte *ks_hpt_table_entry(const struct ks_hpt *t,
						 uint64_t idx)
{
	const struct ks_hpt_leaf *l = t->leaf[idx >> KS_HPT_LEAF_ENTRY_SHIFT];
	struct ks_hpte *e;

	if (!l)
		return NULL;
	e = l->c[(idx >> KS_HPT_CHUNK_SHIFT) & (KS_HPT_LEAF_CHUNKS - 1)].e;
	return e ? e + (idx & (KS_HPT_CHUNK_ENTRIES - 1)) : NULL;
}

/* Stores v and r at idx (< npte), backing its chunk: 0 or -ENOMEM. */
int ks_hpt_table_set(struct ks_hpt *t, uint64_t idx, uint64_t v, uint64_t r);

/* First index >= from that is dirty / present; npte if there is none. */
uint64_t ks_hpt_table_next_dirty(const struct ks_hpt *t, uint64_t from);
uint64_t ks_hpt_table_next_present(const struct ks_hpt *t, uint64_t from);

/*
 * The rehash of hpt.md §8.3 from old (may be NULL: nothing to move) into
 * new, which must be empty: 0, -EIO (undecodable page size), -ENOSPC
 * (collision), or -ENOMEM (a chunk of new could not be backed).  old is
 * never changed; on failure new holds a partial result.
 */
int ks_hpt_table_rehash(const struct ks_hpt *old, struct ks_hpt *nt);

/* ---- Per-VM state ---- */

enum ks_hpt_worker_mode {
	KS_HPT_WORKER_NOW,
	KS_HPT_WORKER_DELAY,
	KS_HPT_WORKER_HOLD,
};

/* A pending resize (Linux's struct kvm_resize_hpt). */
struct ks_hpt_resize {
	unsigned int order;
	int error; /* -EBUSY while allocating, 0 ready, else -errno */
	struct ks_hpt *table; /* when ready */
	bool taken; /* the worker has it; if cancelled, the worker frees it */
	enum ks_hpt_worker_mode mode;
	uint32_t delay_ms;
	uint64_t release_gen;
};

struct ks_hpt_state {
	struct ks_hpt *cur; /* NULL: no HPT */
	bool mmu_ready;
	unsigned int readers; /* open HTAB read fds */
	unsigned int writers; /* open HTAB write fds (status only) */
	struct ks_hpt_resize *resize; /* pending, or NULL */
	/* the resize worker (one thread at a time per VM) */
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_running;
	bool worker_joinable;
	bool dying;
	enum ks_hpt_worker_mode worker_mode;
	uint32_t worker_delay_ms;
	uint64_t release_gen;
	/* injected allocation failures still to come */
	uint32_t fail_htab;
	uint32_t fail_resize;
};

/*
 * Internal API shared with the HTAB stream and the guest simulation.
 * Every function below expects vm->lock held.
 *
 * Indices are 64-bit.  The HTAB stream's record header carries a 32-bit
 * index, so for tables of order > 36 (more than 2^32 entries) the stream
 * reports indices truncated to 32 bits and a write cannot address higher
 * ones (htab-fd.md §4): that truncation belongs to the stream.
 */

/* The current table, or NULL when the VM has no HPT. */
struct ks_hpt *ks_hpt_cur(const struct ks_vm *vm);
/* Entries of the current table; 0 with no HPT (hpt.md §7). */
uint64_t ks_hpt_npte(const struct ks_vm *vm);

bool ks_hpt_mmu_ready(const struct ks_vm *vm);
void ks_hpt_set_mmu_ready(struct ks_vm *vm, bool ready);

/* Open HTAB read fds: while > 0, changes mark entries modified (§1). */
void ks_hpt_readers_inc(struct ks_vm *vm);
void ks_hpt_readers_dec(struct ks_vm *vm);

/* A copy of entry idx; false (and *e zeroed) when idx >= npte. */
bool ks_hpt_get(const struct ks_vm *vm, uint64_t idx, struct ks_hpte *e);

/*
 * A run of stored entries for iteration in index order: the entries from
 * idx to the end of idx's chunk (capped at npte).  sp->e is NULL when the
 * chunk is not backed (all of its entries are empty and clean);
 * n_present/n_dirty are the chunk's counts, so a clean chunk without
 * present entries can be skipped whole.  Returns false when idx >= npte.
 */
struct ks_hpt_span {
	const struct ks_hpte *e;
	uint64_t n;
	uint32_t n_present;
	uint32_t n_dirty;
};
bool ks_hpt_span(const struct ks_vm *vm, uint64_t idx, struct ks_hpt_span *sp);

/* First index >= from that is dirty / present; npte if there is none. */
uint64_t ks_hpt_next_dirty(const struct ks_vm *vm, uint64_t from);
uint64_t ks_hpt_next_present(const struct ks_vm *vm, uint64_t from);

/*
 * Enter (v, r) at idx, the checks of hpt.md §6 without H_ENTER's slot
 * logic (as HTAB writes use it).  idx must be < npte and empty.
 * 0; -EINVAL when the entry is rejected (B = 1x, undecodable page size,
 * misaligned memslot); -ENOMEM when its chunk cannot be backed (an HTAB
 * write can report that as a rejected entry).  Stores v with HVLOCK and
 * ABSENT cleared and VALID set, r with bit 62 cleared, no pending R/C,
 * and modified = (readers > 0).
 */
int ks_hpt_enter(struct ks_vm *vm, uint64_t idx, uint64_t v, uint64_t r);

/* Removes a present entry (marked modified if readers > 0); false if empty. */
bool ks_hpt_remove(struct ks_vm *vm, uint64_t idx);

/*
 * Moves idx's pending hardware R/C bits into its guest view and returns
 * them (0: nothing new).  New bits mark the entry modified if readers > 0.
 */
uint64_t ks_hpt_harvest_rc(struct ks_vm *vm, uint64_t idx);

/* Clears idx's modified flag (an HTAB read reported it). */
void ks_hpt_clear_modified(struct ks_vm *vm, uint64_t idx);

/*
 * Sets hardware R/C bits (KS_HPTE_R_R / KS_HPTE_R_C) of a present entry;
 * bits already in the guest view are not pending.  -EINVAL for idx >=
 * npte or other bits, -ENOENT for an empty entry.
 */
int ks_hpt_set_hw_rc(struct ks_vm *vm, uint64_t idx, uint64_t bits);

/* Model memory held by the VM's tables (current and prepared). */
uint64_t ks_hpt_mem_bytes(const struct ks_vm *vm);

/* The guest's H_ENTER (hpt.md §6); see KVMSHIM_PPC_H_ENTER. */
int ks_hpt_h_enter(struct ks_vm *vm, uint64_t flags, uint64_t *idx, uint64_t v,
		   uint64_t r);
/* The guest's H_REMOVE; old V and R in *v, *r on success. */
int ks_hpt_h_remove(struct ks_vm *vm, uint64_t flags, uint64_t idx,
		    uint64_t avpn, uint64_t *v, uint64_t *r);
/* The guest's H_PROTECT; the new guest R in *r on success. */
int ks_hpt_h_protect(struct ks_vm *vm, uint64_t flags, uint64_t idx,
		     uint64_t avpn, uint64_t bits, uint64_t *r);
/* The first vCPU run (hpt.md §7): 0, -ENOMEM or -EINVAL. */
int ks_hpt_first_run(struct ks_vm *vm);

#endif /* KVMSHIM_CORE_HPT_H */
