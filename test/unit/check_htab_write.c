// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing the HTAB stream: the examples W1-W7 of htab-fd.md §7 byte for
 * byte, the errnos in Linux's order, partial application (Q6), the VRMA
 * rule, and the reassembly of records over CUSE chunks (cuse.md §7.2, D3,
 * D8).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/hpt.h"
#include "core/internal.h"

#define EX_V 0x0000000123456a91ULL
#define EX_R 0x0000000012345012ULL
#define CAP 131072
#define VRMA_V 0x4001ffffff000015ULL /* 1 TiB, VSID 0x1ffffff, 16 MiB */

static const uint8_t w1[24] = {
	0xd8, 0x3c, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* {15576, 1, 0} */
	0x00, 0x00, 0x00, 0x01, 0x23, 0x45, 0x6a, 0x91, /* V */
	0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x50, 0x12, /* R */
};
static const uint8_t w2[8] = { 0xd8, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00 };

/* _i = 0: a whole write() call; 1: one CUSE chunk at offset 0. */
static ssize_t wr_as(int how, struct ks_handle *h, const void *buf, size_t n)
{
	return how ? htab_wr_chunk(h, buf, n, 0, UNIT_TGID) :
		     htab_wr(h, buf, n);
}

START_TEST(test_w1_w2)
{
	struct htab_fix f;
	struct ks_handle *w, *r;
	uint8_t buf[64], want[24];

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(wr_as(_i, w, w1, sizeof(w1)), 24);
	ck_assert(htab_holds(f.vm, 15576, EX_V, EX_R));
	/* no reader: the write marks nothing */
	ck_assert_uint_eq(htab_entry(f.vm, 15576).flags,
			  KVMSHIM_PPC_ENTRY_PRESENT);
	r = htab_open(f.vm, 0, 15576);
	htab_hdr(want, 15576, 1, 807);
	htab_hpte(want + 8, 0x0000000123456ad1ULL, EX_R);
	ck_assert_int_eq(htab_rd(r, buf, 64), 24);
	ck_assert_mem_eq(buf, want, 24);
	ck_assert_int_eq(wr_as(_i, w, w2, sizeof(w2)), 8);
	ck_assert(htab_empty(f.vm, 15576));
	/* with a reader open the removal is marked */
	ck_assert(htab_entry(f.vm, 15576).flags & KVMSHIM_PPC_ENTRY_MODIFIED);
	ks_release(r);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_w3_w4)
{
	struct htab_fix f;
	struct ks_handle *w;

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* W4: the data overhangs by 9, the call stops at the fit test */
	ck_assert_int_eq(wr_as(_i, w, w1, 15), 0);
	ck_assert(htab_empty(f.vm, 15576));
	/* W3: by 8 bytes: processed, R taken as zero, count capped (D3) */
	ck_assert_int_eq(wr_as(_i, w, w1, 16), 16);
	ck_assert(htab_holds(f.vm, 15576, EX_V, 0));
	/* fewer than 8 bytes are ignored */
	ck_assert_int_eq(wr_as(_i, w, w1, 7), 0);
	ck_assert_int_eq(wr_as(_i, w, w1, 0), 0);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_w5)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[40];
	size_t n;
	uint64_t i;

	htab_fix_init(&f, 18);
	for (i = 16380; i < 16384; i++)
		htab_insert(f.vm, i, EX_V, EX_R, false);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	n = htab_hdr(buf, 16380, 2, 3);
	n += htab_hpte(buf + n, EX_V + 0x80, EX_R);
	n += htab_hpte(buf + n, EX_V + 0x100, EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), 0);
	for (i = 16380; i < 16384; i++)
		ck_assert(htab_holds(f.vm, i, EX_V, EX_R));
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_w6_w7)
{
	struct htab_fix f;
	struct ks_handle *w, *r;
	uint8_t buf[48];

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* W6: the second header is W1's V: {0x01000000, 0x4523, 0x916a} */
	memcpy(buf, w1, 24);
	htab_hdr(buf + 24, 100, 1, 0);
	htab_hpte(buf + 32, EX_V & ~1ULL, EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, 48), 24);
	ck_assert(htab_holds(f.vm, 15576, EX_V, EX_R));
	ck_assert(htab_empty(f.vm, 100));
	/* W7: a first record without HPTEs, then W1: both apply */
	r = htab_open(f.vm, 0, 16384);
	memcpy(buf, w2, 8);
	memcpy(buf + 8, w1, 24);
	ck_assert_int_eq(wr_as(_i, w, buf, 32), 32);
	ck_assert(htab_holds(f.vm, 15576, EX_V, EX_R));
	ck_assert(htab_entry(f.vm, 15576).flags & KVMSHIM_PPC_ENTRY_MODIFIED);
	ks_release(r);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

/* ---- errnos and their order ---- */

START_TEST(test_ebusy)
{
	struct htab_fix f;
	struct ks_handle *w;

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	htab_set_ready(f.vm, 1);
	htab_set_vcpus(f.vm, 1, 1);
	ck_assert_int_eq(wr_as(_i, w, w1, 24), -EBUSY);
	ck_assert(htab_empty(f.vm, 15576));
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* EBUSY comes before anything about the data, even 0 bytes */
	ck_assert_int_eq(wr_as(_i, w, w1, 0), -EBUSY);
	/* no vCPU running: accepted, and the MMU is ready again after */
	htab_set_vcpus(f.vm, 1, 0);
	ck_assert_int_eq(wr_as(_i, w, w1, 24), 24);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* vCPUs running but the MMU not ready: accepted, stays not ready */
	htab_set_ready(f.vm, 0);
	htab_set_vcpus(f.vm, 1, 1);
	ck_assert_int_eq(wr_as(_i, w, w2, 8), 8);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_record_errors)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[128];
	size_t n;

	htab_fix_init(&f, 18);
	htab_insert(f.vm, 16383, EX_V, EX_R, false);
	htab_insert(f.vm, 50, EX_V, EX_R, false);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* the range check */
	htab_hdr(buf, 16384, 0, 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), -EINVAL);
	htab_hdr(buf, 0xffffffff, 0, 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), -EINVAL);
	htab_hdr(buf, 16383, 0, 2);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), -EINVAL);
	ck_assert(htab_holds(f.vm, 16383, EX_V, EX_R));
	/* ... comes before the HPTE checks (these would be EIO) */
	n = htab_hdr(buf, 16383, 2, 0);
	n += htab_hpte(buf + n, EX_V | (1ULL << 63), EX_R);
	n += htab_hpte(buf + n, EX_V | (1ULL << 63), EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	ck_assert(htab_holds(f.vm, 16383, EX_V, EX_R));
	/* an empty record is range-checked and does nothing else */
	htab_hdr(buf, 16383, 0, 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), 8);
	ck_assert(htab_holds(f.vm, 16383, EX_V, EX_R));
	/* VALID clear, and an invalid page size: EINVAL, occupant kept */
	n = htab_hdr(buf, 50, 1, 0);
	n += htab_hpte(buf + n, EX_V & ~1ULL, EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	htab_hpte(buf + 8, EX_V | 4, 0x2000); /* L with LP = 2 */
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	ck_assert(htab_holds(f.vm, 50, EX_V, EX_R));
	/* a rejected entry (B = 1x): EIO, and the index is left empty */
	htab_hpte(buf + 8, EX_V | (1ULL << 63), EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EIO);
	ck_assert(htab_empty(f.vm, 50));
	/* 16 MiB, 64 KiB and 16 GiB encodings are accepted */
	n = htab_hdr(buf, 60, 3, 0);
	n += htab_hpte(buf + n, 0x123456a05ULL, 0x13000012ULL);
	n += htab_hpte(buf + n, 0x123456a85ULL, 0x12341012ULL);
	n += htab_hpte(buf + n, 0x123456a05ULL, 0x400003012ULL);
	ck_assert_int_eq(wr_as(_i, w, buf, n), (ssize_t)n);
	ck_assert(htab_holds(f.vm, 62, 0x123456a05ULL, 0x400003012ULL));
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

/* Q6: what was applied before the error stays. */
START_TEST(test_partial_application)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[128];
	size_t n;

	htab_fix_init(&f, 18);
	htab_insert(f.vm, 12, EX_V, EX_R, false);
	htab_insert(f.vm, 20, EX_V, EX_R, false);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	n = htab_hdr(buf, 10, 3, 0);
	n += htab_hpte(buf + n, EX_V + 0x80, EX_R);
	n += htab_hpte(buf + n, EX_V + 0x100, EX_R);
	n += htab_hpte(buf + n, (EX_V + 0x180) & ~1ULL, EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	ck_assert(htab_holds(f.vm, 10, EX_V + 0x80, EX_R));
	ck_assert(htab_holds(f.vm, 11, EX_V + 0x100, EX_R));
	ck_assert(htab_holds(f.vm, 12, EX_V, EX_R));
	/* over records: the first (no HPTEs) applies, the second fails */
	n = htab_hdr(buf, 20, 0, 1);
	n += htab_hdr(buf + n, 21, 1, 0);
	n += htab_hpte(buf + n, EX_V | (1ULL << 63), EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EIO);
	ck_assert(htab_empty(f.vm, 20));
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

/* A VRMA HPTE makes the MMU ready at the end, even of a failed call. */
START_TEST(test_vrma)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[64];
	size_t n;

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	htab_set_vcpus(f.vm, 1, 1);
	n = htab_hdr(buf, 30, 2, 0);
	n += htab_hpte(buf + n, VRMA_V, 0);
	n += htab_hpte(buf + n, EX_V & ~1ULL, EX_R);
	ck_assert_int_eq(wr_as(_i, w, buf, n), -EINVAL);
	ck_assert(htab_holds(f.vm, 30, VRMA_V, 0));
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	/* so the next write with vCPUs running is EBUSY */
	ck_assert_int_eq(wr_as(_i, w, w2, 8), -EBUSY);
	/* a near miss of the pattern does nothing */
	htab_set_ready(f.vm, 0);
	htab_hdr(buf, 30, 1, 0);
	htab_hpte(buf + 8, VRMA_V ^ (1ULL << 24), 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 24), 24);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 0);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_no_hpt)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[24];

	htab_fix_init(&f, 0);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	htab_hdr(buf, 0, 0, 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), -EINVAL);
	/* a record whose data does not fit stops first */
	htab_hdr(buf, 0, 1, 0);
	ck_assert_int_eq(wr_as(_i, w, buf, 8), 0);
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

/* Q2 on a later record: its overhang reads as zero, the count is capped. */
START_TEST(test_overhang_later_record)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t buf[64];
	size_t n;

	htab_fix_init(&f, 18);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	n = htab_hdr(buf, 100, 0, 1);
	n += htab_hdr(buf + n, 100, 2, 0);
	n += htab_hpte(buf + n, EX_V, EX_R);
	n += 8;
	{
		uint64_t bv = htobe64(EX_V + 0x80);

		memcpy(buf + n - 8, &bv, 8);
	}
	ck_assert_int_eq(wr_as(_i, w, buf, n), (ssize_t)n);
	ck_assert(htab_holds(f.vm, 100, EX_V, EX_R));
	ck_assert(htab_holds(f.vm, 101, EX_V + 0x80, 0));
	ks_release(w);
	htab_fix_fini(&f);
}
END_TEST

/* ---- CUSE chunks ---- */

/* Model memory besides the tables: what write reassembly holds. */
static uint64_t held_bytes(struct htab_fix *f)
{
	return ks_mem_used(f->eng) - htab_info(f->vm).mem_bytes;
}

/* A record {index, nv, 0} with distinct HPTEs; its size in *len. */
static uint8_t *big_record(uint32_t index, uint32_t nv, size_t *len)
{
	uint8_t *b = malloc(8 + 16 * (size_t)nv);
	uint32_t k;

	*len = htab_hdr(b, index, (uint16_t)nv, 0);
	for (k = 0; k < nv; k++)
		*len += htab_hpte(b + *len, EX_V + ((uint64_t)k << 7),
				  EX_R + ((uint64_t)k << 12));
	return b;
}

static bool record_applied(struct htab_fix *f, uint32_t index, uint32_t nv)
{
	struct ks_vm *vm = f->vm->vm;
	bool ok = true;
	uint32_t k;

	pthread_mutex_lock(&vm->lock);
	for (k = 0; k < nv && ok; k++) {
		struct ks_hpte e;

		ks_hpt_get(vm, index + k, &e);
		ok = ks_hpte_present(&e) &&
		     ks_hpte_guest_v(&e) == EX_V + ((uint64_t)k << 7) &&
		     ks_hpte_guest_r(&e) == EX_R + ((uint64_t)k << 12);
	}
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

/*
 * A write() as the kernel sends it: a first chunk of at most first bytes,
 * then chunks of CAP; stops at an error or a short reply.  The chunk
 * replies go to replies[] (if given).
 */
static ssize_t kernel_write(struct ks_handle *h, const uint8_t *buf, size_t n,
			    size_t first, pid_t tid, ssize_t *replies)
{
	size_t done = 0, len = first < n ? first : n;
	int k = 0;

	for (;;) {
		ssize_t ret = htab_wr_chunk(h, buf + done, len, done, tid);

		if (replies)
			replies[k++] = ret;
		if (ret < 0)
			return done ? (ssize_t)done : ret;
		done += (size_t)ret;
		if ((size_t)ret < len || done == n)
			return (ssize_t)done;
		len = n - done < CAP ? n - done : CAP;
	}
}

/* QEMU's largest record: 8 chunks, each acknowledged in full. */
START_TEST(test_largest_record)
{
	/* aligned; unaligned by 100 (a 92-byte ninth chunk); by 8 */
	static const size_t firsts[] = { CAP, CAP - 100, CAP - 8 };
	struct htab_fix f;
	struct ks_handle *w;
	ssize_t replies[16];
	uint8_t *rec;
	size_t len, done = 0;
	uint64_t base;
	int k;

	htab_fix_init(&f, 24);
	rec = big_record(1000, 65535, &len);
	ck_assert_uint_eq(len, 1048568);
	base = held_bytes(&f);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* nothing is applied before the last byte arrived */
	for (k = 0; done + CAP < len; k++) {
		size_t n = k ? CAP : firsts[_i];

		ck_assert_int_eq(htab_wr_chunk(w, rec + done, n, done, 77),
				 (ssize_t)n);
		done += n;
		ck_assert(htab_empty(f.vm, 1000));
		ck_assert_uint_gt(held_bytes(&f), base + done - 1);
	}
	ck_assert_int_eq(htab_wr_chunk(w, rec + done, len - done, done, 77),
			 (ssize_t)(len - done));
	ck_assert(record_applied(&f, 1000, 65535));
	ck_assert_uint_eq(htab_info(f.vm).valid, 65535);
	if (len - done == CAP) {
		/* a full last chunk might have a successor: state is kept */
		ck_assert_uint_gt(held_bytes(&f), base);
		ck_assert_int_eq(htab_wr_chunk(w, w2, 8, 0, 77), 8);
	}
	ck_assert_uint_eq(held_bytes(&f), base);
	/* the same through the kernel's loop */
	ck_assert_int_eq(htab_alloc(f.vm, 24), 0);
	ck_assert_int_eq(kernel_write(w, rec, len, firsts[_i], 78, replies),
			 (ssize_t)len);
	ck_assert(record_applied(&f, 1000, 65535));
	ks_release(w);
	ck_assert_uint_eq(held_bytes(&f), base);
	free(rec);
	htab_fix_fini(&f);
}
END_TEST

/* The chunked result equals the whole-buffer one (Q19 across chunks). */
START_TEST(test_chunks_match_direct)
{
	struct htab_fix a, b;
	struct ks_handle *wa, *wb;
	const size_t n = 324120;
	uint8_t *buf = calloc(1, n);
	ssize_t ra, rb;
	size_t p;
	uint64_t i;
	uint32_t k;

	/* record 1 {1000, 20000, 0}; its first V reads as {0, 256, 273} */
	p = htab_hdr(buf, 1000, 20000, 0);
	for (k = 0; k < 20000; k++)
		p += htab_hpte(buf + p,
			       k ? 0x0000000000ffff01ULL | ((uint64_t)k << 40) :
				   0x0000000000011101ULL,
			       0x0000000012345013ULL + ((uint64_t)k << 12));
	htab_fix_init(&a, 20);
	htab_fix_init(&b, 20);
	for (i = 200; i < 600; i += 3) {
		htab_insert(a.vm, i, EX_V, EX_R, false);
		htab_insert(b.vm, i, EX_V, EX_R, false);
	}
	wa = htab_open(a.vm, KS_GET_HTAB_WRITE, 0);
	wb = htab_open(b.vm, KS_GET_HTAB_WRITE, 0);
	ra = htab_wr(wa, buf, n);
	rb = kernel_write(wb, buf, n, CAP - 1000 * (size_t)_i, 5, NULL);
	/* records 1 and 2 applied; the third header's fit test stops */
	ck_assert_int_eq(ra, 324112);
	ck_assert_int_eq(rb, ra);
	ck_assert(
		htab_holds(a.vm, 0, 0x12345013ULL, 0xffff01ULL | (1ULL << 40)));
	ck_assert(htab_holds(a.vm, 1000, 0x11101ULL, 0x12345013ULL));
	ck_assert(htab_empty(a.vm, 299));
	ck_assert(htab_holds(a.vm, 599, EX_V, EX_R));
	{
		struct ks_vm *va = a.vm->vm, *vb = b.vm->vm;
		uint64_t bad = UINT64_MAX;

		for (i = 0; i < 65536 && bad == UINT64_MAX; i++) {
			struct ks_hpte ea, eb;

			ks_hpt_get(va, i, &ea);
			ks_hpt_get(vb, i, &eb);
			if (memcmp(&ea, &eb, sizeof(ea)))
				bad = i;
		}
		ck_assert_msg(bad == UINT64_MAX, "entry %llu differs",
			      (unsigned long long)bad);
	}
	ks_release(wa);
	ks_release(wb);
	htab_fix_fini(&a);
	htab_fix_fini(&b);
	free(buf);
}
END_TEST

/* D3: a truncated last record that started in an acknowledged chunk. */
START_TEST(test_truncated_record)
{
	struct htab_fix f;
	struct ks_handle *w;
	ssize_t replies[4];
	uint8_t *rec;
	size_t len;

	htab_fix_init(&f, 24);
	rec = big_record(0, 65535, &len);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	/* Linux: 0; through chunks the first two are acknowledged */
	ck_assert_int_eq(kernel_write(w, rec, 300000, CAP, 9, replies), 262144);
	ck_assert_int_eq(replies[2], 0);
	ck_assert(htab_empty(f.vm, 0));
	/* overhang of 8 over a chunk boundary: processed, R taken as 0 */
	free(rec);
	rec = big_record(0, 8195, &len);
	ck_assert_uint_eq(len, 131128);
	ck_assert_int_eq(kernel_write(w, rec, 131120, CAP, 9, replies), 131120);
	ck_assert_int_eq(replies[1], 48);
	ck_assert(record_applied(&f, 0, 8194));
	ck_assert(htab_holds(f.vm, 8194, EX_V + (8194ULL << 7), 0));
	/* a first chunk of at most cap - page bytes is the whole call */
	ck_assert_int_eq(htab_wr_chunk(w, rec, CAP - 4096, 0, 9), 0);
	ck_assert_int_eq(htab_wr_chunk(w, rec, CAP - 4095, 0, 9), CAP - 4095);
	ks_release(w);
	free(rec);
	htab_fix_fini(&f);
}
END_TEST

/* D8: an error in a later chunk becomes a short count. */
START_TEST(test_error_in_later_chunk)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t *rec;
	size_t len;

	htab_fix_init(&f, 20);
	rec = big_record(0, 10000, &len);
	htab_hpte(rec + 8 + 16 * 5000, EX_V & ~1ULL, EX_R);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(kernel_write(w, rec, len, CAP, 3, NULL), CAP);
	ck_assert(record_applied(&f, 0, 5000));
	ck_assert(htab_empty(f.vm, 5000));
	/* in a single chunk it is the errno */
	htab_hdr(rec, 0, 5001, 0);
	ck_assert_int_eq(kernel_write(w, rec, 8 + 16 * 5001, CAP, 3, NULL),
			 -EINVAL);
	ks_release(w);
	free(rec);
	htab_fix_fini(&f);
}
END_TEST

/* Chunks of calls by two threads interleave; offset 0 and release drop. */
START_TEST(test_threads_and_discard)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t *ra, *rb;
	size_t la, lb;
	uint64_t base;

	htab_fix_init(&f, 20);
	ra = big_record(0, 12499, &la);
	rb = big_record(20000, 12499, &lb);
	base = held_bytes(&f);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(htab_wr_chunk(w, ra, CAP, 0, 1), CAP);
	ck_assert_int_eq(htab_wr_chunk(w, rb, CAP, 0, 2), CAP);
	ck_assert_int_eq(htab_wr_chunk(w, ra + CAP, la - CAP, CAP, 1),
			 (ssize_t)(la - CAP));
	ck_assert_int_eq(htab_wr_chunk(w, rb + CAP, lb - CAP, CAP, 2),
			 (ssize_t)(lb - CAP));
	ck_assert(record_applied(&f, 0, 12499));
	ck_assert(record_applied(&f, 20000, 12499));
	ck_assert_uint_eq(held_bytes(&f), base);
	/* a new call from the same thread drops the unfinished one */
	ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
	ck_assert_int_eq(htab_wr_chunk(w, ra, CAP, 0, 1), CAP);
	ck_assert_uint_ge(held_bytes(&f), base + CAP);
	ck_assert_int_eq(htab_wr_chunk(w, w1, 24, 0, 1), 24);
	ck_assert_uint_eq(held_bytes(&f), base);
	ck_assert(htab_empty(f.vm, 0));
	/* so does release */
	ck_assert_int_eq(htab_wr_chunk(w, ra, CAP, 0, 1), CAP);
	ck_assert_int_eq(htab_wr_chunk(w, rb, CAP, 0, 2), CAP);
	ks_release(w);
	ck_assert_uint_eq(held_bytes(&f), base);
	free(ra);
	free(rb);
	htab_fix_fini(&f);
}
END_TEST

/* EBUSY is checked at the first chunk only; MMU ready between chunks. */
START_TEST(test_ebusy_first_chunk_only)
{
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t *rec;
	size_t len;

	htab_fix_init(&f, 20);
	rec = big_record(0, 12499, &len);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(htab_wr_chunk(w, rec, CAP, 0, 1), CAP);
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	htab_set_vcpus(f.vm, 1, 1);
	ck_assert_int_eq(htab_wr_chunk(w, rec + CAP, len - CAP, CAP, 1),
			 (ssize_t)(len - CAP));
	ck_assert(record_applied(&f, 0, 12499));
	ck_assert_uint_eq(htab_info(f.vm).mmu_ready, 1);
	ck_assert_int_eq(htab_wr_chunk(w, rec, CAP, 0, 1), -EBUSY);
	ks_release(w);
	free(rec);
	htab_fix_fini(&f);
}
END_TEST

/* Held bytes count against the memory budget. */
START_TEST(test_budget)
{
	struct ks_engine_config cfg;
	struct htab_fix f;
	struct ks_handle *w;
	uint8_t *rec;
	size_t len;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.memory_limit = 256 << 10;
	ck_assert_int_eq(ks_engine_new(&cfg, &f.eng), 0);
	f.vm = unit_open(f.eng, 1, UNIT_TGID);
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	rec = big_record(0, 30000, &len);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	ck_assert_int_eq(htab_wr_chunk(w, rec, CAP, 0, 1), CAP);
	ck_assert_int_eq(htab_wr_chunk(w, rec + CAP, CAP, CAP, 1), -ENOMEM);
	/* the failed call is gone; a small write works */
	ck_assert_int_eq(htab_wr(w, w1, 24), 24);
	ks_release(w);
	free(rec);
	htab_fix_fini(&f);
}
END_TEST

Suite *suite_htab_write(void);
Suite *suite_htab_write(void)
{
	Suite *s = suite_create("htab_write");
	TCase *tc = tcase_create("write");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_w1_w2, 0, 2);
	tcase_add_loop_test(tc, test_w3_w4, 0, 2);
	tcase_add_loop_test(tc, test_w5, 0, 2);
	tcase_add_loop_test(tc, test_w6_w7, 0, 2);
	tcase_add_loop_test(tc, test_ebusy, 0, 2);
	tcase_add_loop_test(tc, test_record_errors, 0, 2);
	tcase_add_loop_test(tc, test_partial_application, 0, 2);
	tcase_add_loop_test(tc, test_vrma, 0, 2);
	tcase_add_loop_test(tc, test_no_hpt, 0, 2);
	tcase_add_loop_test(tc, test_overhang_later_record, 0, 2);
	tcase_add_loop_test(tc, test_largest_record, 0, 3);
	tcase_add_loop_test(tc, test_chunks_match_direct, 0, 2);
	tcase_add_test(tc, test_truncated_record);
	tcase_add_test(tc, test_error_in_later_chunk);
	tcase_add_test(tc, test_threads_and_discard);
	tcase_add_test(tc, test_ebusy_first_chunk_only);
	tcase_add_test(tc, test_budget);
	suite_add_tcase(s, tc);
	return s;
}
