// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HTAB streams through CUSE against the same calls made directly, on two
 * engines driven through the same history (spec: cuse.md §4, §7.2; README
 * D2): a read(2) of any size at any buffer alignment must return exactly
 * the bytes a direct read of its first transport chunk returns, and leave
 * the stream where that read leaves it; a write that fits one chunk must
 * return what the direct write returns and leave the same table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/internal.h"
#include "fakekernel.h"

#define CAP 131072
#define PAGE 4096
#define ORDER 18
#define NPTE (1U << (ORDER - 4))
#define EX_V 0x0000000123456a91ULL
#define EX_R 0x0000000012345012ULL

struct side {
	struct ks_engine *eng;
	/* through the harness */
	struct fk *sys, *vmk;
	uint64_t vmfh, rfh, wfh;
	/* direct */
	struct ks_handle *vm, *rh, *wh;
};

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rnd_state >> 33);
}

static long vm_call(struct side *s, uint32_t cmd, void *arg)
{
	if (s->vmk)
		return fk_ioctl(s->vmk, s->vmfh, fk_gettid(), cmd,
				(uintptr_t)arg);
	return unit_ioctl(s->vm, cmd, (uintptr_t)arg);
}

static uint64_t stream_fh(struct side *s, uint64_t flags)
{
	struct kvmshim_fd_request req;

	htab_fd_request_init(&req, flags, 0);
	ck_assert_int_eq(vm_call(s, KVMSHIM_FD_REQUEST, &req), 0);
	return htab_fk_bind(s->sys, flags, req.token, 0);
}

static void side_up(struct side *s, bool cuse, uint64_t rflags)
{
	uint32_t order = ORDER;

	memset(s, 0, sizeof(*s));
	s->eng = unit_engine("power8");
	if (cuse) {
		s->sys = fk_new(s->eng, KS_NODE_SYSTEM, NULL);
		s->vmk = fk_new(s->eng, KS_NODE_VM, NULL);
		ck_assert_int_eq(fk_open(s->vmk, fk_gettid(), O_RDWR, &s->vmfh),
				 0);
	} else {
		s->vm = unit_open(s->eng, 1, UNIT_TGID);
	}
	ck_assert_int_eq(vm_call(s, KS_PPC_ALLOCATE_HTAB, &order), 0);
	if (cuse) {
		s->rfh = stream_fh(s, rflags);
		s->wfh = stream_fh(s, KS_GET_HTAB_WRITE);
	} else {
		s->rh = htab_open(s->vm, rflags, 0);
		s->wh = htab_open(s->vm, KS_GET_HTAB_WRITE, 0);
	}
}

static void side_down(struct side *s)
{
	if (s->vmk) {
		ck_assert_int_eq(fk_release(s->sys, s->rfh), 0);
		ck_assert_int_eq(fk_release(s->sys, s->wfh), 0);
		ck_assert_int_eq(fk_release(s->vmk, s->vmfh), 0);
		ck_assert_uint_eq(fk_free(s->sys), 0);
		ck_assert_uint_eq(fk_free(s->vmk), 0);
	} else {
		ks_release(s->rh);
		ks_release(s->wh);
		ks_release(s->vm);
	}
	ks_engine_free(s->eng);
}

/* A read(2) of n bytes into buf; the direct side reads the first chunk. */
static ssize_t side_read(struct side *s, uint8_t *buf, size_t n)
{
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_chunk whole = { 0 };
	size_t first = CAP - (uintptr_t)buf % PAGE;

	if (s->vmk)
		return fk_read(s->sys, s->rfh, fk_gettid(), buf, n);
	if (!n)
		return 0;
	return ks_read(s->rh, buf, n < first ? n : first, &whole, &c);
}

static ssize_t side_write(struct side *s, const uint8_t *buf, size_t n)
{
	if (s->vmk)
		return fk_write(s->sys, s->wfh, fk_gettid(), buf, n);
	return htab_wr(s->wh, buf, n);
}

static struct kvmshim_ppc_entry entry(struct side *s, uint64_t idx)
{
	struct kvmshim_ppc_entry e = { .index = idx };

	ck_assert_int_eq(vm_call(s, KVMSHIM_PPC_READ_ENTRY, &e), 0);
	return e;
}

static void both_ok(struct side *a, struct side *b, uint32_t cmd, void *arg,
		    size_t len)
{
	void *copy = malloc(len);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, arg, len);
	ck_assert_int_eq(vm_call(a, cmd, arg), vm_call(b, cmd, copy));
	ck_assert_mem_eq(arg, copy, len);
	free(copy);
}

/* The guest changes a few entries, on both sides alike. */
static void churn(struct side *a, struct side *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t idx = rnd() % NPTE;

		if (rnd() % 3) {
			struct kvmshim_ppc_entry e = {
				.index = idx,
				.flags = rnd() % 2 ?
						 KVMSHIM_PPC_ENTRY_MODIFIED :
						 0,
				.v = EX_V + ((uint64_t)(rnd() % 64) << 7) +
				     (rnd() % 4 ? 0 : 0x40),
				.r = EX_R + ((uint64_t)(rnd() % 64) << 12),
			};

			both_ok(a, b, KVMSHIM_PPC_INSERT_RAW, &e, sizeof(e));
		} else {
			struct kvmshim_ppc_hpte h = { .index = idx };

			both_ok(a, b, KVMSHIM_PPC_H_REMOVE, &h, sizeof(h));
		}
	}
}

static const size_t read_sizes[] = { 0,	     1,	      24,     25,     40,
				     4096,   126976,  126977, 131071, 131072,
				     131073, 1 << 20, 2 << 20 };
static const size_t buf_offs[] = { 0, 1, 8, 100, 4095 };

static void read_both(struct side *a, struct side *b, uint8_t *ma, uint8_t *mb,
		      size_t n, size_t off)
{
	ssize_t ra, rb;

	memset(ma, 0xee, (3 << 20));
	memset(mb, 0xee, (3 << 20));
	ra = side_read(a, ma + off, n);
	rb = side_read(b, mb + off, n);
	ck_assert_msg(ra == rb, "read %zu at +%zu: %zd vs %zd", n, off, ra, rb);
	ck_assert_msg(!memcmp(ma, mb, 3 << 20), "read %zu at +%zu: bytes", n,
		      off);
}

/*
 * The harness's buffer faults from page fp on (relative to the buffer's
 * first page): the kernel passes the read on only up to that page, so it
 * must equal a direct read of what lies before it (EFAULT when nothing).
 */
static void read_both_faulting(struct side *a, struct side *b, uint8_t *ma,
			       uint8_t *mb, size_t n, size_t off,
			       unsigned int fp)
{
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_chunk whole = { 0 };
	size_t good = (size_t)fp * PAGE - off, m;
	ssize_t ra, rb;

	m = n < good ? n : good;
	if (m > CAP - off)
		m = CAP - off;
	memset(ma, 0xee, (3 << 20));
	memset(mb, 0xee, (3 << 20));
	fk_fault(a->sys, ma + (size_t)fp * PAGE, PAGE);
	ra = fk_read(a->sys, a->rfh, fk_gettid(), ma + off, n);
	fk_unfault_all(a->sys);
	if (!n)
		rb = 0;
	else if (!fp)
		rb = -EFAULT;
	else
		rb = ks_read(b->rh, mb + off, m, &whole, &c);
	ck_assert_msg(ra == rb, "read %zu at +%zu, page %u bad: %zd vs %zd", n,
		      off, fp, ra, rb);
	ck_assert_msg(!memcmp(ma, mb, 3 << 20),
		      "read %zu at +%zu, page %u bad: bytes", n, off, fp);
}

static void parity_run(uint64_t rflags, uint64_t seed)
{
	uint8_t *ma = aligned_alloc(PAGE, 3 << 20);
	uint8_t *mb = aligned_alloc(PAGE, 3 << 20);
	struct side a, b;
	unsigned int it;

	ck_assert_ptr_nonnull(ma);
	ck_assert_ptr_nonnull(mb);
	rnd_state = seed;
	side_up(&a, true, rflags);
	side_up(&b, false, rflags);
	churn(&a, &b, 3000);
	for (it = 0; it < 160; it++) {
		if (it % 5 == 4) {
			static const unsigned int fps[] = { 0, 1, 2, 5, 31, 32 };

			read_both_faulting(&a, &b, ma, mb,
					   read_sizes[rnd() % 13],
					   buf_offs[rnd() % 5], fps[rnd() % 6]);
		} else {
			read_both(&a, &b, ma, mb, read_sizes[rnd() % 13],
				  buf_offs[rnd() % 5]);
		}
		if (it % 4 == 0)
			churn(&a, &b, 1 + rnd() % 150);
	}
	side_down(&a);
	side_down(&b);
	free(ma);
	free(mb);
}

START_TEST(test_reads_equal_direct_reads)
{
	parity_run(0, 5);
}
END_TEST

START_TEST(test_bolted_reads_equal_direct_reads)
{
	parity_run(KS_GET_HTAB_BOLTED_ONLY, 6);
}
END_TEST

/*
 * Writes that fit in one chunk the daemon knows to be the last: the same
 * count or errno as a direct write, and the same table afterwards.
 */
START_TEST(test_single_chunk_writes_equal_direct_writes)
{
	static const size_t sizes[] = { 0,    7,     8,	    15,	    16,
					23,   24,    40,    4096,   4104,
					4105, 65536, 65544, 126968, 126976 };
	uint8_t *buf = aligned_alloc(PAGE, 2 * CAP);
	struct side a, b;
	unsigned int it, k;
	ssize_t ra, rb;
	size_t n, pos;
	uint64_t idx;

	ck_assert_ptr_nonnull(buf);
	rnd_state = 7;
	side_up(&a, true, 0);
	side_up(&b, false, 0);
	churn(&a, &b, 2000);
	for (it = 0; it < 300; it++) {
		n = sizes[rnd() % 15];
		/* a few records: mostly valid, some empty, some broken */
		for (pos = 0; pos + 8 <= n;) {
			/* often as many HPTEs as fit, or a Q2 overhang */
			uint16_t nv = (uint16_t)(rnd() % 2 ? (n - pos) / 16 :
							     rnd() % 50);
			uint16_t ni = (uint16_t)(rnd() % 3);

			idx = rnd() % (NPTE + 4);
			pos += htab_hdr(buf + pos, (uint32_t)idx, nv, ni);
			for (k = 0; k < nv && pos + 16 <= 2 * CAP; k++)
				pos += htab_hpte(buf + pos,
						 (EX_V + ((uint64_t)k << 7)) &
							 (rnd() % 50 ? ~0ULL :
								       ~1ULL),
						 EX_R);
			if (rnd() % 2)
				break;
		}
		if (it % 5 == 0)
			htab_hpte(buf + 8 * (rnd() % 8), EX_V, EX_R);
		ra = side_write(&a, buf, n);
		rb = side_write(&b, buf, n);
		ck_assert_msg(ra == rb, "%u: write %zu: %zd vs %zd", it, n, ra,
			      rb);
		if (it % 10 == 0)
			churn(&a, &b, 50);
	}
	for (idx = 0; idx < NPTE; idx++) {
		struct kvmshim_ppc_entry ea = entry(&a, idx),
					 eb = entry(&b, idx);

		ck_assert_mem_eq(&ea, &eb, sizeof(ea));
	}
	side_down(&a);
	side_down(&b);
	free(buf);
}
END_TEST

Suite *suite_htab_parity(void);
Suite *suite_htab_parity(void)
{
	Suite *s = suite_create("htab_parity");
	TCase *tc = tcase_create("cuse_vs_direct");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_reads_equal_direct_reads);
	tcase_add_test(tc, test_bolted_reads_equal_direct_reads);
	tcase_add_test(tc, test_single_chunk_writes_equal_direct_writes);
	suite_add_tcase(s, tc);
	return s;
}
