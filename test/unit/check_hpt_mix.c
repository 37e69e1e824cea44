// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Everything that touches one HPT, interleaved at random, against a dense
 * transcription of the spec: guest hcalls and hardware R/C bits, an
 * ALLOCATE_HTAB of the same order, readers opening and closing, reads of
 * any size (htab-fd.md §4) and writes (§6).  Each result and, now and
 * then, every entry must agree with the model.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/hpt.h"
#include "core/internal.h"

#define ORDER 18
#define NPTE 16384
#define NRD 3

struct xent {
	bool present, mod;
	uint64_t v, r, pend;
};

struct xrd {
	struct ks_handle *h;
	uint64_t index;
	bool first, bo;
};

struct xm {
	struct xent e[NPTE];
	struct xrd rd[NRD];
	unsigned int readers;
};

static uint64_t prng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool x_dirty(const struct xent *e)
{
	return e->mod || (e->present && e->pend);
}

static bool x_take(struct xm *m, struct xrd *c, uint64_t i, bool want,
		   uint64_t *v, uint64_t *r)
{
	struct xent *e = &m->e[i];
	bool dirty = x_dirty(e), p;

	if (!c->first && !dirty)
		return false;
	p = e->present && (!c->bo || (e->v & 0x10));
	if (p != want)
		return false;
	if (e->present && e->pend) {
		e->r |= e->pend;
		e->pend = 0;
		dirty = true;
	}
	if (dirty)
		e->mod = false;
	*v = e->v | 0x41;
	*r = e->r;
	return true;
}

static size_t x_read(struct xm *m, struct xrd *c, uint8_t *buf, size_t count)
{
	size_t nb = 0;
	uint64_t i = c->index, v, r;

	while (nb + 24 < count) {
		size_t hdr_pos = nb;
		uint64_t first;
		uint32_t nv = 0, ni = 0;

		nb += 8;
		if (!c->first)
			while (i < NPTE && !x_dirty(&m->e[i]))
				i++;
		first = i;
		while (i < NPTE && nv < 65535 && nb + 16 < count &&
		       x_take(m, c, i, true, &v, &r)) {
			htab_hpte(buf + nb, v, r);
			nb += 16;
			nv++;
			i++;
		}
		while (i < NPTE && ni < 65535 &&
		       x_take(m, c, i, false, &v, &r)) {
			ni++;
			i++;
		}
		if (nv + ni)
			htab_hdr(buf + hdr_pos, (uint32_t)first, (uint16_t)nv,
				 (uint16_t)ni);
		else
			nb = hdr_pos;
		if (i >= NPTE) {
			i = 0;
			c->first = false;
			break;
		}
	}
	c->index = i;
	return nb;
}

static void x_remove(struct xm *m, uint64_t i)
{
	if (!m->e[i].present)
		return;
	m->e[i].present = false;
	m->e[i].pend = 0;
	if (m->readers)
		m->e[i].mod = true;
}

static void x_enter(struct xm *m, uint64_t i, uint64_t v, uint64_t r)
{
	m->e[i].present = true;
	m->e[i].v = (v & ~0x60ULL) | 1;
	m->e[i].r = r & ~(1ULL << 62);
	m->e[i].pend = 0;
	m->e[i].mod = m->readers > 0;
}

static void x_compare(struct ks_handle *vmh, const struct xm *m, int step)
{
	struct ks_vm *vm = vmh->vm;
	uint64_t i, bad = UINT64_MAX, nd = 0, np = 0;
	struct kvmshim_ppc_info in;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < NPTE && bad == UINT64_MAX; i++) {
		const struct xent *me = &m->e[i];
		struct ks_hpte e;

		ks_hpt_get(vm, i, &e);
		np += me->present;
		nd += x_dirty(me);
		if (ks_hpte_present(&e) != me->present ||
		    ks_hpte_modified(&e) != me->mod)
			bad = i;
		else if (me->present && (ks_hpte_guest_v(&e) != me->v ||
					 ks_hpte_guest_r(&e) != me->r ||
					 ks_hpte_pending_rc(&e) != me->pend))
			bad = i;
	}
	pthread_mutex_unlock(&vm->lock);
	ck_assert_msg(bad == UINT64_MAX, "step %d: entry %llu differs", step,
		      (unsigned long long)bad);
	in = htab_info(vmh);
	ck_assert_uint_eq(in.valid, np);
	ck_assert_uint_eq(in.dirty, nd);
	ck_assert_uint_eq(in.readers, m->readers);
}

/* A V word of a 4 KiB page, bolted or not; never rejected. */
static uint64_t x_v(uint64_t x)
{
	return 0x123400001ULL | ((x & 0xffff) << 7) | (x & 0x10) | (x & 2);
}

START_TEST(test_mixed_operations)
{
	uint64_t s = 0x5eed0000ULL + (uint64_t)_i * 0x9e3779b9ULL;
	static uint8_t got[80000], want[80000];
	struct htab_fix f;
	struct ks_handle *w;
	struct xm *m = calloc(1, sizeof(*m));
	int step;

	htab_fix_init(&f, ORDER);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	for (step = 0; step < 3000; step++) {
		uint64_t x = prng(&s), i = prng(&s) % NPTE, y = prng(&s);
		struct kvmshim_ppc_hpte h;
		unsigned int op = x % 100;

		if (op < 25) {
			/* H_ENTER, exact */
			h = (struct kvmshim_ppc_hpte){ KVMSHIM_PPC_H_EXACT, i,
						       x_v(y),
						       0x2000 | (y & 3) };
			if (unit_ioctl(f.vm, KVMSHIM_PPC_H_ENTER,
				       (uintptr_t)&h) == 0) {
				ck_assert(!m->e[i].present);
				x_enter(m, i, x_v(y), 0x2000 | (y & 3));
			} else {
				ck_assert(m->e[i].present);
			}
		} else if (op < 35) {
			h = (struct kvmshim_ppc_hpte){ 0, i, 0, 0 };
			ck_assert_int_eq(unit_ioctl(f.vm, KVMSHIM_PPC_H_REMOVE,
						    (uintptr_t)&h),
					 m->e[i].present ? 0 : -ENOENT);
			x_remove(m, i);
		} else if (op < 42) {
			h = (struct kvmshim_ppc_hpte){ 0, i, 0, y & 3 };
			ck_assert_int_eq(unit_ioctl(f.vm, KVMSHIM_PPC_H_PROTECT,
						    (uintptr_t)&h),
					 m->e[i].present ? 0 : -ENOENT);
			if (m->e[i].present) {
				m->e[i].r = (m->e[i].r & ~3ULL) | (y & 3);
				if (m->readers)
					m->e[i].mod = true;
			}
		} else if (op < 52) {
			uint64_t bits = (y & 1 ? 0x100 : 0) |
					(y & 2 ? 0x80 : 0);

			ck_assert_int_eq(htab_set_rc(f.vm, i, bits),
					 m->e[i].present ? 0 : -ENOENT);
			if (m->e[i].present)
				m->e[i].pend |= bits & ~m->e[i].r;
		} else if (op < 54) {
			/* the same order: entries go, marks stay */
			ck_assert_int_eq(htab_alloc(f.vm, ORDER), 0);
			for (i = 0; i < NPTE; i++) {
				m->e[i].present = false;
				m->e[i].pend = 0;
			}
		} else if (op < 58) {
			/* open or close a reader */
			struct xrd *c = &m->rd[y % NRD];

			if (c->h) {
				ks_release(c->h);
				c->h = NULL;
				m->readers--;
			} else {
				c->index = (x >> 8) % (NPTE + 100);
				c->bo = (x >> 40) & 1;
				c->first = true;
				c->h = htab_open(
					f.vm,
					c->bo ? KS_GET_HTAB_BOLTED_ONLY : 0,
					c->index);
				m->readers++;
			}
		} else if (op < 85) {
			static const size_t sizes[] = {
				24,   25,   40,	 41,   56,    100,
				1000, 2048, 333, 4104, 65536, 65544
			};
			struct xrd *c = &m->rd[y % NRD];
			size_t n = sizes[(y >> 8) % 12], wn;
			ssize_t gn;

			if (!c->h)
				continue;
			wn = x_read(m, c, want, n);
			gn = htab_rd(c->h, got, n);
			ck_assert_msg(gn == (ssize_t)wn &&
					      !memcmp(got, want, wn),
				      "step %d: read(%zu) gave %zd, want %zu",
				      step, n, gn, wn);
		} else {
			/* one record: a run of HPTEs (maybe a whole chunk),
			 * then a run of invalid entries */
			uint32_t nv = (y & 7) ? (uint32_t)(y >> 8) % 6 :
						(uint32_t)(y >> 8) % 4500;
			uint32_t ni = (uint32_t)(y >> 24) % 40, k;
			size_t len;

			if (i + nv + ni > NPTE)
				i = NPTE - nv - ni;
			len = htab_hdr(want, (uint32_t)i, (uint16_t)nv,
				       (uint16_t)ni);
			for (k = 0; k < nv; k++)
				len += htab_hpte(want + len,
						 x_v(prng(&s)) | 0x10, 0x3002);
			ck_assert_int_eq(htab_wr(w, want, len), (ssize_t)len);
			for (k = 0; k < nv; k++) {
				uint64_t v;

				memcpy(&v, want + 8 + 16 * k, sizeof(v));
				x_remove(m, i + k);
				x_enter(m, i + k, be64toh(v), 0x3002);
			}
			for (k = 0; k < ni; k++)
				x_remove(m, i + nv + k);
		}
		if (step % 97 == 0)
			x_compare(f.vm, m, step);
	}
	x_compare(f.vm, m, step);
	for (step = 0; step < NRD; step++)
		ks_release(m->rd[step].h);
	ks_release(w);
	free(m);
	htab_fix_fini(&f);
}
END_TEST

Suite *suite_hpt_mix(void);
Suite *suite_hpt_mix(void)
{
	Suite *s = suite_create("hpt_mix");
	TCase *tc = tcase_create("mix");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_mixed_operations, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}
