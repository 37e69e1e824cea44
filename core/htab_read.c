// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading the HTAB stream (spec: htab-fd.md §4), byte for byte what Linux's
 * kvm_htab_read() produces for the same table and the same reads.
 *
 * The table is walked span by span (the stored entries of one storage
 * chunk), so that empty or clean regions cost one look at the chunk's
 * counts, and a fully present, clean span of a first pass is copied out
 * by a tight loop.  Entries that need the per-entry rules (dirty ones,
 * BOLTED_ONLY, partly filled spans) go through take() below.
 */
#include <endian.h>
#include <string.h>

#include "kvmshim/kvm.h"

#include "hpt.h"
#include "htab.h"
#include "internal.h"

struct rd {
	struct ks_vm *vm;
	uint8_t *buf;
	size_t count;
	size_t nb; /* bytes placed, record headers included */
	uint64_t npte;
	bool first_pass;
	bool bolted_only;
};

static inline void put64(uint8_t *p, uint64_t x)
{
	memcpy(p, &x, sizeof(x));
}

/* One HPTE of the stream: V then R, big-endian. */
static inline void emit(struct rd *rd, uint64_t v, uint64_t r)
{
	put64(rd->buf + rd->nb, htobe64(v));
	put64(rd->buf + rd->nb + 8, htobe64(r));
	rd->nb += KS_HTAB_HPTE_BYTES;
}

/* p of TAKE: present, and bolted when the stream is BOLTED_ONLY. */
static inline bool counts_valid(const struct rd *rd, const struct ks_hpte *e)
{
	return ks_hpte_present(e) &&
	       (!rd->bolted_only || (e->v & KS_HPTE_V_BOLTED));
}

/*
 * TAKE(e, want) of htab-fd.md §4 for entry idx, whose stored words are *e
 * (a pointer into the table, so it sees what harvesting changes).  A taken
 * valid entry is emitted here.
 */
static bool take(struct rd *rd, uint64_t idx, const struct ks_hpte *e,
		 bool want_valid)
{
	bool dirty = ks_hpte_dirty(e);
	bool p;

	if (!rd->first_pass && !dirty)
		return false;
	p = counts_valid(rd, e);
	if (p != want_valid)
		return false;
	if (dirty) {
		/* new R/C bits become the guest's, and the report clears */
		ks_hpt_harvest_rc(rd->vm, idx);
		ks_hpt_clear_modified(rd->vm, idx);
	}
	if (p)
		emit(rd, ks_hpte_stream_v(e), ks_hpte_guest_r(e));
	return true;
}

/* A span every entry of which is present and clean: copy it out. */
static void emit_clean_run(struct rd *rd, const struct ks_hpte *e, uint64_t n)
{
	uint8_t *out = rd->buf + rd->nb;
	uint64_t k;

	/* clean: no pending R/C in v, no modified mark in r (Q3: HVLOCK) */
	for (k = 0; k < n; k++) {
		put64(out + 16 * k, htobe64(e[k].v | KS_HPTE_V_HVLOCK));
		put64(out + 16 * k + 8, htobe64(e[k].r));
	}
	rd->nb += n * KS_HTAB_HPTE_BYTES;
}

/* The run of valid entries of one record, from *i. */
static uint32_t valid_run(struct rd *rd, uint64_t *i)
{
	uint32_t nv = 0;
	struct ks_hpt_span sp;

	while (*i < rd->npte && nv < KS_HTAB_RUN_MAX &&
	       rd->nb + KS_HTAB_HPTE_BYTES < rd->count) {
		uint64_t lim, k;

		ks_hpt_span(rd->vm, *i, &sp);
		/* not backed: entry *i is empty, which ends the run */
		if (!sp.e)
			return nv;
		/* how many more fit: nb + 16 < count before each (Q1) */
		lim = (rd->count - rd->nb - 1) / KS_HTAB_HPTE_BYTES;
		if (lim > KS_HTAB_RUN_MAX - nv)
			lim = KS_HTAB_RUN_MAX - nv;
		if (lim > sp.n)
			lim = sp.n;
		if (rd->first_pass && !rd->bolted_only && !sp.n_dirty &&
		    sp.n_present == KS_HPT_CHUNK_ENTRIES) {
			emit_clean_run(rd, sp.e, lim);
			nv += (uint32_t)lim;
			*i += lim;
			continue;
		}
		for (k = 0; k < lim; k++) {
			if (!take(rd, *i, &sp.e[k], true))
				return nv;
			nv++;
			(*i)++;
		}
	}
	return nv;
}

/* The run of invalid entries of one record, from *i: no buffer space. */
static uint32_t invalid_run(struct rd *rd, uint64_t *i)
{
	uint32_t ni = 0;
	struct ks_hpt_span sp;

	while (*i < rd->npte && ni < KS_HTAB_RUN_MAX) {
		uint64_t lim, k;

		ks_hpt_span(rd->vm, *i, &sp);
		lim = KS_HTAB_RUN_MAX - ni;
		if (lim > sp.n)
			lim = sp.n;
		if (!sp.e || (!sp.n_present && !sp.n_dirty)) {
			/* empty and clean: all of it, but only in a first pass */
			if (!rd->first_pass)
				return ni;
			ni += (uint32_t)lim;
			*i += lim;
			continue;
		}
		for (k = 0; k < lim; k++) {
			if (!take(rd, *i, &sp.e[k], false))
				return ni;
			ni++;
			(*i)++;
		}
	}
	return ni;
}

static void put_header(uint8_t *p, uint64_t index, uint32_t nv, uint32_t ni)
{
	struct ks_get_htab_header hdr = {
		/* the header has 32 bits: orders above 36 truncate (§4) */
		.index = (uint32_t)index,
		.n_valid = (uint16_t)nv,
		.n_invalid = (uint16_t)ni,
	};

	memcpy(p, &hdr, sizeof(hdr));
}

size_t ks_htab_read_locked(struct ks_htab_ctx *c, uint8_t *buf, size_t count)
{
	struct rd rd = {
		.vm = c->vm,
		.buf = buf,
		.count = count,
		.npte = ks_hpt_npte(c->vm),
		.first_pass = c->first_pass,
		.bolted_only = c->flags & KS_GET_HTAB_BOLTED_ONLY,
	};
	uint64_t i = c->index;

	/* Q1: a record starts only if a header and one HPTE fit, strictly */
	while (rd.nb + KS_HTAB_HDR_BYTES + KS_HTAB_HPTE_BYTES < count) {
		size_t hdr_pos = rd.nb;
		uint32_t nv, ni;
		uint64_t first;

		rd.nb += KS_HTAB_HDR_BYTES;
		if (!rd.first_pass && i < rd.npte)
			i = ks_hpt_next_dirty(c->vm, i);
		first = i;
		nv = valid_run(&rd, &i);
		ni = invalid_run(&rd, &i);
		if (nv || ni)
			put_header(buf + hdr_pos, first, nv, ni);
		else
			rd.nb = hdr_pos; /* never an empty record */
		if (i >= rd.npte) {
			/* the end of the table ends the call and the pass */
			i = 0;
			c->first_pass = false;
			break;
		}
	}
	c->index = i;
	return rd.nb;
}
