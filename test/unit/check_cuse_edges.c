// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The transport at its edges (spec: cuse.md §4, §7.2, §7.4; D2, D3, D8):
 * HTAB reads and writes through the harness from buffers at every page
 * offset, write chunks compared with one whole write on random streams,
 * and a gathering SET_CMMA_BITS abandoned at each of its rounds.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/hpt.h"
#include "core/internal.h"
#include "cuse/xfer.h"
#include "fakekernel.h"

#define CAP 131072
#define PAGE 4096
#define EX_V 0x0000000123456a91ULL
#define EX_R 0x0000000012345012ULL

static unsigned int pending_xfers(struct fk *k)
{
	struct node_stats st;

	node_get_stats(fk_node(k), &st);
	return (unsigned int)st.pending_xfers;
}

/* An HTAB stream through the harness: FD_REQUEST on the VM, then BIND. */
static uint64_t stream_fh(struct fk *sys, struct fk *vmk, uint64_t vmfh,
			  uint64_t flags)
{
	struct kvmshim_fd_request req;

	htab_fd_request_init(&req, flags, 0);
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(), KVMSHIM_FD_REQUEST,
				  (uintptr_t)&req),
			 0);
	return htab_fk_bind(sys, flags, req.token, 0);
}

static struct kvmshim_ppc_info vm_info(struct fk *k, uint64_t fh)
{
	struct kvmshim_ppc_info i;

	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KVMSHIM_PPC_INFO,
				  (uintptr_t)&i),
			 0);
	return i;
}

/*
 * §7.2 step 5: QEMU's 1048568-byte record is applied and acknowledged in
 * full wherever the buffer starts, although an unaligned one shifts every
 * chunk boundary (a shorter first chunk, a ninth chunk).
 */
START_TEST(test_largest_record_any_alignment)
{
	static const size_t offs[] = { 0, 1, 8, 100, 4095 };
	struct ks_engine *eng = unit_engine("power8");
	struct fk *sys = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk *vmk = fk_new(eng, KS_NODE_VM, NULL);
	uint8_t *mem = aligned_alloc(PAGE, 2 << 20), *rec;
	struct ks_get_htab_header h = { 1000, 65535, 0 };
	uint64_t vmfh, wfh;
	uint32_t order = 24;
	size_t i, k;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(fk_open(vmk, fk_gettid(), O_RDWR, &vmfh), 0);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		/* a fresh table each time */
		ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(),
					  KS_PPC_ALLOCATE_HTAB,
					  (uintptr_t)&order),
				 0);
		ck_assert_uint_eq(vm_info(vmk, vmfh).valid, 0);
		wfh = stream_fh(sys, vmk, vmfh, KS_GET_HTAB_WRITE);
		rec = mem + offs[i];
		memcpy(rec, &h, sizeof(h));
		for (k = 0; k < 65535; k++)
			htab_hpte(rec + 8 + 16 * k, EX_V + (k << 7), EX_R);
		ck_assert_int_eq(fk_write(sys, wfh, fk_gettid(), rec, 1048568),
				 1048568);
		ck_assert_uint_eq(vm_info(vmk, vmfh).valid, 65535);
		ck_assert_int_eq(fk_release(sys, wfh), 0);
	}
	ck_assert_uint_eq(fk_free(sys), 0);
	ck_assert_uint_eq(fk_free(vmk), 0);
	ks_engine_free(eng);
	free(mem);
}
END_TEST

/*
 * D2 and Q1 through the harness: a read of 1 MiB acts as a read of the
 * first chunk, which is 131072 less the buffer's page offset; with every
 * entry valid it holds one record of (size - 8) / 16 HPTEs, one fewer when
 * that would fill it exactly.  24 bytes or less read nothing.
 */
START_TEST(test_read_is_its_first_chunk)
{
	static const size_t offs[] = { 0, 1, 100, 4095 };
	struct ks_engine *eng = unit_engine("power8");
	struct fk *sys = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk *vmk = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_ppc_entry e = { .v = EX_V, .r = EX_R };
	uint8_t *mem = aligned_alloc(PAGE, 2 << 20);
	uint32_t order = 18;
	uint64_t vmfh, rfh;
	size_t i, first, n;

	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(fk_open(vmk, fk_gettid(), O_RDWR, &vmfh), 0);
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(), KS_PPC_ALLOCATE_HTAB,
				  (uintptr_t)&order),
			 0);
	for (e.index = 0; e.index < 16384; e.index++)
		ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(),
					  KVMSHIM_PPC_INSERT_RAW,
					  (uintptr_t)&e),
				 0);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		rfh = stream_fh(sys, vmk, vmfh, 0);
		ck_assert_int_eq(fk_read(sys, rfh, fk_gettid(), mem, 24), 0);
		first = CAP - offs[i];
		n = (first - 8) / 16 - ((first - 8) % 16 == 0);
		ck_assert_int_eq(fk_read(sys, rfh, fk_gettid(), mem + offs[i],
					 1 << 20),
				 (ssize_t)(8 + 16 * n));
		ck_assert_int_eq(fk_release(sys, rfh), 0);
	}
	ck_assert_uint_eq(fk_free(sys), 0);
	ck_assert_uint_eq(fk_free(vmk), 0);
	ks_engine_free(eng);
	free(mem);
}
END_TEST

static struct kvmshim_ppc_entry read_entry(struct fk *k, uint64_t fh,
					   uint64_t index)
{
	struct kvmshim_ppc_entry e = { .index = index };

	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KVMSHIM_PPC_READ_ENTRY,
				  (uintptr_t)&e),
			 0);
	return e;
}

/*
 * A buffer that faults part-way: the kernel sends the pages before the bad
 * one as a call of their own (fuse_direct_io() sends what it pinned), so
 * the daemon cannot tell it from a short write.  Linux would fail with
 * EFAULT at the record that reaches the bad page; through CUSE the call
 * returns the bytes before it, and a record overhanging the good pages by
 * 8 bytes or less is applied with the rest as zero (Q2).
 */
START_TEST(test_write_buffer_faulting_part_way)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *sys = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk *vmk = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_ppc_entry e = { .index = 2000, .v = EX_V, .r = EX_R };
	uint8_t *buf = aligned_alloc(PAGE, 3 * PAGE);
	uint32_t order = 18, k;
	uint64_t vmfh, wfh;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fk_open(vmk, fk_gettid(), O_RDWR, &vmfh), 0);
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(), KS_PPC_ALLOCATE_HTAB,
				  (uintptr_t)&order),
			 0);
	for (e.index = 1000; e.index < 1022; e.index++)
		ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(),
					  KVMSHIM_PPC_INSERT_RAW,
					  (uintptr_t)&e),
				 0);
	e.index = 2000;
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, fk_gettid(),
				  KVMSHIM_PPC_INSERT_RAW, (uintptr_t)&e),
			 0);
	wfh = stream_fh(sys, vmk, vmfh, KS_GET_HTAB_WRITE);
	/* 1022 records removing entries 0-1021, then one HPTE for 2000 */
	for (k = 0; k < 1022; k++)
		htab_hdr(buf + 8 * k, k, 0, 1);
	htab_hdr(buf + 2 * PAGE - 16, 2000, 1, 0);
	htab_hpte(buf + 2 * PAGE - 8, EX_V + 0x80, EX_R);
	fk_fault(sys, buf + 2 * PAGE, PAGE);
	/* the R word is on the bad page: Linux, EFAULT, 2000 unchanged */
	ck_assert_int_eq(fk_write(sys, wfh, fk_gettid(), buf, 2 * PAGE + 100),
			 2 * PAGE);
	ck_assert_uint_eq(read_entry(vmk, vmfh, 1021).flags, 0);
	e = read_entry(vmk, vmfh, 2000);
	ck_assert_uint_eq(e.v & ~KS_HPTE_V_HVLOCK, EX_V + 0x80);
	ck_assert_uint_eq(e.r, 0);
	/* nothing could be pinned: EFAULT, and nothing reaches the daemon */
	ck_assert_errno(fk_write(sys, wfh, fk_gettid(), buf + 2 * PAGE, 16),
			EFAULT);
	fk_unfault_all(sys);
	ck_assert_int_eq(fk_release(sys, wfh), 0);
	ck_assert_uint_eq(fk_free(sys), 0);
	ck_assert_uint_eq(fk_free(vmk), 0);
	ks_engine_free(eng);
	free(buf);
}
END_TEST

/* ---- chunked writes against one whole write ---- */

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rnd_state >> 33);
}

/*
 * Eight bytes that are a valid V word (4 KiB page, 256 MiB segment) and,
 * read as a record header, {idx, nv, ni} with ni 256 or 1: so the header
 * cursor of Q19 walks through HPTE data and finds records there.
 */
static void dual_word(uint8_t *p, uint32_t idx, uint16_t nv)
{
	struct ks_get_htab_header h = { idx, nv, 1 };

	if (BYTE_ORDER == LITTLE_ENDIAN) {
		/* V's top byte is idx's low byte: no 1 TiB segment bits */
		h.index &= ~0xc0U;
		h.n_invalid = 256;
	}
	memcpy(p, &h, sizeof(h));
}

/* Mostly dual words; with noise, R words, plain headers and VRMA Vs. */
static void gen_stream(uint8_t *b, size_t words, bool noise)
{
	size_t w;

	for (w = 0; w < words; w++) {
		uint8_t *p = b + 8 * w;
		uint32_t k = rnd() % 100, idx = rnd() % 15000;
		uint64_t word;

		if (!noise && k >= 93 && k < 99)
			k = 0;
		if (k < 93) {
			dual_word(p, idx, (uint16_t)(rnd() % 4));
		} else if (k < 96) {
			word = htobe64(EX_R + ((uint64_t)rnd() << 12));
			memcpy(p, &word, 8);
		} else if (k < 98) {
			htab_hdr(p, idx, (uint16_t)(rnd() % 3),
				 (uint16_t)(rnd() % 4));
		} else if (k < 99) {
			/* makes the MMU ready if it is ever an HPTE */
			word = htobe64(0x4001ffffff000015ULL);
			memcpy(p, &word, 8);
		} else {
			/* a long record: its data spans chunks */
			dual_word(p, rnd() % 4000,
				  (uint16_t)(8000 + rnd() % 9000));
		}
	}
}

/* The kernel's loop (cuse.md §4); the offset of each chunk in offs[]. */
static ssize_t chunked_write(struct ks_handle *h, const uint8_t *buf, size_t n,
			     size_t first, size_t *offs, unsigned int *n_offs)
{
	size_t done = 0, len = first < n ? first : n;
	ssize_t ret;

	*n_offs = 0;
	for (;;) {
		offs[(*n_offs)++] = done;
		ret = htab_wr_chunk(h, buf + done, len, done, 7);
		if (ret < 0)
			return done ? (ssize_t)done : ret;
		done += (size_t)ret;
		if ((size_t)ret < len || done == n)
			return (ssize_t)done;
		len = n - done < CAP ? n - done : CAP;
	}
}

static bool same_tables(struct htab_fix *a, struct htab_fix *b)
{
	uint64_t i, n = ks_hpt_npte(a->vm->vm);
	struct ks_hpte ea, eb;

	for (i = 0; i < n; i++) {
		ks_hpt_get(a->vm->vm, i, &ea);
		ks_hpt_get(b->vm->vm, i, &eb);
		if (ks_hpte_present(&ea) != ks_hpte_present(&eb) ||
		    (ks_hpte_present(&ea) &&
		     (ks_hpte_guest_v(&ea) != ks_hpte_guest_v(&eb) ||
		      ks_hpte_guest_r(&ea) != ks_hpte_guest_r(&eb))))
			return false;
	}
	return true;
}

/*
 * §7.2: a write() that reaches us in chunks ends with the table a single
 * Linux write() leaves, and returns what it returns, except as D3 and D8
 * allow: an error in a later chunk is the bytes before that chunk; a
 * truncated last record that began in an earlier chunk adds that chunk's
 * bytes; a last chunk that might have had a successor is acknowledged in
 * full.  First chunks are what the kernel can send: at least cap - page + 1
 * bytes unless they are the whole call.
 */
START_TEST(test_chunks_equal_whole_write)
{
	static const size_t firsts[] = { CAP,	  CAP - 1,   CAP - 7,
					 CAP - 8, CAP - 100, CAP - PAGE + 1 };
	uint8_t *buf = malloc(8 * 70000);
	struct htab_fix a, b;
	struct ks_handle *wa, *wb;
	size_t words, n, cut, first, offs[16], last, want;
	unsigned int it, n_offs, j;
	ssize_t ra, rb;
	bool certain, found;
	uint64_t i;

	ck_assert_ptr_nonnull(buf);
	rnd_state = 12345 + (uint64_t)_i;
	for (it = 0; it < 120; it++) {
		words = 1 + (rnd() % 3 ? rnd() % 70000 : rnd() % 17000);
		gen_stream(buf, words, it % 2);
		n = 8 * words;
		cut = rnd() % 16;
		if (cut < n)
			n -= cut;
		first = firsts[rnd() % 6];
		htab_fix_init(&a, 18);
		htab_fix_init(&b, 18);
		for (i = 0; i < 16384; i += 1 + rnd() % 7) {
			htab_insert(a.vm, i, EX_V + (i << 7), EX_R, false);
			htab_insert(b.vm, i, EX_V + (i << 7), EX_R, false);
		}
		if (it % 3 == 0) {
			htab_set_ready(a.vm, 1);
			htab_set_ready(b.vm, 1);
		}
		wa = htab_open(a.vm, KS_GET_HTAB_WRITE, 0);
		wb = htab_open(b.vm, KS_GET_HTAB_WRITE, 0);
		ra = htab_wr(wa, buf, n);
		rb = chunked_write(wb, buf, n, first, offs, &n_offs);
		last = offs[n_offs - 1];
		certain = last ? n - last < CAP : n - last <= CAP - PAGE;
		if (ra < 0) {
			found = rb == ra;
			for (j = 1; j < n_offs; j++)
				found |= rb == (ssize_t)offs[j];
			ck_assert_msg(found, "%u: whole %zd, chunks %zd", it,
				      ra, rb);
		} else if (certain) {
			/* Q2 may count past the end: capped (D3) */
			want = (size_t)ra < n ? (size_t)ra : n;
			if (want < last)
				want = last;
			ck_assert_msg(rb == (ssize_t)want,
				      "%u: n %zu, first %zu: whole %zd, chunks "
				      "%zd",
				      it, n, first, ra, rb);
		} else {
			ck_assert_int_eq(rb, (ssize_t)n);
		}
		/* unless a Q2 overhang was left waiting for more (D3) */
		if (certain || ra <= (ssize_t)n)
			ck_assert_msg(same_tables(&a, &b), "%u: tables differ",
				      it);
		ck_assert_uint_eq(htab_info(a.vm).mmu_ready,
				  htab_info(b.vm).mmu_ready);
		ks_release(wa);
		ks_release(wb);
		htab_fix_fini(&a);
		htab_fix_fini(&b);
	}
	free(buf);
}
END_TEST

/* ---- a gathering request abandoned ---- */

struct stop {
	unsigned int round;
};

static bool stop_before(void *opaque, unsigned int round)
{
	return round < ((struct stop *)opaque)->round;
}

static void cmma_vm(struct fk *k, uint64_t fh)
{
	struct ks_userspace_memory_region m = {
		.flags = KS_MEM_LOG_DIRTY_PAGES,
		.memory_size = 1ULL << 32,
		.userspace_addr = 1ULL << 40,
	};
	struct ks_device_attr a = { .group = KS_S390_VM_MEM_CTRL,
				    .attr = KS_S390_VM_MEM_ENABLE_CMMA };

	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KS_SET_USER_MEMORY_REGION,
				  (uintptr_t)&m),
			 0);
	ck_assert_int_eq(fk_ioctl(k, fh, fk_gettid(), KS_SET_DEVICE_ATTR,
				  (uintptr_t)&a),
			 0);
}

/*
 * §7.4: 524288 values take rounds 2-7.  Whichever round never comes (a
 * signal, or the kernel's copy of a slice faulting), nothing is applied,
 * the next syscall of the thread drops what was gathered, and so does the
 * release of the open.
 */
START_TEST(test_set_abandoned_at_each_round)
{
	static uint8_t vals[524288];
	struct ks_engine *eng = unit_engine("s390x");
	struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
	struct ks_s390_cmma_log log = { .count = 524288,
					.mask = ~0ULL,
					.values = (uintptr_t)vals };
	struct kvmshim_s390_cmma_info info;
	pid_t me = fk_gettid();
	struct xfer_stats xs;
	struct fk_ioctl io;
	struct stop st;
	uint64_t fh, fh2;

	memset(vals, 3, sizeof(vals));
	ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh), 0);
	cmma_vm(k, fh);
	for (st.round = 2; st.round <= 7; st.round++) {
		memset(&io, 0, sizeof(io));
		io.fh = fh;
		io.pid = me;
		io.cmd = KS_S390_SET_CMMA_BITS;
		io.arg = (uintptr_t)&log;
		io.before_round = stop_before;
		io.opaque = &st;
		ck_assert_errno(fk_ioctl_ex(k, &io), EINTR);
		ck_assert_uint_eq(io.rounds, st.round - 1);
		ck_assert_uint_eq(pending_xfers(k), 1);
		ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_S390_CMMA_INFO,
					  (uintptr_t)&info),
				 0);
		ck_assert_uint_eq(pending_xfers(k), 0);
		ck_assert_uint_eq(info.flags, KVMSHIM_CMMA_ENABLED);
		ck_assert_uint_eq(info.state_bytes, 0);

		ck_assert_int_eq(fk_open(k, me, O_RDWR, &fh2), 0);
		cmma_vm(k, fh2);
		io.fh = fh2;
		ck_assert_errno(fk_ioctl_ex(k, &io), EINTR);
		ck_assert_int_eq(fk_release(k, fh2), 0);

		if (st.round < 3)
			continue;
		/* the slice round st.round asks for cannot be read */
		fk_fault(k, vals + (st.round - 3) * 131040 + 5, 1);
		ck_assert_errno(fk_ioctl(k, fh, me, KS_S390_SET_CMMA_BITS,
					 (uintptr_t)&log),
				EFAULT);
		fk_unfault_all(k);
		ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_S390_CMMA_INFO,
					  (uintptr_t)&info),
				 0);
		ck_assert_uint_eq(info.flags, KVMSHIM_CMMA_ENABLED);
		ck_assert_uint_eq(info.state_bytes, 0);
	}
	/* and the whole of it still works */
	ck_assert_int_eq(
		fk_ioctl(k, fh, me, KS_S390_SET_CMMA_BITS, (uintptr_t)&log), 0);
	ck_assert_int_eq(fk_ioctl(k, fh, me, KVMSHIM_S390_CMMA_INFO,
				  (uintptr_t)&info),
			 0);
	ck_assert_uint_eq(info.flags, KVMSHIM_CMMA_ENABLED | KVMSHIM_CMMA_USED);
	ck_assert_int_eq(fk_release(k, fh), 0);
	xfer_get_stats(&xs);
	ck_assert_uint_eq(xs.pending, 0);
	ck_assert_uint_eq(xs.bytes, 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_cuse_edges(void);
Suite *suite_cuse_edges(void)
{
	Suite *s = suite_create("cuse_edges");
	TCase *tc = tcase_create("edges");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_largest_record_any_alignment);
	tcase_add_test(tc, test_read_is_its_first_chunk);
	tcase_add_test(tc, test_write_buffer_faulting_part_way);
	tcase_add_loop_test(tc, test_chunks_equal_whole_write, 0, 3);
	tcase_add_test(tc, test_set_abandoned_at_each_round);
	suite_add_tcase(s, tc);
	return s;
}
