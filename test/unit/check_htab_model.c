// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HTAB writes and resize commits against plain transcriptions of the
 * spec's pseudocode (htab-fd.md §6, hpt.md §6, §8.2-§8.3) on a dense
 * array, with random streams and random tables: every result and every
 * entry afterwards must agree.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/hpt.h"
#include "core/internal.h"

struct ment {
	bool present;
	bool mod;
	uint64_t v, r;
};

struct slot {
	uint64_t gpa, size;
};

struct wmodel {
	struct ment *e;
	uint64_t npte;
	unsigned int order;
	bool ready;
	bool running;
	bool readers;
	struct slot slots[2];
};

static uint64_t prng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* hpt.md §3, transcribed: base shift, actual shift (0, 0 if invalid). */
static void m_shifts(uint64_t v, uint64_t r, unsigned int *base,
		     unsigned int *actual)
{
	unsigned int lp = (r >> 12) & 0xf, lphi = (r >> 16) & 0xf;

	*base = *actual = 0;
	if (!(v & 4)) {
		*base = *actual = 12;
	} else if (lp == 0 && lphi == 0) {
		*base = *actual = 24;
	} else if (lp == 1) {
		*base = *actual = 16;
	} else if (lp == 3 && lphi == 0) {
		*base = *actual = 34;
	} else if (lp == 7) {
		*base = 12;
		*actual = 16;
	} else if (lp == 8 && lphi == 0) {
		*base = 16;
		*actual = 24;
	} else if (lp == 8 && lphi == 3) {
		*base = 12;
		*actual = 24;
	}
}

/* hpt.md §6 rows 1-5: may (v, r) be entered? */
static bool m_enter_ok(const struct wmodel *m, uint64_t v, uint64_t r)
{
	unsigned int base, actual;
	uint64_t gpa, ps;
	int k;

	if (v >> 63)
		return false;
	m_shifts(v, r, &base, &actual);
	if (!actual)
		return false;
	ps = 1ULL << actual;
	gpa = (r & 0x0ffffffffffff000ULL) & ~(ps - 1);
	for (k = 0; k < 2; k++) {
		const struct slot *s = &m->slots[k];

		if (!s->size || gpa < s->gpa || gpa >= s->gpa + s->size)
			continue;
		if (ps > 65536 && ((s->gpa & (ps - 1)) || (s->size & (ps - 1))))
			return false;
	}
	return true;
}

static void m_remove(struct wmodel *m, uint64_t i)
{
	if (!m->e[i].present)
		return;
	m->e[i].present = false;
	if (m->readers)
		m->e[i].mod = true;
}

static uint64_t rd_be64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return be64toh(x);
}

/*
 * htab-fd.md §6 for a whole write() of count bytes at buf, which must be
 * followed by 8 zero bytes (what kvmshim reads past the end, D3).
 */
static long m_write(struct wmodel *m, const uint8_t *buf, size_t count)
{
	bool was_ready = m->ready, ready_after;
	size_t nb = 0, hp = 0, d;
	long err = 0;

	if (was_ready && m->running)
		return -EBUSY;
	ready_after = was_ready;
	while (nb + 8 <= count) {
		struct ks_get_htab_header h;
		uint64_t i;
		uint32_t j;

		memcpy(&h, buf + hp, 8);
		if (nb + 16 * (size_t)h.n_valid > count)
			break;
		nb += 8;
		hp += 8;
		i = h.index;
		if (i >= m->npte || i + h.n_valid + h.n_invalid > m->npte) {
			err = -EINVAL;
			break;
		}
		d = hp;
		for (j = 0; j < h.n_valid; j++) {
			uint64_t v = rd_be64(buf + d), r = rd_be64(buf + d + 8);
			unsigned int base, actual;

			d += 16;
			m_shifts(v, r, &base, &actual);
			if (!(v & 1) || !base) {
				err = -EINVAL;
				goto out;
			}
			nb += 16;
			m_remove(m, i);
			if (!m_enter_ok(m, v, r)) {
				err = -EIO;
				goto out;
			}
			m->e[i].present = true;
			m->e[i].v = (v & ~0x60ULL) | 1;
			m->e[i].r = r & ~(1ULL << 62);
			m->e[i].mod = m->readers;
			if (!ready_after &&
			    (v & ~0xffffffULL) == 0x4001ffffff000000ULL)
				ready_after = true;
			i++;
		}
		for (j = 0; j < h.n_invalid; j++)
			m_remove(m, i++);
	}
out:
	m->ready = ready_after;
	if (err)
		return err;
	return nb > count ? (long)count : (long)nb;
}

/* The engine's table and MMU state equal the model's. */
static void m_compare(struct ks_handle *vmh, const struct wmodel *m,
		      const char *what, int round)
{
	struct ks_vm *vm = vmh->vm;
	uint64_t i, bad = UINT64_MAX;
	bool ready;

	pthread_mutex_lock(&vm->lock);
	ck_assert_uint_eq(ks_hpt_npte(vm), m->npte);
	for (i = 0; i < m->npte && bad == UINT64_MAX; i++) {
		const struct ment *me = &m->e[i];
		struct ks_hpte e;

		ks_hpt_get(vm, i, &e);
		if (ks_hpte_present(&e) != me->present ||
		    ks_hpte_modified(&e) != me->mod ||
		    (me->present && (ks_hpte_guest_v(&e) != me->v ||
				     ks_hpte_guest_r(&e) != me->r)))
			bad = i;
	}
	ready = ks_hpt_mmu_ready(vm);
	pthread_mutex_unlock(&vm->lock);
	ck_assert_msg(bad == UINT64_MAX, "%s %d: entry %llu differs", what,
		      round, (unsigned long long)bad);
	ck_assert_msg(ready == m->ready, "%s %d: MMU ready %d, model %d", what,
		      round, ready, m->ready);
}

static void add_slot(struct ks_handle *vmh, struct wmodel *m, int k,
		     uint64_t gpa, uint64_t size)
{
	struct ks_userspace_memory_region r = {
		.slot = (uint32_t)k,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = 0x7f0000000000ULL + gpa,
	};

	ck_assert_int_eq(
		unit_ioctl(vmh, KS_SET_USER_MEMORY_REGION, (uintptr_t)&r), 0);
	m->slots[k].gpa = gpa;
	m->slots[k].size = size;
}

/* A V word: mostly valid, of every page size and segment size. */
static void rand_hpte(uint64_t *s, uint64_t *v, uint64_t *r)
{
	static const uint64_t lps[] = { 0x0000, 0x1000,	 0x3000, 0x7000,
					0x8000, 0x38000, 0x2000, 0x10000 };
	uint64_t x = prng(s), y = prng(s);

	*v = (x & 0x3fffffffff80ULL) | (y & 0x1e) | 1;
	if (!(y & 0x700))
		*v &= ~1ULL;
	if (!(y & 0x7800))
		*v |= 1ULL << 63;
	if (y & 0x8000)
		*v |= 1ULL << 62;
	if (!(y & 0x30000))
		*v = (0x4001ffffff000000ULL | (x & 0xfff000) | 0x15);
	*r = (x >> 20 & 0x3ffff000ULL) | (y >> 40 & 0xfff) | (y & (1ULL << 62));
	*r = (*r & ~0xff000ULL) | lps[(y >> 20) & 7];
}

/* A random stream: records of short runs, sometimes out of range. */
static size_t rand_stream(uint64_t *s, uint8_t *buf, size_t max, uint64_t npte)
{
	size_t n = 0;

	while (n + 8 + 16 * 6 <= max && (prng(s) & 7)) {
		uint64_t x = prng(s);
		uint32_t index = (uint32_t)(x % (npte ? npte : 16));
		uint16_t nv = (x >> 32) % 5, ni = (x >> 40) % 6;
		uint16_t k;

		if (!(x & 0x1f000))
			index = (uint32_t)(npte - (x >> 50) % 8);
		if (!(x >> 60))
			nv = ni = 0;
		/* chained headers (Q19) are parsed from data: keep nv = 0 */
		if (prng(s) & 3)
			nv = 0;
		n += htab_hdr(buf + n, index, nv, ni);
		for (k = 0; k < nv; k++) {
			uint64_t v, r;

			rand_hpte(s, &v, &r);
			n += htab_hpte(buf + n, v, r);
		}
	}
	return n;
}

START_TEST(test_write_model)
{
	const unsigned int order = _i ? 18 : 0;
	uint8_t *buf = calloc(1, 4096 + 8);
	struct htab_fix f;
	struct ks_handle *w, *rd = NULL;
	struct wmodel m;
	uint64_t s = 0x51ed27ULL + (uint64_t)_i * 7919;
	int round;

	htab_fix_init(&f, order);
	memset(&m, 0, sizeof(m));
	m.order = order;
	m.npte = order ? 1ULL << (order - 4) : 0;
	m.e = calloc(m.npte ? m.npte : 1, sizeof(*m.e));
	/* guest memory: 16 MiB pages fit the first slot, not the second */
	add_slot(f.vm, &m, 0, 0, 0x10000000);
	add_slot(f.vm, &m, 1, 0x10000000, 0x1010000);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	for (round = 0; round < 4000; round++) {
		uint64_t x = prng(&s);
		size_t n = rand_stream(&s, buf, 4096, m.npte), count;
		long want, got;

		/* cut the stream anywhere, as a short or odd write would */
		count = (x & 3) ? n : (size_t)(prng(&s) % (n + 1));
		if ((x & 0x70) == 0x10 && count + 8 <= 4096)
			count += (size_t)(prng(&s) % 9);
		memset(buf + count, 0, 8);
		if ((x & 0xf00) == 0x100) {
			bool ready = !!(x & 0x1000);

			if (!ready || order)
				htab_set_ready(f.vm, ready);
			m.ready = ready && order;
		}
		if ((x & 0xf0000) == 0x10000) {
			m.running = !m.running;
			htab_set_vcpus(f.vm, 1, m.running);
		}
		if ((x & 0xf00000) == 0x100000) {
			if (rd) {
				ks_release(rd);
				rd = NULL;
			} else {
				rd = htab_open(f.vm, 0, 0);
			}
			m.readers = rd != NULL;
		}
		want = m_write(&m, buf, count);
		got = htab_wr(w, buf, count);
		ck_assert_msg(got == want, "round %d: %ld, model %ld", round,
			      got, want);
		if (!(round % 64) || got < 0)
			m_compare(f.vm, &m, "write", round);
	}
	m_compare(f.vm, &m, "write", round);
	if (rd)
		ks_release(rd);
	ks_release(w);
	free(m.e);
	free(buf);
	htab_fix_fini(&f);
}
END_TEST

/* ---- writes in CUSE chunks ---- */

#define CAP 131072

/*
 * A write() as the kernel sends it through CUSE: a first chunk of at most
 * first bytes, then chunks of CAP; it stops at an error or a short reply.
 */
static ssize_t kernel_write(struct ks_handle *h, const uint8_t *buf, size_t n,
			    size_t first, pid_t tid)
{
	size_t done = 0, len = first < n ? first : n;

	for (;;) {
		ssize_t ret = htab_wr_chunk(h, buf + done, len, done, tid);

		if (ret < 0)
			return done ? (ssize_t)done : ret;
		done += (size_t)ret;
		if ((size_t)ret < len || done == n)
			return (ssize_t)done;
		len = n - done < CAP ? n - done : CAP;
	}
}

/*
 * A record whose first HPTE's V word, read as the next header (Q19),
 * is {next, nv2, ni2} on a little-endian host; the V word is valid (VALID
 * in the high byte of n_invalid) and decodes as a 4 KiB page.
 */
static size_t chain_record(uint8_t *p, uint32_t index, uint16_t nv,
			   uint16_t next, uint16_t nv2, uint8_t ni2,
			   uint64_t *s)
{
	size_t n = htab_hdr(p, index, nv, 0);
	uint16_t k;

	for (k = 0; k < nv; k++) {
		uint64_t v, r;

		rand_hpte(s, &v, &r);
		if (!k) {
			v = ((uint64_t)(next & 0x7fff) << 48) |
			    ((uint64_t)(nv2 & 0xff) << 24) |
			    ((uint64_t)(nv2 >> 8) << 16) |
			    ((uint64_t)ni2 << 8) | 0x11;
			r = 0x12345012ULL;
		}
		n += htab_hpte(p + n, v, r);
	}
	return n;
}

START_TEST(test_chunked_write_model)
{
	const size_t max = 6 * CAP;
	uint8_t *buf = calloc(1, max + 8);
	struct htab_fix f;
	struct ks_handle *w;
	struct wmodel m;
	uint64_t s = 0x9e3779b9ULL * (uint64_t)(_i + 3);
	int round;

	htab_fix_init(&f, 20);
	memset(&m, 0, sizeof(m));
	m.order = 20;
	m.npte = 1ULL << 16;
	m.e = calloc(m.npte, sizeof(*m.e));
	add_slot(f.vm, &m, 0, 0, 0x10000000);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	for (round = 0; round < 40; round++) {
		size_t n = 0, count, first;
		long want;
		ssize_t got;

		/* a few large records, some leading into a Q19 chain */
		while (n < max - (8 + 16 * 20000) && (prng(&s) % 5)) {
			uint64_t x = prng(&s);
			uint16_t nv = (uint16_t)(1 + x % 20000);
			uint32_t idx = (uint32_t)((x >> 20) % (m.npte - nv));

			if (x & 0x100000000ULL) {
				n += chain_record(buf + n, idx, nv,
						  (uint16_t)(x >> 40) % 30000,
						  (uint16_t)(x >> 48) % 8,
						  (uint8_t)(1 + (x >> 56) % 3),
						  &s);
			} else {
				uint16_t k;

				n += htab_hdr(buf + n, idx, nv,
					      (uint16_t)((x >> 40) % 4));
				for (k = 0; k < nv; k++) {
					uint64_t v, r;

					rand_hpte(&s, &v, &r);
					if (prng(&s) % 4000)
						v = (v & ~(3ULL << 62)) | 1;
					n += htab_hpte(buf + n, v, r);
				}
			}
		}
		count = n;
		/* cut it anywhere, but keep the last chunk shorter than CAP */
		if (prng(&s) & 1)
			count = (size_t)(prng(&s) % (n + 1));
		first = (prng(&s) & 1) ? CAP : CAP - (size_t)(prng(&s) % 4096);
		if (count > first && (count - first) % CAP == 0)
			count--;
		memset(buf + count, 0, 8);
		want = m_write(&m, buf, count);
		got = kernel_write(w, buf, count, first, 1000 + round);
		/* D3, D8: a short count for what failed in a later chunk */
		if (want < 0)
			ck_assert_msg(got == want ||
					      (got >= 0 && (size_t)got < count),
				      "round %d: %zd, model %ld", round, got,
				      want);
		else
			ck_assert_msg(got == want || (got > want &&
						      (size_t)got <= count),
				      "round %d: %zd, model %ld", round, got,
				      want);
		m_compare(f.vm, &m, "chunked write", round);
	}
	ks_release(w);
	free(m.e);
	free(buf);
	htab_fix_fini(&f);
}
END_TEST

/* ---- the rehash ---- */

/*
 * hpt.md §8.3 on dense arrays: 0, -EIO or -ENOSPC; nt must be empty and
 * of npte_new entries.
 */
static int m_rehash(const struct ment *old, unsigned int o_old, struct ment *nt,
		    unsigned int o_new)
{
	uint64_t m_old = (1ULL << (o_old - 7)) - 1;
	uint64_t m_new = (1ULL << (o_new - 7)) - 1;
	uint64_t idx, npte = 1ULL << (o_old - 4);

	for (idx = 0; idx < npte; idx++) {
		const struct ment *e = &old[idx];
		unsigned int p, actual;
		uint64_t a, g, off, vsid, hash, pteg, nidx;

		if (!e->present)
			continue;
		m_shifts(e->v, e->r, &p, &actual);
		if (!actual)
			return -EIO;
		if (!(e->v & 0x10))
			continue;
		a = (e->v >> 7) & 0x7fffffffffffffULL;
		if (p > 23)
			a &= ~((1ULL << (p - 23)) - 1);
		g = idx / 8;
		if (e->v & 2)
			g = ~g;
		if (!(e->v & (1ULL << 62))) {
			off = (a & 0x1f) << 23;
			vsid = a >> 5;
			if (p < 23)
				off |= ((vsid ^ g) & m_old) << p;
			hash = vsid ^ (off >> p);
		} else {
			off = (a & 0x1ffff) << 23;
			vsid = a >> 17;
			if (p < 23)
				off |= ((vsid ^ (vsid << 25) ^ g) & m_old) << p;
			hash = vsid ^ (vsid << 25) ^ (off >> p);
		}
		pteg = (e->v & 2) ? (~hash & m_new) : (hash & m_new);
		nidx = pteg * 8 + idx % 8;
		if (nt[nidx].present)
			return -ENOSPC;
		nt[nidx] = *e;
	}
	return 0;
}

static long resize_ioctl(struct ks_handle *vmh, uint32_t cmd, uint32_t shift)
{
	struct ks_ppc_resize_hpt rh = { 0, shift, 0 };

	return unit_ioctl(vmh, cmd, (uintptr_t)&rh);
}

/* A table with bolted entries anywhere, some at their hash position. */
static void rand_table(struct htab_fix *f, struct wmodel *m, uint64_t *s,
		       unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint64_t i = prng(s) % m->npte, v, r, x = prng(s);
		unsigned int b, a;

		rand_hpte(s, &v, &r);
		v = (v & ~(1ULL << 63)) | 1;
		if (x & 3)
			v |= 0x10;
		/* a few undecodable ones (only raw insertion makes those) */
		m_shifts(v, r, &b, &a);
		if (!a && (x & 0x3f0))
			r &= ~0xff000ULL;
		ck_assert_int_eq(htab_insert(f->vm, i, v, r, x & 4), 0);
		m->e[i].present = true;
		m->e[i].v = (v & ~0x60ULL) | 1;
		m->e[i].r = r & ~(1ULL << 62);
		m->e[i].mod = (x & 4) || m->readers;
	}
}

START_TEST(test_rehash_model)
{
	static const unsigned int orders[][2] = {
		{ 18, 20 }, { 20, 18 }, { 19, 19 }, { 18, 19 },
		{ 19, 18 }, { 20, 22 }, { 22, 19 }, { 18, 18 },
	};
	const unsigned int o_old = orders[_i % 8][0], o_new = orders[_i % 8][1];
	uint64_t s = 0xc0ffee11ULL * (uint64_t)(_i + 1);
	struct htab_fix f;
	struct wmodel m;
	struct ment *nt;
	int want, got;
	long r;

	htab_fix_init(&f, o_old);
	memset(&m, 0, sizeof(m));
	m.npte = 1ULL << (o_old - 4);
	m.e = calloc(m.npte, sizeof(*m.e));
	rand_table(&f, &m, &s, _i < 16 ? 30 : 300);
	htab_set_ready(f.vm, 1);
	m.ready = true;
	nt = calloc(1ULL << (o_new - 4), sizeof(*nt));
	want = m_rehash(m.e, o_old, nt, o_new);
	ck_assert_int_eq(resize_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE, o_new),
			 100);
	do
		r = resize_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE, o_new);
	while (r == 100);
	ck_assert_int_eq(r, 0);
	got = (int)resize_ioctl(f.vm, KS_PPC_RESIZE_HPT_COMMIT, o_new);
	ck_assert_msg(got == want, "%u -> %u: %d, model %d", o_old, o_new, got,
		      want);
	if (!want) {
		free(m.e);
		m.e = nt;
		m.npte = 1ULL << (o_new - 4);
	} else {
		free(nt);
	}
	m_compare(f.vm, &m, "commit", _i);
	free(m.e);
	htab_fix_fini(&f);
}
END_TEST

Suite *suite_htab_model(void);
Suite *suite_htab_model(void)
{
	Suite *s = suite_create("htab_model");
	TCase *tc = tcase_create("model");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_write_model, 0, 2);
	tcase_add_loop_test(tc, test_chunked_write_model, 0, 6);
	tcase_add_loop_test(tc, test_rehash_model, 0, 48);
	suite_add_tcase(s, tc);
	return s;
}
