// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The whole s390 CMMA model against a literal reading of the spec
 * (cmma.md §3-§7, generic.md §4.3): random memory-slot changes (create,
 * move, flags, delete, with shared host memory), ENABLE/CLR_CMMA,
 * migration START/STOP, guest ESSA, SET, GET and PEEK on one VM, every
 * result and every byte compared with a small, slow reference.
 */
#include <stdio.h>

#include "check_cmma.h"
#include "core/cmma_store.h"

#define RM_SLOTS 6
#define RM_MAX_PAGES 2048 /* 8 MiB slots at most */
#define RM_GFNS 8192 /* slots lie below 32 MiB */
#define RM_UADDR 0x10000000ULL /* user addresses: 16 MiB from here */
#define RM_HOST_PAGES (4096 + RM_MAX_PAGES)

struct rm_slot {
	bool used, log;
	uint64_t base, npages, uaddr;
	bool dirty[RM_MAX_PAGES];
};

struct rm {
	struct rm_slot s[RM_SLOTS]; /* by slot id */
	uint8_t state[RM_HOST_PAGES]; /* by host page - RM_UADDR pages */
	bool vcpus, use_cmma, uses_cmm, migration;
	uint64_t dirty_count;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct rm_slot *rm_slot_of(struct rm *r, uint64_t g)
{
	int i;

	for (i = 0; i < RM_SLOTS; i++)
		if (r->s[i].used && g >= r->s[i].base &&
		    g < r->s[i].base + r->s[i].npages)
			return &r->s[i];
	return NULL;
}

static uint8_t *rm_state(struct rm *r, const struct rm_slot *m, uint64_t g)
{
	return &r->state[(m->uaddr >> 12) - (RM_UADDR >> 12) + g - m->base];
}

/* The used slots in gfn order; returns how many. */
static int rm_sorted(struct rm *r, struct rm_slot **out)
{
	int i, j, n = 0;

	for (i = 0; i < RM_SLOTS; i++) {
		if (!r->s[i].used)
			continue;
		for (j = n; j > 0 && out[j - 1]->base > r->s[i].base; j--)
			out[j] = out[j - 1];
		out[j] = &r->s[i];
		n++;
	}
	return n;
}

/* cmma.md §6.2, with at least one slot */
static uint64_t rm_next(struct rm *r, uint64_t g)
{
	struct rm_slot *v[RM_SLOTS];
	int n = rm_sorted(r, v), i;
	uint64_t ofs = 0, o;

	for (i = 0; i < n && v[i]->base + v[i]->npages <= g; i++)
		;
	if (i == n)
		i = 0;
	else if (g > v[i]->base)
		ofs = g - v[i]->base;
	for (; i < n; i++, ofs = 0)
		for (o = ofs; o < v[i]->npages; o++)
			if (v[i]->log && v[i]->dirty[o])
				return v[i]->base + o;
	return v[n - 1]->base + v[n - 1]->npages;
}

/* generic.md §4.3 for the inputs the test generates */
static long rm_region(struct rm *r, uint32_t id, uint32_t flags, uint64_t base,
		      uint64_t npages, uint64_t uaddr)
{
	struct rm_slot *m = &r->s[id], nw;
	bool log = flags & LOG, create = !m->used;
	int i;

	if (!npages) {
		if (!m->used)
			return -EINVAL;
		m->used = false; /* Q16: the counter stays */
		return 0;
	}
	if (m->used) {
		if (uaddr != m->uaddr || npages != m->npages)
			return -EINVAL;
		if (base == m->base && log == m->log)
			return 0;
	}
	if (create || base != m->base)
		for (i = 0; i < RM_SLOTS; i++)
			if (i != (int)id && r->s[i].used &&
			    base < r->s[i].base + r->s[i].npages &&
			    r->s[i].base < base + npages)
				return -EEXIST;
	if (create && ((uaddr & 0xfffff) || (npages & 255)))
		return -EINVAL;
	if (r->migration && !log)
		r->migration = false;
	nw = *m;
	if (!log || !m->used || !m->log)
		memset(nw.dirty, 0, sizeof(nw.dirty));
	nw.used = true;
	nw.log = log;
	nw.base = base;
	nw.npages = npages;
	nw.uaddr = uaddr;
	*m = nw;
	return 0;
}

static long rm_start(struct rm *r)
{
	uint64_t pages = 0;
	int i, n = 0;

	if (r->migration)
		return 0;
	for (i = 0; i < RM_SLOTS; i++)
		n += r->s[i].used;
	if (!n)
		return -EINVAL;
	if (!r->use_cmma) {
		r->migration = true;
		return 0;
	}
	for (i = 0; i < RM_SLOTS; i++)
		if (r->s[i].used && !r->s[i].log)
			return -EINVAL;
	for (i = 0; i < RM_SLOTS; i++) {
		if (!r->s[i].used)
			continue;
		memset(r->s[i].dirty, 1, r->s[i].npages);
		pages += r->s[i].npages;
	}
	r->dirty_count = pages;
	r->migration = true;
	return 0;
}

static long rm_essa(struct rm *r, uint64_t g, uint64_t n, uint8_t val)
{
	uint64_t k;

	if (!r->vcpus)
		return -ESRCH;
	if (!r->use_cmma)
		return -ENXIO;
	for (k = 0; k < n; k++)
		if (!rm_slot_of(r, g + k))
			return -EFAULT;
	for (k = 0; k < n; k++) {
		struct rm_slot *m = rm_slot_of(r, g + k);

		*rm_state(r, m, g + k) = val;
		if (r->migration && m->log && !m->dirty[g + k - m->base]) {
			m->dirty[g + k - m->base] = true;
			r->dirty_count++;
		}
	}
	if (!r->migration)
		r->uses_cmm = true;
	return 0;
}

/* cmma.md §7 with readable values */
static long rm_set(struct rm *r, uint64_t g, uint64_t n, uint64_t mask,
		   const uint8_t *vals)
{
	uint8_t m8 = (uint8_t)((mask & 0x43000000) >> 24);
	uint64_t k;

	if (!r->use_cmma)
		return -ENXIO;
	if (n > KS_S390_SKEYS_MAX)
		return -EINVAL;
	if (!n)
		return 0;
	for (k = 0; k < n; k++) {
		struct rm_slot *m = rm_slot_of(r, g + k);
		uint8_t *st;

		if (!m)
			break;
		st = rm_state(r, m, g + k);
		*st = (uint8_t)((*st & ~m8) | (vals[k] & m8));
	}
	r->uses_cmm = true;
	return k < n ? -EFAULT : 0;
}

/* cmma.md §6; out gets the struct to expect, vals the bytes */
static long rm_get(struct rm *r, struct ks_s390_cmma_log *out, uint8_t *vals)
{
	struct rm_slot *v[RM_SLOTS];
	bool peek = out->flags & PEEK;
	uint64_t B = out->count < KS_S390_SKEYS_MAX ? out->count :
						      KS_S390_SKEYS_MAX;
	uint64_t cur, nxt, start, end;
	uint32_t count = 0;
	int n = rm_sorted(r, v);

	if (!r->use_cmma)
		return -ENXIO;
	if (out->flags & ~PEEK)
		return -EINVAL;
	if (!peek && !r->migration)
		return -EINVAL;
	if (!B || !r->uses_cmm || (!peek && !r->dirty_count)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (peek) {
		cur = out->start_gfn;
		if (!rm_slot_of(r, cur))
			return -EFAULT;
		while (count < B && rm_slot_of(r, cur)) {
			vals[count++] = *rm_state(r, rm_slot_of(r, cur), cur);
			cur++;
		}
		out->count = count;
		goto done;
	}
	if (!n) {
		/* M5: the struct as sent, B zero bytes */
		memset(vals, 0, B);
		goto done;
	}
	end = v[n - 1]->base + v[n - 1]->npages;
	cur = rm_next(r, out->start_gfn);
	out->start_gfn = start = cur;
	out->count = 0;
	if (!rm_slot_of(r, cur))
		goto done;
	nxt = rm_next(r, cur + 1);
	while (count < B) {
		struct rm_slot *m = rm_slot_of(r, cur);

		if (m->log && m->dirty[cur - m->base]) {
			m->dirty[cur - m->base] = false;
			r->dirty_count--;
		}
		vals[count++] = *rm_state(r, m, cur);
		if (nxt > cur + 16)
			break;
		if (cur == nxt)
			nxt = rm_next(r, cur + 1);
		if (nxt >= end || nxt - start >= B)
			break;
		cur++;
		if (!rm_slot_of(r, cur))
			break;
	}
	out->count = count;
done:
	out->remaining = r->migration ? r->dirty_count : 0;
	return 0;
}

static uint8_t got[RM_GFNS + 16], want[RM_GFNS + 16];

static void compare(struct cm_vm *v, struct rm *r, size_t op)
{
	struct kvmshim_s390_cmma_info i = cm_info(v->h);
	const struct ks_memslots *s = &v->h->vm->slots;
	uint32_t flags = (r->use_cmma ? KVMSHIM_CMMA_ENABLED : 0) |
			 (r->uses_cmm ? KVMSHIM_CMMA_USED : 0) |
			 (r->migration ? KVMSHIM_CMMA_MIGRATING : 0);
	uint64_t bits = 0, k;
	size_t j, used = 0;

	if (i.flags != flags || i.dirty_count != r->dirty_count)
		ck_abort_msg("op %zu: flags %#x count %llu, expected %#x %llu",
			     op, i.flags, (unsigned long long)i.dirty_count,
			     flags, (unsigned long long)r->dirty_count);
	for (j = 0; j < s->n; j++) {
		const struct rm_slot *m = &r->s[s->v[j].id];
		const struct ks_bitmap *bm = s->v[j].arch;

		ck_assert(m->used && m->base == s->v[j].gpa >> 12);
		ck_assert_int_eq(!!bm, m->log);
		for (k = 0; bm && k < m->npages; k++) {
			if (ks_bitmap_test(bm, k) != m->dirty[k])
				ck_abort_msg("op %zu: gfn %llu dirty %d", op,
					     (unsigned long long)(m->base + k),
					     !m->dirty[k]);
			bits += m->dirty[k];
		}
	}
	for (j = 0; j < RM_SLOTS; j++)
		used += r->s[j].used;
	ck_assert_uint_eq(s->n, used);
	ck_assert_uint_eq(i.dirty_bits, bits);
}

START_TEST(test_model_matches_reference)
{
	static struct rm r;
	struct cm_vm v = cm_new();
	struct ks_s390_cmma_log log, exp;
	uint64_t seed = 0x2545f4914f6cdd1dULL + (uint64_t)_i, resume = 0;
	uint64_t last_essa = 0;
	size_t op;

	memset(&r, 0, sizeof(r));
	/* one run where CMMA can never be enabled */
	if (_i == 5) {
		ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
		r.vcpus = true;
	}
	for (op = 0; op < 4000; op++) {
		uint64_t what = rnd(&seed) % 100, g, n;
		long ret, want_ret;

		if (what < 12) {
			uint32_t id = (uint32_t)(rnd(&seed) % RM_SLOTS);
			struct rm_slot *m = &r.s[id];
			uint32_t flags = rnd(&seed) % 4 ? LOG : 0;
			uint64_t base = rnd(&seed) % (RM_GFNS / 16) * 16;
			uint64_t np = 256 * (1 + rnd(&seed) % 8);
			uint64_t ua = RM_UADDR + (rnd(&seed) % 8) * MiB;

			if (rnd(&seed) % 5 == 0) {
				np = 0;
			} else if (m->used && rnd(&seed) % 3) {
				/* a move or a flags change of the slot */
				np = m->npages;
				ua = m->uaddr;
				if (rnd(&seed) % 2)
					base = m->base;
			} else if (rnd(&seed) % 8 == 0) {
				/* not made of 1 MiB segments */
				np -= 16;
			}
			if (base + np > RM_GFNS)
				base = RM_GFNS - np;
			ret = cm_region(v.h, id, flags, base, np, ua);
			want_ret = rm_region(&r, id, flags, base, np, ua);
			if (ret != want_ret)
				ck_abort_msg("op %zu: region %u %#x %llu+%llu: "
					     "%ld, expected %ld",
					     op, id, flags,
					     (unsigned long long)base,
					     (unsigned long long)np, ret,
					     want_ret);
		} else if (what < 16) {
			ck_assert_int_eq(cm_start(v.h), rm_start(&r));
		} else if (what < 18) {
			ck_assert_int_eq(cm_stop(v.h), 0);
			r.migration = false;
		} else if (what < 19) {
			/* mostly before the first vCPU, which forbids it */
			if (!r.use_cmma || rnd(&seed) % 4 == 0) {
				ck_assert_int_eq(cm_enable(v.h),
						 r.vcpus ? -EBUSY : 0);
				r.use_cmma |= !r.vcpus;
			} else {
				ck_assert_int_eq(cm_vcpus(v.h, 1), 0);
				r.vcpus = true;
			}
		} else if (what < 20) {
			ret = cm_set_attr(v.h, 0, KS_S390_VM_MEM_CLR_CMMA);
			ck_assert_int_eq(ret, r.use_cmma ? 0 : -EINVAL);
			if (!ret)
				memset(r.state, 0, sizeof(r.state));
		} else if (what < 50) {
			uint8_t usage = (uint8_t)(rnd(&seed) % 4);
			uint8_t nodat = (uint8_t)(rnd(&seed) % 2);

			/* often near the last one: gaps of every size */
			if (rnd(&seed) % 2)
				g = (last_essa + rnd(&seed) % 40) % RM_GFNS;
			else
				g = rnd(&seed) % RM_GFNS;
			last_essa = g;
			n = rnd(&seed) % 4 ? 1 + rnd(&seed) % 3 :
					     1 + rnd(&seed) % 40;
			ck_assert_int_eq(
				cm_essa(v.h, g, (uint32_t)n, usage, nodat),
				rm_essa(&r, g, n,
					(uint8_t)(usage | nodat << 6)));
		} else if (what < 58) {
			static const uint64_t masks[] = {
				~0ULL, 0x43, 0x03000000, 0x40000000, 0x80000000
			};
			uint64_t mask = masks[rnd(&seed) % 5], k;

			g = rnd(&seed) % RM_GFNS;
			n = 1 + rnd(&seed) % 300;
			for (k = 0; k < n; k++)
				want[k] = (uint8_t)rnd(&seed);
			ck_assert_int_eq(cm_set(v.h, g, (uint32_t)n, mask,
						want),
					 rm_set(&r, g, n, mask, want));
		} else {
			uint32_t flags = what < 70 ? PEEK : 0;

			if (rnd(&seed) % 3 == 0)
				g = resume;
			else
				g = rnd(&seed) % (RM_GFNS + 64);
			n = rnd(&seed) % 4 ? 1 + rnd(&seed) % 64 :
					     rnd(&seed) % (RM_GFNS + 1);
			ret = cm_get(v.h, &log, g, (uint32_t)n, flags, got,
				     sizeof(got));
			memset(&exp, 0, sizeof(exp));
			exp.start_gfn = g;
			exp.count = (uint32_t)n;
			exp.flags = flags;
			exp.values = (uintptr_t)got;
			want_ret = rm_get(&r, &exp, want);
			if (ret != want_ret ||
			    (!ret && memcmp(&log, &exp, sizeof(log))))
				ck_abort_msg("op %zu: GET(%llu, %llu, %u) gave "
					     "%ld %llu/%u/%llu, expected "
					     "%ld %llu/%u/%llu",
					     op, (unsigned long long)g,
					     (unsigned long long)n, flags, ret,
					     (unsigned long long)log.start_gfn,
					     log.count,
					     (unsigned long long)log.remaining,
					     want_ret,
					     (unsigned long long)exp.start_gfn,
					     exp.count,
					     (unsigned long long)exp.remaining);
			if (!ret && exp.values) {
				n = v.h->vm->slots.n || flags ? exp.count : n;
				ck_assert_mem_eq(got, want, n);
				ck_assert_uint_eq(got[n], 0xff);
				resume = exp.start_gfn + exp.count;
			} else {
				ck_assert_uint_eq(got[0], 0xff);
			}
		}
		compare(&v, &r, op);
	}
	cm_free(&v);
}
END_TEST

Suite *suite_cmma_model(void);
Suite *suite_cmma_model(void)
{
	Suite *s = suite_create("cmma_model");
	TCase *tc = tcase_create("reference");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_model_matches_reference, 0, 6);
	suite_add_tcase(s, tc);
	return s;
}
