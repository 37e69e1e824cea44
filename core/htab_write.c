// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing the HTAB stream (spec: htab-fd.md §6, cuse.md §7.2): Linux's
 * kvm_htab_write() over a write() that may reach us in several transport
 * chunks.
 *
 * Linux walks one buffer of count bytes with two cursors: nb, the bytes
 * consumed, and hp, where the next record header is read.  hp advances by
 * the 8 header bytes only, never by the HPTE data (Q19).  Here both are
 * offsets within the write() call, and the bytes from hp on that a later
 * chunk may still need are held per (stream, calling thread) until that
 * chunk arrives.  A record is applied only once it is certain that Linux
 * would apply it: its header and HPTEs are all here and its fit test can
 * be decided.  When the call's last chunk is certain, the rest is decided
 * with count = the call's total; bytes past the end read as zero (D3).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmshim/kvm.h"

#include "hpt.h"
#include "htab.h"
#include "internal.h"

/* write() calls in progress kept per stream; the oldest goes first */
#define WSYS_MAX 64

/* The reassembly state of one write() call (cuse.md §7.2). */
struct ks_htab_wsys {
	struct ks_htab_wsys *next;
	pid_t tid;
	uint64_t received; /* bytes of the call so far: next chunk's offset */
	uint64_t nb; /* Linux's nb */
	uint64_t hp; /* Linux's header cursor; hold[0] is the byte at hp */
	uint8_t *hold;
	size_t held;
	size_t cap;
	size_t charged; /* against the memory budget */
};

/* The bytes of the call a chunk can see: held ones, then the chunk's. */
struct wsrc {
	const uint8_t *held;
	uint64_t held_pos;
	size_t held_len;
	const uint8_t *chunk;
	uint64_t chunk_pos;
	size_t chunk_len;
	uint64_t end; /* chunk_pos + chunk_len */
};

/* Copies len bytes at call offset pos; past the end they read as zero. */
static void src_get(const struct wsrc *s, uint64_t pos, uint8_t *dst,
		    size_t len)
{
	while (len) {
		const uint8_t *from;
		uint64_t lim;
		size_t n;

		if (pos >= s->held_pos && pos < s->held_pos + s->held_len) {
			from = s->held + (pos - s->held_pos);
			lim = s->held_pos + s->held_len;
		} else if (pos >= s->chunk_pos && pos < s->end) {
			from = s->chunk + (pos - s->chunk_pos);
			lim = s->end;
		} else {
			/* Q2 overhang: Linux reads on past the buffer (D3) */
			memset(dst, 0, len);
			return;
		}
		n = lim - pos < len ? (size_t)(lim - pos) : len;
		memcpy(dst, from, n);
		dst += n;
		pos += n;
		len -= n;
	}
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return be64toh(x);
}

struct wproc {
	struct ks_vm *vm;
	const struct wsrc *src;
	uint64_t nb;
	uint64_t hp;
	bool last; /* this chunk certainly ends the call: count = src->end */
	bool ready; /* Linux's mmu_ready for the end of the call */
};

/* One record whose header was read and whose data is here (vm->lock). */
static int apply_record(struct wproc *w, const struct ks_get_htab_header *hdr)
{
	uint64_t npte = ks_hpt_npte(w->vm);
	uint64_t i = hdr->index, d = w->hp, end;
	uint32_t j;

	if (i >= npte || i + hdr->n_valid + hdr->n_invalid > npte)
		return -EINVAL;
	for (j = 0; j < hdr->n_valid; j++) {
		uint8_t b[KS_HTAB_HPTE_BYTES];
		uint64_t v, r;

		src_get(w->src, d, b, sizeof(b));
		v = get_be64(b);
		r = get_be64(b + 8);
		if (!(v & KS_HPTE_V_VALID) || !ks_hpte_base_shift(v, r))
			return -EINVAL;
		d += KS_HTAB_HPTE_BYTES;
		w->nb += KS_HTAB_HPTE_BYTES;
		/* the occupant goes first; a rejected entry leaves it empty */
		ks_hpt_remove(w->vm, i);
		/* a chunk that cannot be backed is a rejected entry too */
		if (ks_hpt_enter(w->vm, i, v, r))
			return -EIO;
		if ((v & KS_HPTE_V_VRMA_MASK) == KS_HPTE_V_VRMA)
			w->ready = true;
		i++;
	}
	/* only present entries change: skip the empty chunks of a long run */
	end = i + hdr->n_invalid;
	while ((i = ks_hpt_next_present(w->vm, i)) < end)
		ks_hpt_remove(w->vm, i++);
	return 0;
}

#define W_DONE 0 /* the loop ended */
#define W_MORE 1 /* the rest depends on bytes not here yet */

/* Linux's record loop over what is here; vm->lock held. */
static int process(struct wproc *w)
{
	const uint64_t end = w->src->end;

	for (;;) {
		struct ks_get_htab_header hdr;
		uint64_t need;
		int ret;

		if (w->nb + KS_HTAB_HDR_BYTES > end)
			return w->last ? W_DONE : W_MORE;
		/* hp <= nb, so the header is here */
		src_get(w->src, w->hp, (uint8_t *)&hdr, sizeof(hdr));
		/* Q2: the fit test leaves the header out */
		need = w->nb + (uint64_t)KS_HTAB_HPTE_BYTES * hdr.n_valid;
		if (need > end)
			return w->last ? W_DONE : W_MORE;
		if (!w->last &&
		    w->hp + KS_HTAB_HDR_BYTES +
				    (uint64_t)KS_HTAB_HPTE_BYTES * hdr.n_valid >
			    end)
			return W_MORE;
		w->nb += KS_HTAB_HDR_BYTES;
		w->hp += KS_HTAB_HDR_BYTES; /* Q19: not past the data */
		ret = apply_record(w, &hdr);
		if (ret)
			return ret;
	}
}

/* ---- per-thread state ---- */

static struct ks_htab_wsys **wsys_find(struct ks_htab_ctx *c, pid_t tid)
{
	struct ks_htab_wsys **pp;

	for (pp = &c->wsys; *pp; pp = &(*pp)->next)
		if ((*pp)->tid == tid)
			return pp;
	return NULL;
}

static void wsys_free(struct ks_htab_ctx *c, struct ks_htab_wsys *ws)
{
	ks_mem_uncharge(c->vm->eng, ws->charged);
	free(ws->hold);
	free(ws);
}

static void wsys_unlink(struct ks_htab_ctx *c, struct ks_htab_wsys **pp)
{
	struct ks_htab_wsys *ws = *pp;

	*pp = ws->next;
	c->n_wsys--;
	wsys_free(c, ws);
}

void ks_htab_wsys_free_all(struct ks_htab_ctx *c)
{
	while (c->wsys)
		wsys_unlink(c, &c->wsys);
}

/* A new state at the head of the list; the oldest goes when full. */
static struct ks_htab_wsys *wsys_new(struct ks_htab_ctx *c, pid_t tid)
{
	struct ks_htab_wsys *ws;

	if (c->n_wsys >= WSYS_MAX) {
		struct ks_htab_wsys **pp = &c->wsys;

		while ((*pp)->next)
			pp = &(*pp)->next;
		wsys_unlink(c, pp);
	}
	if (ks_mem_charge(c->vm->eng, sizeof(*ws)))
		return NULL;
	ws = calloc(1, sizeof(*ws));
	if (!ws) {
		ks_mem_uncharge(c->vm->eng, sizeof(*ws));
		return NULL;
	}
	ws->charged = sizeof(*ws);
	ws->tid = tid;
	ws->next = c->wsys;
	c->wsys = ws;
	c->n_wsys++;
	return ws;
}

/*
 * Keeps the bytes [hp, end) for the next chunk: at most one record's
 * worth plus a chunk (the record at hp needs no more), -ENOMEM beyond that
 * or when the budget says no.
 */
static int wsys_hold(struct ks_htab_ctx *c, struct ks_htab_wsys *ws,
		     const struct wsrc *s, uint64_t hp, size_t max)
{
	uint64_t len = s->end - hp;
	uint64_t old_end = s->held_pos + s->held_len;
	size_t keep = 0;

	if (len > max)
		return -ENOMEM;
	if (len > ws->cap) {
		size_t cap = ws->cap ? ws->cap : 4096;
		uint8_t *p;

		while (cap < len)
			cap *= 2;
		if (ks_mem_charge(c->vm->eng, cap - ws->cap))
			return -ENOMEM;
		p = realloc(ws->hold, cap);
		if (!p) {
			ks_mem_uncharge(c->vm->eng, cap - ws->cap);
			return -ENOMEM;
		}
		ws->charged += cap - ws->cap;
		ws->hold = p;
		ws->cap = cap;
	}
	/* s->held is ws->hold: realloc may have moved it, so use ws->hold */
	if (hp < old_end) {
		keep = (size_t)(old_end - hp);
		memmove(ws->hold, ws->hold + (hp - s->held_pos), keep);
	}
	/* a chunk that ends on a record boundary leaves nothing to copy */
	if (len > keep)
		memcpy(ws->hold + keep, s->chunk + (hp + keep - s->chunk_pos),
		       (size_t)(len - keep));
	ws->held = (size_t)len;
	ws->hp = hp;
	return 0;
}

/* cuse.md §7.2 step 4: when no further chunk of this call can follow. */
static bool chunk_is_last(const struct ks_chunk *ch, size_t size)
{
	if (!ch || !ch->cap)
		return true;
	if (ch->offset == 0) {
		/* a first chunk that is not the last is short by < 1 page */
		if (ch->page_size >= ch->cap)
			return size < ch->cap;
		return size <= ch->cap - ch->page_size;
	}
	return size < ch->cap;
}

static ssize_t write_chunk(struct ks_htab_ctx *c, const void *buf, size_t size,
			   const struct ks_chunk *ch, pid_t tid)
{
	struct ks_vm *vm = c->vm;
	bool direct = !ch || !ch->cap;
	uint64_t off = direct ? 0 : ch->offset;
	struct ks_htab_wsys **pp = direct ? NULL : wsys_find(c, tid);
	struct ks_htab_wsys *ws = pp ? *pp : NULL;
	struct wsrc src = {
		.chunk = buf,
		.chunk_pos = off,
		.chunk_len = size,
		.end = off + size,
	};
	struct wproc w = { .vm = vm, .src = &src };
	int ret;

	/*
	 * Offset 0 starts a call and drops what an unfinished one left; so
	 * does a chunk that does not continue the call we hold (it cannot
	 * follow a short reply), which then starts where it stands.
	 */
	if (ws && (off == 0 || ws->received != off)) {
		wsys_unlink(c, pp);
		ws = NULL;
	}
	if (ws) {
		src.held = ws->hold;
		src.held_pos = ws->hp;
		src.held_len = ws->held;
		w.nb = ws->nb;
		w.hp = ws->hp;
	} else {
		w.nb = w.hp = off;
	}
	w.last = chunk_is_last(ch, size);

	pthread_mutex_lock(&vm->lock);
	if (!ws && ks_hpt_mmu_ready(vm) && vm->vcpus_running) {
		/* the call-start check: nothing changes */
		pthread_mutex_unlock(&vm->lock);
		return -EBUSY;
	}
	/* cleared while records are applied, set again at the chunk's end */
	w.ready = ks_hpt_mmu_ready(vm);
	ks_hpt_set_mmu_ready(vm, false);
	ret = process(&w);
	ks_hpt_set_mmu_ready(vm, w.ready);
	pthread_mutex_unlock(&vm->lock);

	if (ret == W_MORE) {
		if (!ws)
			ws = wsys_new(c, tid);
		if (!ws)
			return -ENOMEM;
		ret = wsys_hold(c, ws, &src, w.hp,
				KS_HTAB_RECORD_MAX + (direct ? 0 : ch->cap));
		if (!ret) {
			ws->received = src.end;
			ws->nb = w.nb;
			return (ssize_t)size;
		}
	}
	if (ws) {
		pp = wsys_find(c, tid);
		if (pp)
			wsys_unlink(c, pp);
	}
	if (ret < 0)
		return ret;
	/* the bytes of whole records in this chunk, at most the chunk (D3) */
	if (w.nb <= off)
		return 0;
	return w.nb - off > size ? (ssize_t)size : (ssize_t)(w.nb - off);
}

ssize_t ks_htab_write(struct ks_handle *h, const void *buf, size_t size,
		      const struct ks_chunk *chunk,
		      const struct ks_caller *caller)
{
	struct ks_htab_ctx *c = h->htab;
	ssize_t ret;

	if (!c || !(c->flags & KS_GET_HTAB_WRITE))
		return -EBADF;
	pthread_mutex_lock(&c->lock);
	ret = write_chunk(c, buf, size, chunk, caller ? caller->tid : 0);
	pthread_mutex_unlock(&c->lock);
	return ret;
}
