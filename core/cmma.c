// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * s390 CMMA (spec: cmma.md): page usage states, migration mode with its
 * dirty scan, KVM_S390_GET/SET_CMMA_BITS, the VM device attributes, and the
 * simulated guest ESSA.
 *
 * States belong to host pages (a slot's userspace_addr plus the offset), so
 * two slots mapping the same memory share them and they outlive the slots.
 * Each slot with KVM_MEM_LOG_DIRTY_PAGES owns a CMMA dirty bitmap (its
 * arch pointer).  Guest frames are 4 KiB: gfn = gpa >> 12.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmshim/kvmshim.h"

#include "cmma.h"
#include "cmma_store.h"
#include "internal.h"
#include "status.h"

#define GFN_SHIFT 12
/* the CMMA bits of a PGSTE, in value-byte positions: usage and NODAT */
#define CMMA_VALUE_MASK 0x43
#define CMMA_PGSTE_MASK 0x43000000ULL
/* KVM_S390_MAX_BIT_DISTANCE: 2 * sizeof(void *) */
#define CMMA_MAX_BIT_DISTANCE 16
/* values up to this many go through a buffer on the stack */
#define CMMA_STACK_VALUES 512

struct ks_cmma_state {
	bool use_cmma;
	bool uses_cmm;
	bool migration_mode;
	uint64_t dirty_count;
	struct ks_pgstates pg;
	/*
	 * GET's value buffer, kept between calls: a migration issues
	 * millions of them, and a fresh 512 KiB allocation each time costs
	 * more than the scan.
	 */
	uint8_t *scratch;
	size_t scratch_size;
	/*
	 * The answer of the scan's last search, for the next GET: QEMU
	 * resumes at start_gfn + count, where that search already looked.
	 * Every frame in [memo_from, memo_next) is clean and memo_next is
	 * dirty, in slot memo_slot; or memo_next is the end of memory and
	 * memo_slot the number of slots.  Whatever sets a dirty bit or
	 * changes the slots forgets it.
	 */
	bool memo_valid;
	uint64_t memo_from, memo_next;
	size_t memo_slot;
};

int ks_cmma_vm_init(struct ks_vm *vm)
{
	struct ks_cmma_state *st;

	if (ks_mem_charge(vm->eng, sizeof(*st)))
		return -ENOMEM;
	st = calloc(1, sizeof(*st));
	if (!st) {
		ks_mem_uncharge(vm->eng, sizeof(*st));
		return -ENOMEM;
	}
	ks_pg_init(&st->pg);
	vm->cmma = st;
	return 0;
}

void ks_cmma_vm_destroy(struct ks_vm *vm)
{
	struct ks_cmma_state *st = vm->cmma;

	if (!st)
		return;
	ks_pg_free(vm->eng, &st->pg);
	if (st->scratch_size)
		ks_mem_uncharge(vm->eng, st->scratch_size);
	free(st->scratch);
	free(st);
	ks_mem_uncharge(vm->eng, sizeof(*st));
	vm->cmma = NULL;
}

/* Slot geometry in guest frames */

static uint64_t slot_base(const struct ks_memslot *m)
{
	return ks_memslot_base(m, GFN_SHIFT);
}

static uint64_t slot_pages(const struct ks_memslot *m)
{
	return m->size >> GFN_SHIFT;
}

static struct ks_bitmap *slot_bitmap(const struct ks_memslot *m)
{
	return m->arch;
}

/* Host page number of frame gfn of slot m. */
static uint64_t slot_hpn(const struct ks_memslot *m, uint64_t gfn)
{
	return ((m->uaddr >> GFN_SHIFT) + (gfn - slot_base(m))) &
	       KS_PG_HPN_MASK;
}

/* Index of the slot holding gfn, or s->n. */
static size_t slot_of(const struct ks_memslots *s, uint64_t gfn)
{
	size_t i = ks_memslot_index_above(s, gfn, GFN_SHIFT);

	if (i < s->n && gfn >= slot_base(&s->v[i]))
		return i;
	return s->n;
}

/* The end of guest memory: the end of the highest slot. */
static uint64_t mem_end(const struct ks_memslots *s)
{
	return ks_memslot_end(&s->v[s->n - 1], GFN_SHIFT);
}

/*
 * How many of the count frames from gfn lie in memory before the first
 * frame that is in no slot.  *first is the slot of gfn.
 */
static uint64_t frames_in_memory(const struct ks_memslots *s, uint64_t gfn,
				 uint64_t count, size_t *first)
{
	size_t i = slot_of(s, gfn);
	uint64_t done = 0;

	*first = i;
	while (i < s->n && done < count) {
		uint64_t end = ks_memslot_end(&s->v[i], GFN_SHIFT);
		uint64_t n = end - (gfn + done);

		done += n < count - done ? n : count - done;
		if (done == count || ++i == s->n ||
		    slot_base(&s->v[i]) != gfn + done)
			break;
	}
	return done;
}

/*
 * NEXT (cmma.md §6.2): the first CMMA-dirty frame at or after gfn,
 * starting in slot i at offset ofs, without wrapping; mem_end if none.
 * *where is the slot it was found in (s->n if none).
 */
static uint64_t next_dirty_in(const struct ks_memslots *s, size_t i,
			      uint64_t ofs, size_t *where)
{
	for (; i < s->n; i++, ofs = 0) {
		const struct ks_bitmap *bm = slot_bitmap(&s->v[i]);
		uint64_t b;

		/* a slot without a bitmap is clean */
		if (!bm || !bm->nset)
			continue;
		b = ks_bitmap_next_set(bm, ofs);
		if (b < bm->nbits) {
			*where = i;
			return slot_base(&s->v[i]) + b;
		}
	}
	*where = s->n;
	return mem_end(s);
}

/* NEXT(gfn) with Linux's wrap to the lowest slot from beyond memory. */
static uint64_t next_dirty(const struct ks_vm *vm, uint64_t gfn, size_t *where)
{
	const struct ks_cmma_state *st = vm->cmma;
	const struct ks_memslots *s = &vm->slots;
	size_t i;
	uint64_t base;

	if (st->memo_valid && gfn >= st->memo_from &&
	    (gfn < st->memo_next ||
	     (gfn == st->memo_next && st->memo_slot < s->n))) {
		*where = st->memo_slot;
		return st->memo_next;
	}
	i = ks_memslot_index_above(s, gfn, GFN_SHIFT);
	if (i == s->n)
		return next_dirty_in(s, 0, 0, where);
	base = slot_base(&s->v[i]);
	return next_dirty_in(s, i, gfn > base ? gfn - base : 0, where);
}

/* NEXT(cur + 1) where cur is in slot i: no search for the slot. */
static uint64_t next_dirty_after(const struct ks_memslots *s, uint64_t cur,
				 size_t i, size_t *where)
{
	const struct ks_memslot *m = &s->v[i];

	if (cur + 1 < ks_memslot_end(m, GFN_SHIFT))
		return next_dirty_in(s, i, cur + 1 - slot_base(m), where);
	if (i + 1 < s->n)
		return next_dirty_in(s, i + 1, 0, where);
	return next_dirty_in(s, 0, 0, where);
}

/*
 * Consumes frames [cur, cur + n) of slot m: clears their dirty bits and
 * stores their states.  Returns how many it consumed (fewer than n only
 * when memory ran out splitting an all-set bitmap chunk).
 */
static uint64_t consume(struct ks_vm *vm, const struct ks_memslot *m,
			uint64_t cur, uint64_t n, uint8_t *dst)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_bitmap *bm = slot_bitmap(m);
	uint64_t done = n, was_set = 0;

	if (bm)
		done = ks_bitmap_clear(vm->eng, bm, cur - slot_base(m), n,
				       &was_set);
	st->dirty_count -= was_set;
	ks_pg_read(&st->pg, slot_hpn(m, cur), done, dst);
	return done;
}

/* consume() of the single frame cur: false if memory ran out. */
static bool consume_one(struct ks_vm *vm, const struct ks_memslot *m,
			uint64_t cur, uint8_t *dst)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_bitmap *bm = slot_bitmap(m);

	if (bm) {
		int was_set =
			ks_bitmap_clear_bit(vm->eng, bm, cur - slot_base(m));

		if (was_set < 0)
			return false;
		st->dirty_count -= (uint64_t)was_set;
	}
	*dst = ks_pg_get(&st->pg, slot_hpn(m, cur));
	return true;
}

/*
 * The non-peek scan of cmma.md §6.3 for at most B values into buf.  On
 * return log->start_gfn and log->count describe the run.  Equivalent to
 * Linux's loop; runs of consecutive dirty frames are consumed a word at a
 * time instead of frame by frame.  Returns 0, or -ENOMEM if not even the
 * first frame could be consumed.
 */
static int scan_dirty(struct ks_vm *vm, struct ks_s390_cmma_log *log,
		      uint8_t *buf, uint64_t B)
{
	struct ks_cmma_state *st = vm->cmma;
	const struct ks_memslots *s = &vm->slots;
	uint64_t end = mem_end(s), start, cur, nxt, nxt_from, count = 0;
	const struct ks_memslot *m;
	bool cur_dirty = true, oom = false;
	size_t si, nxt_si;

	nxt_from = log->start_gfn;
	nxt = cur = next_dirty(vm, log->start_gfn, &si);
	nxt_si = si;
	/* the scan clears bits: the memo is rebuilt at its end */
	st->memo_valid = false;
	log->start_gfn = cur;
	log->count = 0;
	if (si == s->n)
		goto out; /* nothing found: start_gfn is the end of memory */
	start = cur;
	m = &s->v[si];
	nxt_from = cur + 1;
	nxt = next_dirty_after(s, cur, si, &nxt_si);
	while (count < B) {
		uint64_t base = slot_base(m), took;

		if (cur_dirty) {
			/*
			 * Every frame of a run of set bits but the last has
			 * its successor as next dirty frame: Linux takes it
			 * and goes on unless the buffer is full.
			 */
			const struct ks_bitmap *bm = slot_bitmap(m);
			uint64_t off = cur - base, lim = B - count + 1, run = 1;

			if (lim > bm->nbits - off)
				lim = bm->nbits - off;
			/* scattered dirty frames: no run to look for */
			if (lim > 1 && ks_bitmap_test(bm, off + 1))
				run = ks_bitmap_next_clear(bm, off, off + lim) -
				      off;
			if (run > 1) {
				took = consume(vm, m, cur, run - 1,
					       buf + count);
				count += took;
				cur += took;
				if (took < run - 1) {
					oom = true;
					break;
				}
				nxt = nxt_from = cur;
				nxt_si = si;
				if (count == B)
					break;
			}
		}
		if (!consume_one(vm, m, cur, buf + count)) {
			oom = true;
			break;
		}
		count++;
		if (nxt > cur + CMMA_MAX_BIT_DISTANCE)
			break;
		if (cur == nxt) {
			nxt_from = cur + 1;
			nxt = next_dirty_after(s, cur, si, &nxt_si);
		}
		if (nxt >= end || nxt - start >= B)
			break;
		cur++;
		if (cur - base >= slot_pages(m)) {
			if (si + 1 == s->n || slot_base(&s->v[si + 1]) != cur)
				break;
			m = &s->v[++si];
		}
		cur_dirty = cur == nxt;
	}
	log->count = (uint32_t)count;
	if (oom && !count)
		return -ENOMEM;
out:
	/*
	 * Frames [nxt_from, nxt) were clean when nxt was found and have at
	 * most been consumed since; nxt was not.  A search that wrapped
	 * below its start says nothing about the frames after it.
	 */
	if (!oom && nxt_from <= nxt && nxt_from < end) {
		st->memo_valid = true;
		st->memo_from = nxt_from;
		st->memo_next = nxt;
		st->memo_slot = nxt_si;
	}
	return 0;
}

/*
 * PEEK (cmma.md §6.1): states from start_gfn, which is in slot si, up to a
 * hole or B values.
 */
static void scan_peek(struct ks_vm *vm, struct ks_s390_cmma_log *log,
		      uint8_t *buf, uint64_t B, size_t si)
{
	const struct ks_memslots *s = &vm->slots;
	uint64_t gfn = log->start_gfn, done = 0;

	for (;;) {
		const struct ks_memslot *m = &s->v[si];
		uint64_t span = ks_memslot_end(m, GFN_SHIFT) - gfn;

		if (span > B - done)
			span = B - done;
		ks_pg_read(&vm->cmma->pg, slot_hpn(m, gfn), span, buf + done);
		done += span;
		gfn += span;
		if (done == B || ++si == s->n || slot_base(&s->v[si]) != gfn)
			break;
	}
	log->count = (uint32_t)done;
}

/* The largest number of values one GET can return through u (D1). */
static uint64_t get_limit(const struct ks_uctx *u, uint32_t count)
{
	uint64_t B = count < KS_S390_SKEYS_MAX ? count : KS_S390_SKEYS_MAX;
	uint64_t cap = u->out_cap > sizeof(struct ks_s390_cmma_log) ?
			       u->out_cap - sizeof(struct ks_s390_cmma_log) :
			       0;

	return B < cap ? B : cap;
}

/* A buffer for B values (row 7: -ENOMEM if there is none). */
static uint8_t *get_buffer(struct ks_vm *vm, uint64_t B, uint8_t *stack_buf)
{
	struct ks_cmma_state *st = vm->cmma;
	size_t size = st->scratch_size ? st->scratch_size : 4096;
	uint8_t *p;

	if (B <= CMMA_STACK_VALUES)
		return stack_buf;
	if (B <= st->scratch_size)
		return st->scratch;
	while (size < B)
		size *= 2;
	if (ks_mem_charge(vm->eng, size - st->scratch_size))
		return NULL;
	p = realloc(st->scratch, size);
	if (!p) {
		ks_mem_uncharge(vm->eng, size - st->scratch_size);
		return NULL;
	}
	st->scratch = p;
	st->scratch_size = size;
	return p;
}

/* Rows 5 and 6: the cases that answer an all-zero struct. */
static long get_all_zero(uint64_t arg, struct ks_uctx *u)
{
	struct ks_s390_cmma_log z;
	long ret;

	ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	memset(&z, 0, sizeof(z));
	return ks_copy_to_user(u, arg, &z, sizeof(z));
}

/*
 * Linux copies the values out before the struct, so where the values
 * buffer overlaps the struct, the struct's bytes are what the caller ends
 * up with.  The values are written last here (D8), so they carry those
 * bytes.
 */
static void overlay_struct(uint8_t *buf, uint64_t n, uint64_t values,
			   const struct ks_s390_cmma_log *log, uint64_t arg)
{
	const uint8_t *p = (const uint8_t *)log;
	uint64_t into = arg - values, skip = values - arg, len;

	/* one of the two is small unless the ranges are far apart */
	if (into < n) {
		len = n - into < sizeof(*log) ? n - into : sizeof(*log);
		memcpy(buf + into, p, len);
	} else if (skip < sizeof(*log)) {
		len = sizeof(*log) - skip < n ? sizeof(*log) - skip : n;
		memcpy(buf, p + skip, len);
	}
}

static long get_cmma_locked(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u,
			    uint8_t *stack_buf)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_s390_cmma_log log;
	uint8_t *buf;
	size_t si = 0;
	bool peek;
	uint64_t B, n;
	long ret;

	/*
	 * Every answer but an error writes the struct back: declaring it
	 * with the first read lets CUSE answer an all-zero result in the
	 * round that finds it (cuse.md §7.3).
	 */
	ret = ks_want_to_user(u, arg, sizeof(log));
	if (!ret)
		ret = ks_copy_from_user(u, &log, arg, sizeof(log));
	if (ret)
		return ret;
	if (!st->use_cmma)
		return -ENXIO;
	if (log.flags & ~KS_S390_CMMA_PEEK)
		return -EINVAL;
	peek = log.flags & KS_S390_CMMA_PEEK;
	if (!peek && !st->migration_mode)
		return -EINVAL;
	B = get_limit(u, log.count);
	if (!B || !st->uses_cmm || (!peek && !st->dirty_count))
		return get_all_zero(arg, u);
	buf = get_buffer(vm, B, stack_buf);
	if (!buf)
		return -ENOMEM;
	if (peek) {
		si = slot_of(&vm->slots, log.start_gfn);
		if (si == vm->slots.n)
			return -EFAULT;
	}
	ret = ks_want_to_user(u, log.values, B);
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;

	if (peek) {
		scan_peek(vm, &log, buf, B, si);
	} else if (!vm->slots.n) {
		/* M5: Linux copies uninitialised memory here */
		memset(buf, 0, B);
		ret = 0;
	} else {
		ret = scan_dirty(vm, &log, buf, B);
		if (ret)
			return ret;
	}
	log.remaining = st->migration_mode ? st->dirty_count : 0;
	n = vm->slots.n || peek ? log.count : B;
	overlay_struct(buf, n, log.values, &log, arg);
	/* D8: the struct goes first, so it is written even if values fault */
	ret = ks_copy_to_user(u, arg, &log, sizeof(log));
	if (!ret)
		ret = ks_copy_to_user(u, log.values, buf, n);
	return ret;
}

long ks_ioctl_s390_get_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u)
{
	uint8_t stack_buf[CMMA_STACK_VALUES];
	long ret;

	pthread_mutex_lock(&vm->lock);
	ret = get_cmma_locked(vm, arg, u, stack_buf);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/*
 * Calls fn for each piece of the n frames from gfn, which are in memory
 * and start in slot si: the slot, the piece's first frame and its length.
 */
static int for_each_piece(const struct ks_memslots *s, uint64_t gfn, uint64_t n,
			  size_t si,
			  int (*fn)(void *opaque, const struct ks_memslot *m,
				    uint64_t gfn, uint64_t off, uint64_t len),
			  void *opaque)
{
	uint64_t done = 0;
	int ret;

	while (done < n) {
		const struct ks_memslot *m = &s->v[si++];
		uint64_t g = gfn + done;
		uint64_t span = ks_memslot_end(m, GFN_SHIFT) - g;

		if (span > n - done)
			span = n - done;
		ret = fn(opaque, m, g, done, span);
		if (ret)
			return ret;
		done += span;
	}
	return 0;
}

struct set_work {
	struct ks_vm *vm;
	const uint8_t *vals;
	uint8_t mask;
	bool apply; /* false: only create the storage the values need */
};

static int set_piece(void *opaque, const struct ks_memslot *m, uint64_t gfn,
		     uint64_t off, uint64_t len)
{
	struct set_work *w = opaque;
	struct ks_pgstates *pg = &w->vm->cmma->pg;
	uint64_t hpn = slot_hpn(m, gfn), k;

	for (k = 0; k < len; k++) {
		uint8_t v = w->vals[off + k];
		uint64_t h = (hpn + k) & KS_PG_HPN_MASK;

		if (w->apply)
			ks_pg_update(pg, h, w->mask, v);
		else if ((v & w->mask) && ks_pg_prepare(w->vm->eng, pg, h, 1))
			return -ENOMEM;
	}
	return 0;
}

static long set_cmma_locked(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_s390_cmma_log log;
	struct set_work w = { .vm = vm };
	uint8_t *vals;
	uint64_t n;
	size_t si;
	long ret;

	ret = ks_copy_from_user(u, &log, arg, sizeof(log));
	if (ret)
		return ret;
	if (!st->use_cmma)
		return -ENXIO;
	if (log.flags)
		return -EINVAL;
	if (log.count > KS_S390_SKEYS_MAX)
		return -EINVAL;
	if (!log.count)
		return ks_uctx_ready(u);
	vals = malloc(log.count);
	if (!vals)
		return -ENOMEM;
	ret = ks_copy_from_user(u, vals, log.values, log.count);
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		goto out;

	/* Q13: the mask is in PGSTE bit positions */
	w.mask = (uint8_t)((log.mask & CMMA_PGSTE_MASK) >> 24);
	w.vals = vals;
	n = frames_in_memory(&vm->slots, log.start_gfn, log.count, &si);
	ret = for_each_piece(&vm->slots, log.start_gfn, n, si, set_piece, &w);
	if (ret)
		goto out;
	w.apply = true;
	for_each_piece(&vm->slots, log.start_gfn, n, si, set_piece, &w);
	/* Q14: set even when a hole stops the loop */
	st->uses_cmm = true;
	ret = n < log.count ? -EFAULT : 0;
out:
	free(vals);
	return ret;
}

long ks_ioctl_s390_set_cmma_bits(struct ks_vm *vm, uint64_t arg,
				 struct ks_uctx *u)
{
	long ret;

	pthread_mutex_lock(&vm->lock);
	ret = set_cmma_locked(vm, arg, u);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* Simulated guest ESSA */

struct essa_work {
	struct ks_vm *vm;
	uint8_t val;
	bool apply;
};

static int essa_piece(void *opaque, const struct ks_memslot *m, uint64_t gfn,
		      uint64_t off, uint64_t len)
{
	struct essa_work *w = opaque;
	struct ks_cmma_state *st = w->vm->cmma;
	struct ks_bitmap *bm = slot_bitmap(m);
	uint64_t hpn = slot_hpn(m, gfn), bit = gfn - slot_base(m), k;
	bool mark = st->migration_mode && bm;

	(void)off;
	if (!w->apply) {
		if (w->val && ks_pg_prepare(w->vm->eng, &st->pg, hpn, len))
			return -ENOMEM;
		if (mark && ks_bitmap_prepare_set(w->vm->eng, bm, bit, len))
			return -ENOMEM;
		return 0;
	}
	for (k = 0; k < len; k++) {
		ks_pg_update(&st->pg, (hpn + k) & KS_PG_HPN_MASK,
			     CMMA_VALUE_MASK, w->val);
		if (mark && !ks_bitmap_test_and_set(bm, bit + k)) {
			st->dirty_count++;
			st->memo_valid = false;
		}
	}
	return 0;
}

static int guest_essa_locked(struct ks_vm *vm, uint64_t gfn, uint64_t count,
			     unsigned int usage, bool nodat)
{
	struct ks_cmma_state *st = vm->cmma;
	struct essa_work w = { .vm = vm };
	size_t si;
	int ret;

	if (!vm->vcpus_created)
		return -ESRCH;
	/* the guest gets an operation exception: nothing changes */
	if (!st->use_cmma)
		return -ENXIO;
	if (frames_in_memory(&vm->slots, gfn, count, &si) < count)
		return -EFAULT;
	w.val = (uint8_t)((usage & 3) | (nodat ? 0x40 : 0));
	ret = for_each_piece(&vm->slots, gfn, count, si, essa_piece, &w);
	if (ret)
		return ret;
	w.apply = true;
	for_each_piece(&vm->slots, gfn, count, si, essa_piece, &w);
	/*
	 * Outside migration mode the first ESSA is intercepted to record
	 * the use of CMM; in migration mode every ESSA is intercepted, and
	 * that path only marks the page dirty.
	 */
	if (!st->migration_mode)
		st->uses_cmm = true;
	return 0;
}

int ks_cmma_guest_essa(struct ks_vm *vm, uint64_t gfn, uint64_t count,
		       unsigned int usage, bool nodat)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	ret = guest_essa_locked(vm, gfn, count, usage, nodat);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

static uint64_t dirty_bits(const struct ks_vm *vm)
{
	const struct ks_memslots *s = &vm->slots;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (slot_bitmap(&s->v[i]))
			sum += slot_bitmap(&s->v[i])->nset;
	return sum;
}

void ks_cmma_info(struct ks_vm *vm, struct ks_cmma_info *info)
{
	struct ks_cmma_state *st = vm->cmma;

	pthread_mutex_lock(&vm->lock);
	info->use_cmma = st->use_cmma;
	info->uses_cmm = st->uses_cmm;
	info->migration_mode = st->migration_mode;
	info->dirty_count = st->dirty_count;
	info->dirty_bits = dirty_bits(vm);
	info->state_bytes = ks_pg_bytes(&st->pg);
	pthread_mutex_unlock(&vm->lock);
}

void ks_cmma_status(struct ks_vm *vm, struct ks_vm_status *vs)
{
	struct ks_cmma_info info;

	if (!vm->cmma)
		return;
	ks_cmma_info(vm, &info);
	vs->cmma_enabled = info.use_cmma;
	vs->uses_cmm = info.uses_cmm;
	vs->migration_mode = info.migration_mode;
	vs->cmma_dirty = info.dirty_count;
}

static long sim_essa(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_s390_essa e;
	long ret;

	ret = ks_copy_from_user(u, &e, arg, sizeof(e));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	if (e.flags || e.usage > 3 || e.nodat > 1 || !e.count ||
	    e.count > KVMSHIM_S390_ESSA_MAX)
		return -EINVAL;
	return ks_cmma_guest_essa(vm, e.gfn, e.count, e.usage, e.nodat);
}

static long sim_info(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct kvmshim_s390_cmma_info out;
	struct ks_cmma_info info;
	long ret;

	ret = ks_want_to_user(u, arg, sizeof(out));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	ks_cmma_info(vm, &info);
	memset(&out, 0, sizeof(out));
	out.flags = (info.use_cmma ? KVMSHIM_CMMA_ENABLED : 0) |
		    (info.uses_cmm ? KVMSHIM_CMMA_USED : 0) |
		    (info.migration_mode ? KVMSHIM_CMMA_MIGRATING : 0);
	out.dirty_count = info.dirty_count;
	out.dirty_bits = info.dirty_bits;
	out.state_bytes = info.state_bytes;
	return ks_copy_to_user(u, arg, &out, sizeof(out));
}

long ks_s390_sim_ioctl(struct ks_vm *vm, uint32_t cmd, uint64_t arg,
		       struct ks_uctx *u)
{
	switch (cmd) {
	case KVMSHIM_S390_ESSA:
		return sim_essa(vm, arg, u);
	case KVMSHIM_S390_CMMA_INFO:
		return sim_info(vm, arg, u);
	}
	return -ENOTTY;
}

/* VM device attributes (cmma.md §4) */

/* Migration START (cmma.md §4.3); the VM lock is held. */
static int migration_start(struct ks_vm *vm)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_memslots *s = &vm->slots;
	uint64_t pages = 0;
	size_t i;

	if (st->migration_mode)
		return 0;
	/* Q15: checked even without CMMA */
	if (!s->n)
		return -EINVAL;
	if (!st->use_cmma) {
		st->migration_mode = true;
		return 0;
	}
	for (i = 0; i < s->n; i++)
		if (!slot_bitmap(&s->v[i]))
			return -EINVAL;
	for (i = 0; i < s->n; i++) {
		ks_bitmap_fill(vm->eng, slot_bitmap(&s->v[i]));
		pages += slot_pages(&s->v[i]);
	}
	st->memo_valid = false;
	st->dirty_count = pages;
	st->migration_mode = true;
	return 0;
}

static long set_mem_ctrl(struct ks_vm *vm, const struct ks_device_attr *a,
			 struct ks_uctx *u)
{
	const struct ks_engine_config *cfg = &vm->eng->cfg;
	struct ks_cmma_state *st = vm->cmma;
	uint64_t limit;
	long ret;

	switch (a->attr) {
	case KS_S390_VM_MEM_ENABLE_CMMA:
		ret = ks_uctx_ready(u);
		if (ret)
			return ret;
		if (!cfg->s390_has_cmma)
			return -ENXIO;
		pthread_mutex_lock(&vm->lock);
		if (vm->vcpus_created)
			ret = -EBUSY;
		else
			st->use_cmma = true;
		pthread_mutex_unlock(&vm->lock);
		return ret;
	case KS_S390_VM_MEM_CLR_CMMA:
		ret = ks_uctx_ready(u);
		if (ret)
			return ret;
		if (!cfg->s390_has_cmma)
			return -ENXIO;
		pthread_mutex_lock(&vm->lock);
		if (!st->use_cmma)
			ret = -EINVAL;
		else
			ks_pg_clear(vm->eng, &st->pg);
		pthread_mutex_unlock(&vm->lock);
		return ret;
	case KS_S390_VM_MEM_LIMIT_SIZE:
		ret = ks_copy_from_user(u, &limit, a->addr, sizeof(limit));
		if (!ret)
			ret = ks_uctx_ready(u);
		if (ret)
			return ret;
		if (limit > cfg->s390_mem_limit)
			return -E2BIG;
		if (!limit)
			return -EINVAL;
		pthread_mutex_lock(&vm->lock);
		/* §4.4: Linux never stores the new limit */
		ret = vm->vcpus_created ? -EBUSY : 0;
		pthread_mutex_unlock(&vm->lock);
		return ret;
	}
	return -ENXIO;
}

static long set_migration(struct ks_vm *vm, const struct ks_device_attr *a,
			  struct ks_uctx *u)
{
	long ret = ks_uctx_ready(u);

	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	switch (a->attr) {
	case KS_S390_VM_MIGRATION_START:
		ret = migration_start(vm);
		break;
	case KS_S390_VM_MIGRATION_STOP:
		/* classic: bitmaps and counter stay for the next START */
		vm->cmma->migration_mode = false;
		ret = 0;
		break;
	default:
		ret = -ENXIO;
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

long ks_ioctl_set_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_device_attr a;
	long ret;

	ret = ks_copy_from_user(u, &a, arg, sizeof(a));
	if (ret)
		return ret;
	switch (a.group) {
	case KS_S390_VM_MEM_CTRL:
		return set_mem_ctrl(vm, &a, u);
	case KS_S390_VM_MIGRATION:
		return set_migration(vm, &a, u);
	}
	/* M6: TOD, CRYPTO, CPU_MODEL, CPU_TOPOLOGY are not modelled */
	return -ENXIO;
}

static long put_u64(uint64_t addr, uint64_t v, struct ks_uctx *u)
{
	long ret = ks_want_to_user(u, addr, sizeof(v));

	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	return ks_copy_to_user(u, addr, &v, sizeof(v));
}

long ks_ioctl_get_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_device_attr a;
	long ret;
	bool on;

	ret = ks_copy_from_user(u, &a, arg, sizeof(a));
	if (ret)
		return ret;
	switch (a.group) {
	case KS_S390_VM_MEM_CTRL:
		if (a.attr != KS_S390_VM_MEM_LIMIT_SIZE)
			return -ENXIO;
		return put_u64(a.addr, vm->eng->cfg.s390_mem_limit, u);
	case KS_S390_VM_MIGRATION:
		if (a.attr != KS_S390_VM_MIGRATION_STATUS)
			return -ENXIO;
		ret = ks_want_to_user(u, a.addr, sizeof(uint64_t));
		if (!ret)
			ret = ks_uctx_ready(u);
		if (ret)
			return ret;
		pthread_mutex_lock(&vm->lock);
		on = vm->cmma->migration_mode;
		pthread_mutex_unlock(&vm->lock);
		return ks_copy_to_user(u, a.addr, &(uint64_t){ on }, 8);
	}
	return -ENXIO;
}

long ks_ioctl_has_device_attr(struct ks_vm *vm, uint64_t arg, struct ks_uctx *u)
{
	struct ks_device_attr a;
	long ret;

	ret = ks_copy_from_user(u, &a, arg, sizeof(a));
	if (!ret)
		ret = ks_uctx_ready(u);
	if (ret)
		return ret;
	switch (a.group) {
	case KS_S390_VM_MEM_CTRL:
		switch (a.attr) {
		case KS_S390_VM_MEM_ENABLE_CMMA:
		case KS_S390_VM_MEM_CLR_CMMA:
			return vm->eng->cfg.s390_has_cmma ? 0 : -ENXIO;
		case KS_S390_VM_MEM_LIMIT_SIZE:
			return 0;
		}
		return -ENXIO;
	case KS_S390_VM_MIGRATION:
		/* Q15: any attribute */
		return 0;
	}
	return -ENXIO;
}

/* Memory slots (generic.md §4.3 rows 11-12, cmma.md §5) */

#define SEGMENT_MASK 0xfffffULL /* slots are made of 1 MiB segments */

int ks_cmma_slot_prepare(struct ks_vm *vm, const struct ks_memslot *old,
			 struct ks_memslot *new, enum ks_mr_change change)
{
	struct ks_cmma_state *st = vm->cmma;
	struct ks_bitmap *bm = NULL;
	int ret;

	/* the dirty bitmap first, as Linux allocates it before arch checks */
	if (!(new->flags &KS_MEM_LOG_DIRTY_PAGES)) {
		new->arch = NULL;
	} else if (old && old->arch) {
		new->arch = old->arch;
	} else {
		ret = ks_bitmap_new(vm->eng, slot_pages(new), &bm);
		if (ret)
			return ret;
		new->arch = bm;
	}
	if ((change == KS_MR_CREATE || change == KS_MR_MOVE) &&
	    ((new->uaddr &SEGMENT_MASK) || (new->size &SEGMENT_MASK) ||
	     new->gpa + new->size > vm->eng->cfg.s390_mem_limit)) {
		ks_bitmap_free(vm->eng, bm);
		new->arch = NULL;
		return -EINVAL;
	}
	/* migration mode needs every slot to log dirty pages */
	if (st->migration_mode && !(new->flags &KS_MEM_LOG_DIRTY_PAGES))
		st->migration_mode = false;
	return 0;
}

void ks_cmma_slot_commit(struct ks_vm *vm, const struct ks_memslot *old,
			 const struct ks_memslot *new, enum ks_mr_change change)
{
	(void)change;
	/* the memo's slot index and bits may have changed */
	vm->cmma->memo_valid = false;
	/* logging was turned off: the bitmap goes */
	if (old && old->arch && old->arch != new->arch)
		ks_bitmap_free(vm->eng, old->arch);
}

void ks_cmma_slot_free(struct ks_vm *vm, struct ks_memslot *m)
{
	/* freed with the VM after the CMMA state */
	if (vm->cmma)
		vm->cmma->memo_valid = false;
	/* Q16: the dirty counter keeps counting the slot's pages */
	ks_bitmap_free(vm->eng, m->arch);
	m->arch = NULL;
}
