// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HTAB stream: KVM_PPC_GET_HTAB_FD and its private path, and the read
 * algorithm of htab-fd.md §4 byte for byte, against the spec's examples
 * and against a plain transcription of its pseudocode.
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "core/hpt.h"
#include "core/htab.h"
#include "core/internal.h"
#include "fakekernel.h"
#include "core/rma.h"
#include "core/status.h"
#include "core/token.h"

/* ---- fixture helpers (shared with check_htab_write.c) ---- */

struct ks_engine *htab_engine(unsigned int max_order)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	if (max_order)
		cfg.hpt_max_alloc_order = max_order;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	return eng;
}

void htab_fix_init(struct htab_fix *f, unsigned int order)
{
	memset(f, 0, sizeof(*f));
	f->eng = htab_engine(order > 34 ? order : 0);
	f->vm = unit_open(f->eng, 1, UNIT_TGID);
	if (order)
		ck_assert_int_eq(htab_alloc(f->vm, order), 0);
}

void htab_fix_fini(struct htab_fix *f)
{
	ks_release(f->vm);
	ck_assert_uint_eq(ks_mem_used(f->eng), 0);
	ks_engine_free(f->eng);
}

long htab_alloc(struct ks_handle *vm, uint32_t order)
{
	uint32_t o = order;

	return unit_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (uintptr_t)&o);
}

void htab_fd_request_init(struct kvmshim_fd_request *req, uint64_t flags,
			  uint64_t start)
{
	struct ks_get_htab_fd ghf = { flags, start, { 0, 0 } };

	memset(req, 0, sizeof(*req));
	req->cmd = KS_PPC_GET_HTAB_FD;
	memcpy(req->data, &ghf, sizeof(ghf));
}

uint64_t htab_fk_bind(struct fk *sys, uint64_t flags, uint64_t token,
		      int open_extra)
{
	int acc = flags & KS_GET_HTAB_WRITE ? O_WRONLY : O_RDONLY;
	pid_t me = fk_gettid();
	uint64_t fh;

	ck_assert_int_eq(fk_open(sys, me, acc | open_extra, &fh), 0);
	ck_assert_int_eq(fk_ioctl(sys, fh, me, KVMSHIM_BIND, (uintptr_t)&token),
			 0);
	return fh;
}

long htab_request(struct ks_handle *vm, uint64_t flags, uint64_t start,
		  uint64_t *token)
{
	struct kvmshim_fd_request req;
	long ret;

	htab_fd_request_init(&req, flags, start);
	ret = unit_ioctl(vm, KVMSHIM_FD_REQUEST, (uintptr_t)&req);
	*token = req.token;
	return ret;
}

struct ks_handle *htab_open(struct ks_handle *vm, uint64_t flags,
			    uint64_t start)
{
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_handle *h = NULL;
	uint64_t tok;

	ck_assert_int_eq(htab_request(vm, flags, start, &tok), 0);
	ck_assert_int_eq(ks_open(vm->eng, KS_NODE_SYSTEM,
				 (flags & KS_GET_HTAB_WRITE) ? O_WRONLY :
							       O_RDONLY,
				 &c, &h),
			 0);
	ck_assert_int_eq(unit_ioctl(h, KVMSHIM_BIND, (uintptr_t)&tok), 0);
	ck_assert_int_eq(ks_handle_kind(h), KS_HANDLE_HTAB);
	return h;
}

ssize_t htab_rd(struct ks_handle *h, void *buf, size_t n)
{
	struct ks_chunk ch = { .offset = 0, .cap = 131072, .page_size = 4096 };
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };

	return ks_read(h, buf, n, &ch, &c);
}

ssize_t htab_wr(struct ks_handle *h, const void *buf, size_t n)
{
	struct ks_chunk ch = { 0 };
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };

	return ks_write(h, buf, n, &ch, &c);
}

ssize_t htab_wr_chunk(struct ks_handle *h, const void *buf, size_t n,
		      uint64_t off, pid_t tid)
{
	struct ks_chunk ch = { .offset = off,
			       .cap = 131072,
			       .page_size = 4096 };
	struct ks_caller c = { .tid = tid, .tgid = UNIT_TGID };

	return ks_write(h, buf, n, &ch, &c);
}

long htab_insert(struct ks_handle *vm, uint64_t idx, uint64_t v, uint64_t r,
		 bool modified)
{
	struct kvmshim_ppc_entry e = {
		.index = idx,
		.flags = modified ? KVMSHIM_PPC_ENTRY_MODIFIED : 0,
		.v = v,
		.r = r,
	};

	return unit_ioctl(vm, KVMSHIM_PPC_INSERT_RAW, (uintptr_t)&e);
}

long htab_remove(struct ks_handle *vm, uint64_t idx)
{
	struct kvmshim_ppc_hpte h = { .index = idx };

	return unit_ioctl(vm, KVMSHIM_PPC_H_REMOVE, (uintptr_t)&h);
}

long htab_set_rc(struct ks_handle *vm, uint64_t idx, uint64_t bits)
{
	struct kvmshim_ppc_rc rc = { idx, bits };

	return unit_ioctl(vm, KVMSHIM_PPC_SET_RC, (uintptr_t)&rc);
}

struct kvmshim_ppc_entry htab_entry(struct ks_handle *vm, uint64_t idx)
{
	struct kvmshim_ppc_entry e = { .index = idx };

	ck_assert_int_eq(unit_ioctl(vm, KVMSHIM_PPC_READ_ENTRY, (uintptr_t)&e),
			 0);
	return e;
}

bool htab_holds(struct ks_handle *vm, uint64_t idx, uint64_t v, uint64_t r)
{
	struct kvmshim_ppc_entry e = htab_entry(vm, idx);

	return (e.flags & KVMSHIM_PPC_ENTRY_PRESENT) && e.v == v && e.r == r;
}

bool htab_empty(struct ks_handle *vm, uint64_t idx)
{
	return !(htab_entry(vm, idx).flags & KVMSHIM_PPC_ENTRY_PRESENT);
}

void htab_set_vcpus(struct ks_handle *vm, uint32_t created, uint32_t running)
{
	struct kvmshim_vcpus v = { created, running };

	ck_assert_int_eq(unit_ioctl(vm, KVMSHIM_SET_VCPUS, (uintptr_t)&v), 0);
}

void htab_set_ready(struct ks_handle *vm, uint32_t ready)
{
	ck_assert_int_eq(unit_ioctl(vm, KVMSHIM_PPC_SET_MMU_READY,
				    (uintptr_t)&ready),
			 0);
}

struct kvmshim_ppc_info htab_info(struct ks_handle *vm)
{
	struct kvmshim_ppc_info in;

	ck_assert_int_eq(unit_ioctl(vm, KVMSHIM_PPC_INFO, (uintptr_t)&in), 0);
	return in;
}

size_t htab_hdr(uint8_t *p, uint32_t index, uint16_t nv, uint16_t ni)
{
	struct ks_get_htab_header h = { index, nv, ni };

	memcpy(p, &h, sizeof(h));
	return sizeof(h);
}

size_t htab_hpte(uint8_t *p, uint64_t v, uint64_t r)
{
	uint64_t bv = htobe64(v), br = htobe64(r);

	memcpy(p, &bv, 8);
	memcpy(p + 8, &br, 8);
	return 16;
}

/* ---- the ioctl and the private path ---- */

START_TEST(test_ioctl_check_order)
{
	struct htab_fix f;
	struct ks_get_htab_fd ghf = { 0, 0, { 0, 0 } };
	uint64_t tok;

	htab_fix_init(&f, 18);
	/* the creator check comes first */
	ck_assert_errno(
		unit_ioctl_as(f.vm, UNIT_TGID + 1, KS_PPC_GET_HTAB_FD, 8), EIO);
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_GET_HTAB_FD, 8), EFAULT);
	ghf.flags = 4;
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_GET_HTAB_FD, (uintptr_t)&ghf),
			EINVAL);
	ghf.flags = 1ULL << 63;
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_GET_HTAB_FD, (uintptr_t)&ghf),
			EINVAL);
	/* Q5: start_index and reserved[] are not checked; then D6 */
	ghf.flags = 3;
	ghf.start_index = ~0ULL;
	ghf.reserved[0] = ghf.reserved[1] = 0xdeadbeef;
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_GET_HTAB_FD, (uintptr_t)&ghf),
			EOPNOTSUPP);
	ghf.flags = 0;
	ck_assert_errno(unit_ioctl(f.vm, KS_PPC_GET_HTAB_FD, (uintptr_t)&ghf),
			EOPNOTSUPP);
	/* the plain ioctl leaves nothing behind */
	ck_assert_uint_eq(htab_info(f.vm).readers, 0);
	/* the same checks on the private path */
	ck_assert_errno(htab_request(f.vm, 4, 0, &tok), EINVAL);
	ck_assert_errno(htab_request(f.vm, 8, 0, &tok), EINVAL);
	ck_assert_int_eq(ks_tokens_pending(f.eng), 0);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_request_and_bind)
{
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct htab_fix f;
	struct ks_handle *rw, *r1, *r2, *w;
	struct kvmshim_whoami who;
	struct ks_vm_status vs;
	uint8_t buf[64];
	uint64_t tok;

	htab_fix_init(&f, 0);
	/* no HPT needed; a read token counts as a reader at once */
	ck_assert_int_eq(htab_request(f.vm, 0, 0, &tok), 0);
	ck_assert_uint_eq(htab_info(f.vm).readers, 1);
	/* the access mode must match: a read stream wants O_RDONLY */
	ck_assert_int_eq(ks_open(f.eng, KS_NODE_SYSTEM, O_RDWR, &c, &rw), 0);
	ck_assert_errno(unit_ioctl(rw, KVMSHIM_BIND, (uintptr_t)&tok), EBADF);
	ck_assert_int_eq(ks_open(f.eng, KS_NODE_SYSTEM, O_RDONLY, &c, &r1), 0);
	ck_assert_int_eq(unit_ioctl(r1, KVMSHIM_BIND, (uintptr_t)&tok), 0);
	ck_assert_int_eq(ks_handle_kind(r1), KS_HANDLE_HTAB);
	ck_assert_int_eq(unit_ioctl(r1, KVMSHIM_WHOAMI, (uintptr_t)&who), 0);
	ck_assert_uint_eq(who.kind, KVMSHIM_KIND_HTAB);
	ck_assert_uint_eq(who.vm_id, f.vm->vm->id);
	ck_assert_uint_eq(ks_htab_flags(r1), 0);
	/* no limit on streams; BOLTED_ONLY with WRITE is accepted */
	r2 = htab_open(f.vm, KS_GET_HTAB_BOLTED_ONLY, 5);
	w = htab_open(f.vm, KS_GET_HTAB_WRITE | KS_GET_HTAB_BOLTED_ONLY, 0);
	ck_assert_uint_eq(ks_htab_flags(w), 3);
	ck_assert_uint_eq(htab_info(f.vm).readers, 2);
	memset(&vs, 0, sizeof(vs));
	ks_htab_status(f.vm->vm, &vs);
	ck_assert_uint_eq(vs.htab_readers, 2);
	ck_assert_uint_eq(vs.htab_writers, 1);
	/* ioctls on a stream are ENOTTY, KVM's and ours */
	ck_assert_errno(unit_ioctl(r1, KS_PPC_ALLOCATE_HTAB, (uintptr_t)buf),
			ENOTTY);
	ck_assert_errno(unit_ioctl(r1, KVMSHIM_FD_REQUEST, (uintptr_t)buf),
			ENOTTY);
	/* the wrong direction, as the VFS would say */
	ck_assert_errno(htab_wr(r1, buf, 24), EBADF);
	ck_assert_errno(htab_rd(w, buf, 64), EBADF);
	/* no HPT: npte = 0, reads return 0 and end the first pass */
	ck_assert_int_eq(htab_rd(r1, buf, 64), 0);
	/* the stream keeps the VM alive after its own handle closes */
	ks_release(f.vm);
	f.vm = NULL;
	ck_assert_int_eq(htab_rd(r2, buf, 64), 0);
	ks_release(r1);
	ks_release(r2);
	ks_release(w);
	ks_release(rw);
	ck_assert_uint_eq(ks_mem_used(f.eng), 0);
	ks_engine_free(f.eng);
}
END_TEST

START_TEST(test_unused_token_releases)
{
	struct htab_fix f;
	uint64_t tok;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(htab_request(f.vm, 0, 0, &tok), 0);
	ck_assert_int_eq(htab_request(f.vm, KS_GET_HTAB_WRITE, 0, &tok), 0);
	ck_assert_uint_eq(htab_info(f.vm).readers, 1);
	ck_assert_int_eq(ks_tokens_reap(ks_engine_tokens(f.eng), INT64_MAX),
			 -1);
	ck_assert_uint_eq(htab_info(f.vm).readers, 0);
	htab_fix_fini(&f);
}
END_TEST

/* ---- the read examples (htab-fd.md §5) ---- */

#define EX_V 0x0000000123456a91ULL
#define EX_R 0x0000000012345012ULL
#define EX2_V 0x0000000123456b11ULL
#define EX2_R 0x0000000012346012ULL
#define EX5_V 0x0000000123457a11ULL
#define EX5_R 0x0000000012347012ULL

static void example_table(struct htab_fix *f)
{
	htab_fix_init(f, 18);
	ck_assert_int_eq(htab_insert(f->vm, 1, EX_V, EX_R, false), 0);
	ck_assert_int_eq(htab_insert(f->vm, 2, EX2_V, EX2_R, false), 0);
}

START_TEST(test_r1)
{
	static const uint8_t want[48] = {
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x01, 0x00, /* {0, 0, 1} */
		0x01, 0x00, 0x00, 0x00,
		0x02, 0x00, 0xfd, 0x3f, /* {1, 2, 16381} */
		0x00, 0x00, 0x00, 0x01,
		0x23, 0x45, 0x6a, 0xd1, /* V of entry 1 */
		0x00, 0x00, 0x00, 0x00,
		0x12, 0x34, 0x50, 0x12, /* R */
		0x00, 0x00, 0x00, 0x01,
		0x23, 0x45, 0x6b, 0x51, /* entry 2 */
		0x00, 0x00, 0x00, 0x00,
		0x12, 0x34, 0x60, 0x12,
	};
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t buf[64];

	example_table(&f);
	h = htab_open(f.vm, 0, 0);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(htab_rd(h, buf, 64), 48);
	ck_assert_mem_eq(buf, want, 48);
	/* the rest of the buffer is untouched */
	ck_assert_uint_eq(buf[48], 0xee);
	/* a later pass with nothing dirty */
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_r2_r3)
{
	uint8_t want[24], want2[24], buf[64];
	struct htab_fix f;
	struct ks_handle *h;

	example_table(&f);
	h = htab_open(f.vm, 0, 1);
	/* R3 first: a read of 24 or less changes nothing */
	ck_assert_int_eq(htab_rd(h, buf, 24), 0);
	ck_assert_int_eq(htab_rd(h, buf, 0), 0);
	ck_assert_int_eq(htab_rd(h, buf, 1), 0);
	htab_hdr(want, 1, 1, 0);
	htab_hpte(want + 8, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(h, buf, 40), 24);
	ck_assert_mem_eq(buf, want, 24);
	htab_hdr(want2, 2, 1, 16381);
	htab_hpte(want2 + 8, EX2_V | 0x40, EX2_R);
	ck_assert_int_eq(htab_rd(h, buf, 40), 24);
	ck_assert_mem_eq(buf, want2, 24);
	/* the first pass is over: entry 0 below the start is not reported */
	ck_assert_int_eq(htab_rd(h, buf, 40), 0);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_r4)
{
	uint8_t want[32], buf[2048];
	struct htab_fix f;
	struct ks_handle *h;
	size_t n;

	example_table(&f);
	h = htab_open(f.vm, 0, 0);
	ck_assert_int_eq(htab_rd(h, buf, 64), 48);
	ck_assert_int_eq(htab_remove(f.vm, 2), 0);
	ck_assert_int_eq(htab_insert(f.vm, 5, EX5_V, EX5_R, false), 0);
	ck_assert(htab_entry(f.vm, 2).flags & KVMSHIM_PPC_ENTRY_MODIFIED);
	n = htab_hdr(want, 2, 0, 1);
	n += htab_hdr(want + n, 5, 1, 0);
	htab_hpte(want + n, EX5_V | 0x40, EX5_R);
	ck_assert_int_eq(htab_rd(h, buf, 2048), 32);
	ck_assert_mem_eq(buf, want, 32);
	ck_assert_uint_eq(htab_entry(f.vm, 2).flags, 0);
	ck_assert_uint_eq(htab_entry(f.vm, 5).flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ck_assert_int_eq(htab_rd(h, buf, 2048), 0);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* start_index at or past the end: the first read ends the first pass */
START_TEST(test_start_past_end)
{
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t buf[64];

	example_table(&f);
	h = htab_open(f.vm, 0, 16384);
	ck_assert_int_eq(htab_rd(h, buf, 24), 0);
	ck_assert_int_eq(htab_rd(h, buf, 25), 0);
	/* now in a later pass from 0: only what changes is reported */
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ck_assert_int_eq(htab_remove(f.vm, 1), 0);
	ck_assert_int_eq(htab_rd(h, buf, 64), 8);
	ks_release(h);
	h = htab_open(f.vm, 0, ~0ULL);
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* A shrink leaves a stream's index past the end: its next read wraps. */
START_TEST(test_shrink_wraps_stream)
{
	struct ks_ppc_resize_hpt rh = { 0, 18, 0 };
	struct htab_fix f;
	struct ks_handle *h, *g;
	uint8_t buf[256], want[64];
	size_t n;

	htab_fix_init(&f, 20);
	/* example A at its order-20 position, bolted */
	ck_assert_int_eq(htab_insert(f.vm, 64728, EX_V, EX_R, false), 0);
	h = htab_open(f.vm, 0, 40000);
	g = htab_open(f.vm, 0, 40000);
	/* h: one record {40000, 0, 24728}; its index is now 64728 */
	ck_assert_int_eq(htab_rd(h, buf, 32), 8);
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	/* g: first pass, index 40000 >= 16384: 0, and the pass is over */
	ck_assert_int_eq(htab_rd(g, buf, 256), 0);
	ck_assert_int_eq(htab_rd(g, buf, 256), 0);
	ck_assert_int_eq(htab_insert(f.vm, 15576, EX_V, EX_R, false), 0);
	/* later pass from 0: only the new entry */
	n = htab_hdr(want, 15576, 1, 0);
	n += htab_hpte(want + n, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(g, buf, 256), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	/* h: its index (64728) is past the end too; the mark is shared */
	ck_assert_int_eq(htab_rd(h, buf, 256), 0);
	ck_assert_int_eq(htab_rd(h, buf, 256), 0);
	/* and the same after a commit that shrinks 20 -> 18 */
	ks_release(g);
	ck_assert_int_eq(htab_alloc(f.vm, 20), 0);
	ck_assert_int_eq(htab_insert(f.vm, 64728, EX_V, EX_R, false), 0);
	g = htab_open(f.vm, 0, 60000);
	ck_assert_int_eq(htab_rd(g, buf, 32), 8);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE,
				    (uintptr_t)&rh),
			 100);
	while (unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE, (uintptr_t)&rh))
		;
	ck_assert_int_eq(
		unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_COMMIT, (uintptr_t)&rh), 0);
	ck_assert_uint_eq(htab_info(f.vm).npte, 16384);
	/* the first read only wraps; then the entry, marked when it was
	 * entered (h was open) and moved with its mark, at its new index */
	ck_assert_int_eq(htab_rd(g, buf, 256), 0);
	n = htab_hdr(want, 15576, 1, 0);
	n += htab_hpte(want + n, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(g, buf, 256), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	ck_assert_int_eq(htab_rd(g, buf, 256), 0);
	ck_assert(htab_holds(f.vm, 15576, EX_V, EX_R));
	ks_release(g);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* Q3: emitted V has VALID and HVLOCK; R never the modified bit. */
START_TEST(test_emitted_bits)
{
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t buf[64], want[24];

	htab_fix_init(&f, 18);
	/* ABSENT and HVLOCK given to INSERT_RAW are not stored */
	ck_assert_int_eq(htab_insert(f.vm, 0, EX_V | 0x60, EX_R | (1ULL << 62),
				     true),
			 0);
	h = htab_open(f.vm, 0, 0);
	htab_hdr(want, 0, 1, 16383);
	htab_hpte(want + 8, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(h, buf, 64), 24);
	ck_assert_mem_eq(buf, want, 24);
	/* reporting cleared the mark */
	ck_assert_uint_eq(htab_entry(f.vm, 0).flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* Hardware R/C bits are harvested into R when the entry is reported. */
START_TEST(test_harvest_rc)
{
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t buf[64], want[40];
	struct kvmshim_ppc_entry e;

	htab_fix_init(&f, 18);
	ck_assert_int_eq(htab_insert(f.vm, 3, EX_V, EX_R, false), 0);
	ck_assert_int_eq(htab_set_rc(f.vm, 3, 0x100), 0);
	h = htab_open(f.vm, 0, 3);
	htab_hdr(want, 3, 1, 16380);
	htab_hpte(want + 8, EX_V | 0x40, EX_R | 0x100);
	ck_assert_int_eq(htab_rd(h, buf, 64), 24);
	ck_assert_mem_eq(buf, want, 24);
	e = htab_entry(f.vm, 3);
	ck_assert_uint_eq(e.r, EX_R | 0x100);
	ck_assert_uint_eq(e.rc, 0);
	ck_assert_uint_eq(e.flags, KVMSHIM_PPC_ENTRY_PRESENT);
	/* a later pass: only new bits make it dirty */
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ck_assert_int_eq(htab_set_rc(f.vm, 3, 0x100), 0);
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ck_assert_int_eq(htab_set_rc(f.vm, 3, 0x180), 0);
	htab_hdr(want, 3, 1, 0);
	htab_hpte(want + 8, EX_V | 0x40, EX_R | 0x180);
	ck_assert_int_eq(htab_rd(h, buf, 64), 24);
	ck_assert_mem_eq(buf, want, 24);
	ck_assert_int_eq(htab_rd(h, buf, 64), 0);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

START_TEST(test_bolted_only)
{
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t buf[256], want[256];
	size_t n;

	htab_fix_init(&f, 18);
	/* 0 bolted, 1 not bolted, 2 bolted */
	htab_insert(f.vm, 0, EX_V, EX_R, false);
	htab_insert(f.vm, 1, EX_V & ~0x10ULL, EX_R, false);
	htab_insert(f.vm, 2, EX2_V | 0x10, EX2_R, false);
	h = htab_open(f.vm, KS_GET_HTAB_BOLTED_ONLY, 0);
	n = htab_hdr(want, 0, 1, 1);
	n += htab_hpte(want + n, EX_V | 0x40, EX_R);
	n += htab_hdr(want + n, 2, 1, 16381);
	n += htab_hpte(want + n, EX2_V | 0x50, EX2_R);
	ck_assert_int_eq(htab_rd(h, buf, sizeof(buf)), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	/* later: a change to a non-bolted entry reads as an invalidation */
	htab_set_rc(f.vm, 1, 0x80);
	ck_assert_int_eq(htab_rd(h, buf, sizeof(buf)), 8);
	htab_hdr(want, 1, 0, 1);
	ck_assert_mem_eq(buf, want, 8);
	/* and the harvest happened all the same */
	ck_assert_uint_eq(htab_entry(f.vm, 1).r, EX_R | 0x80);
	ck_assert_uint_eq(htab_entry(f.vm, 1).flags, KVMSHIM_PPC_ENTRY_PRESENT);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* Q4: readers share the marks; no reader, no marks. */
START_TEST(test_shared_marks)
{
	struct htab_fix f;
	struct ks_handle *a, *b;
	uint8_t buf[256], want[24];

	example_table(&f);
	/* no reader: a change leaves no mark */
	htab_remove(f.vm, 2);
	ck_assert_uint_eq(htab_entry(f.vm, 2).flags, 0);
	a = htab_open(f.vm, 0, 16384);
	b = htab_open(f.vm, 0, 16384);
	ck_assert_int_eq(htab_rd(a, buf, 64), 0);
	ck_assert_int_eq(htab_rd(b, buf, 64), 0);
	htab_remove(f.vm, 1);
	/* a takes the mark; b never sees the change */
	htab_hdr(want, 1, 0, 1);
	ck_assert_int_eq(htab_rd(a, buf, 64), 8);
	ck_assert_mem_eq(buf, want, 8);
	ck_assert_int_eq(htab_rd(b, buf, 64), 0);
	/* closing a reader neither clears marks nor stops marking */
	htab_insert(f.vm, 7, EX_V, EX_R, false);
	ks_release(a);
	ck_assert(htab_entry(f.vm, 7).flags & KVMSHIM_PPC_ENTRY_MODIFIED);
	htab_hdr(want, 7, 1, 0);
	htab_hpte(want + 8, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(b, buf, 64), 24);
	ck_assert_mem_eq(buf, want, 24);
	ks_release(b);
	/* the last reader gone: no marks */
	htab_remove(f.vm, 7);
	ck_assert_uint_eq(htab_entry(f.vm, 7).flags, 0);
	htab_fix_fini(&f);
}
END_TEST

/* Runs of 65535 and the 32-bit header index of tables above order 36. */
START_TEST(test_run_caps)
{
	struct htab_fix f;
	struct ks_handle *h;
	uint8_t *buf = malloc(2u << 20);
	struct ks_get_htab_header hd;
	uint64_t i;
	size_t n;

	htab_fix_init(&f, 22); /* 262144 entries */
	for (i = 0; i < 70000; i++)
		htab_insert(f.vm, 100 + i, EX_V + (i << 7), EX_R, false);
	h = htab_open(f.vm, 0, 0);
	n = (size_t)htab_rd(h, buf, 2u << 20);
	/* {0,0,100} {100,65535,0} {65635,4465,65535} {135635,0,65535} and
	 * {201170,0,60974} to the end */
	memcpy(&hd, buf, 8);
	ck_assert(hd.index == 0 && hd.n_valid == 0 && hd.n_invalid == 100);
	memcpy(&hd, buf + 8, 8);
	ck_assert(hd.index == 100 && hd.n_valid == 65535 && hd.n_invalid == 0);
	memcpy(&hd, buf + 16 + 16 * 65535, 8);
	ck_assert(hd.index == 65635 && hd.n_valid == 4465 &&
		  hd.n_invalid == 65535);
	memcpy(&hd, buf + 24 + 16 * 70000, 8);
	ck_assert(hd.index == 135635 && hd.n_valid == 0 &&
		  hd.n_invalid == 65535);
	memcpy(&hd, buf + 32 + 16 * 70000, 8);
	ck_assert(hd.index == 201170 && hd.n_valid == 0 &&
		  hd.n_invalid == 60974);
	ck_assert_uint_eq(n, 40 + 16 * 70000);
	ks_release(h);
	htab_fix_fini(&f);
	free(buf);
}
END_TEST

START_TEST(test_index_truncation)
{
	struct htab_fix f;
	struct ks_handle *h, *w;
	uint8_t buf[256], want[64];
	const uint64_t base = 1ULL << 32;
	size_t n;

	htab_fix_init(&f, 37); /* 2^33 entries */
	ck_assert_int_eq(htab_insert(f.vm, base + 5, EX_V, EX_R, false), 0);
	h = htab_open(f.vm, 0, base);
	n = htab_hdr(want, 0, 0, 5);
	n += htab_hdr(want + n, 5, 1, 65535);
	n += htab_hpte(want + n, EX_V | 0x40, EX_R);
	/* 40 + 24 < 64 fails: three records */
	n += htab_hdr(want + n, 65541, 0, 65535);
	ck_assert_int_eq(htab_rd(h, buf, 64), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	/* a write of index 5 reaches entry 5, not base + 5 */
	w = htab_open(f.vm, KS_GET_HTAB_WRITE, 0);
	n = htab_hdr(want, 5, 1, 0);
	n += htab_hpte(want + n, EX2_V, EX2_R);
	ck_assert_int_eq(htab_wr(w, want, n), 24);
	ck_assert(htab_holds(f.vm, 5, EX2_V, EX2_R));
	ck_assert(htab_holds(f.vm, base + 5, EX_V, EX_R));
	ks_release(w);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* Reads keep working on the new table after ALLOCATE_HTAB and COMMIT. */
START_TEST(test_table_replaced)
{
	struct htab_fix f;
	struct ks_handle *h;
	struct ks_ppc_resize_hpt rh = { 0, 19, 0 };
	uint8_t buf[256], want[64];
	size_t n;

	example_table(&f);
	h = htab_open(f.vm, 0, 10000);
	ck_assert_int_eq(htab_alloc(f.vm, 18), 0);
	/* the first pass goes on in the cleared table */
	n = htab_hdr(want, 10000, 0, 6384);
	ck_assert_int_eq(htab_rd(h, buf, 256), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	/* the clear marked nothing: 1 and 2 went unreported (hpt.md §7) */
	ck_assert_int_eq(htab_rd(h, buf, 256), 0);
	/* a resize to 19: the bolted entry moves, the stream reads on */
	htab_insert(f.vm, 15576, EX_V, EX_R, false);
	ck_assert_int_eq(htab_rd(h, buf, 256), 24);
	htab_set_ready(f.vm, 1);
	ck_assert_int_eq(unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE,
				    (uintptr_t)&rh),
			 100);
	while (unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_PREPARE, (uintptr_t)&rh))
		;
	ck_assert_int_eq(
		unit_ioctl(f.vm, KS_PPC_RESIZE_HPT_COMMIT, (uintptr_t)&rh), 0);
	ck_assert_uint_eq(htab_info(f.vm).npte, 32768);
	/* the moved entry kept its clean state: a new reader sees it */
	ks_release(h);
	h = htab_open(f.vm, 0, 0);
	/* order 19: PTEG 0x129F9B & 0xFFF = 0xF9B, index 31960 */
	n = htab_hdr(want, 0, 0, 31960);
	n += htab_hdr(want + n, 31960, 1, 807);
	n += htab_hpte(want + n, EX_V | 0x40, EX_R);
	ck_assert_int_eq(htab_rd(h, buf, 256), (ssize_t)n);
	ck_assert_mem_eq(buf, want, n);
	ks_release(h);
	htab_fix_fini(&f);
}
END_TEST

/* ---- every read size against the pseudocode ---- */

struct ment {
	bool present;
	bool mod;
	uint64_t v, r, pend;
};

struct model {
	struct ment *e;
	uint64_t npte;
	uint64_t index;
	bool first;
	bool bo;
};

static bool m_dirty(const struct ment *e)
{
	return e->mod || (e->present && e->pend);
}

/* TAKE(e, want) of htab-fd.md §4, transcribed. */
static bool m_take(struct model *m, uint64_t i, bool want, uint64_t *v,
		   uint64_t *r)
{
	struct ment *e = &m->e[i];
	bool dirty = m_dirty(e), p;

	if (!m->first && !dirty)
		return false;
	p = e->present && (!m->bo || (e->v & 0x10));
	if (p != want)
		return false;
	if (p || dirty) {
		if (e->present && e->pend) {
			e->r |= e->pend;
			e->pend = 0;
			dirty = true;
		}
		if (dirty)
			e->mod = false;
		*v = e->v | 0x41;
		*r = e->r;
	}
	return m->first || dirty;
}

/* The read of htab-fd.md §4, transcribed. */
static size_t m_read(struct model *m, uint8_t *buf, size_t count)
{
	size_t nb = 0;
	uint64_t i = m->index, v, r;

	while (nb + 24 < count) {
		size_t hdr_pos = nb;
		uint64_t first;
		uint32_t nv = 0, ni = 0;

		nb += 8;
		if (!m->first)
			while (i < m->npte && !m_dirty(&m->e[i]))
				i++;
		first = i;
		while (i < m->npte && nv < 65535 && nb + 16 < count &&
		       m_take(m, i, true, &v, &r)) {
			htab_hpte(buf + nb, v, r);
			nb += 16;
			nv++;
			i++;
		}
		while (i < m->npte && ni < 65535 &&
		       m_take(m, i, false, &v, &r)) {
			ni++;
			i++;
		}
		if (nv + ni > 0)
			htab_hdr(buf + hdr_pos, (uint32_t)first, (uint16_t)nv,
				 (uint16_t)ni);
		else
			nb = hdr_pos;
		if (i >= m->npte) {
			i = 0;
			m->first = false;
			break;
		}
	}
	m->index = i;
	return nb;
}

static uint64_t prng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void m_insert(struct htab_fix *f, struct model *m, uint64_t i,
		     uint64_t v, uint64_t r, bool mod, bool readers)
{
	if (htab_insert(f->vm, i, v, r, mod))
		ck_abort_msg("INSERT_RAW %llu failed", (unsigned long long)i);
	m->e[i].present = true;
	m->e[i].v = (v & ~0x60ULL) | 1;
	m->e[i].r = r & ~(1ULL << 62);
	m->e[i].mod = mod || readers;
	m->e[i].pend = 0;
}

static void m_remove(struct htab_fix *f, struct model *m, uint64_t i,
		     bool readers)
{
	if (htab_remove(f->vm, i) == 0) {
		m->e[i].present = false;
		if (readers)
			m->e[i].mod = true;
	}
}

static void m_set_rc(struct htab_fix *f, struct model *m, uint64_t i,
		     uint64_t bits)
{
	if (htab_set_rc(f->vm, i, bits) == 0)
		m->e[i].pend |= bits & ~m->e[i].r;
}

/* The engine's entries equal the model's (one assertion: Check logs each). */
static void m_compare(struct htab_fix *f, const struct model *m)
{
	struct ks_vm *vm = f->vm->vm;
	uint64_t i, bad = UINT64_MAX;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < m->npte && bad == UINT64_MAX; i++) {
		const struct ment *me = &m->e[i];
		struct ks_hpte e;

		ks_hpt_get(vm, i, &e);
		if (ks_hpte_present(&e) != me->present ||
		    ks_hpte_modified(&e) != me->mod)
			bad = i;
		else if (me->present && (ks_hpte_guest_v(&e) != me->v ||
					 ks_hpte_guest_r(&e) != me->r ||
					 ks_hpte_pending_rc(&e) != me->pend))
			bad = i;
	}
	pthread_mutex_unlock(&vm->lock);
	ck_assert_msg(bad == UINT64_MAX, "entry %llu differs from the model",
		      (unsigned long long)bad);
}

/* A table with runs, holes, bolted entries, marks and pending R/C. */
static void m_fill(struct htab_fix *f, struct model *m, uint64_t seed)
{
	uint64_t s = seed, i = prng(&s) % 40;

	while (i < m->npte) {
		uint64_t run = 1 + prng(&s) % 12, k;

		for (k = 0; k < run && i < m->npte; k++, i++) {
			uint64_t x = prng(&s);
			uint64_t v = 0x123400001ULL | ((x & 0xfff) << 7) |
				     (x & 0x10);

			m_insert(f, m, i, v, 0x12345002ULL | (x & 0xe00),
				 !(x & 0x700), false);
			if (!(x & 0x3000))
				m_set_rc(f, m, i, 0x100);
			if (!(x & 0x1c000))
				m_remove(f, m, i, false);
		}
		i += prng(&s) % (i < 600 ? 30 : 3000);
		/* a few marked empty entries */
		if (i < m->npte && !(prng(&s) & 3)) {
			m_insert(f, m, i, 0x123400001ULL, 0, true, false);
			htab_remove(f->vm, i);
			m->e[i].present = false;
			i += 2;
		}
	}
}

/* Guest activity during a later pass. */
static void m_churn(struct htab_fix *f, struct model *m, uint64_t *s)
{
	int k;

	for (k = 0; k < 12; k++) {
		uint64_t i = prng(s) % m->npte, x = prng(s);

		if (x & 1)
			m_insert(f, m, i, 0x5600001ULL | (x & 0x1ff0), 0x2000,
				 false, true);
		else if (x & 2)
			m_remove(f, m, i, true);
		else if (m->e[i].present)
			m_set_rc(f, m, i, 0x80);
	}
}

START_TEST(test_every_read_size)
{
	const size_t size = (size_t)_i;
	const bool bo = size % 3 == 1;
	uint8_t got[320], want[320];
	struct htab_fix f;
	struct model m;
	struct ks_handle *h;
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ size;
	int reads, zeros = 0, churns = 0;

	htab_fix_init(&f, 18);
	m.npte = 16384;
	m.e = calloc(m.npte, sizeof(*m.e));
	m_fill(&f, &m, 77 + size % 5);
	m.index = size * 53 % 700;
	m.first = true;
	m.bo = bo;
	h = htab_open(f.vm, bo ? KS_GET_HTAB_BOLTED_ONLY : 0, m.index);
	m_compare(&f, &m);
	for (reads = 0; reads < 20000 && churns < 3; reads++) {
		size_t wn;
		ssize_t gn;

		memset(got, 0xa5, sizeof(got));
		memset(want, 0xa5, sizeof(want));
		wn = m_read(&m, want, size);
		gn = htab_rd(h, got, size);
		if (gn != (ssize_t)wn || memcmp(got, want, size))
			ck_abort_msg(
				"size %zu read %d: got %zd bytes, want %zu",
				size, reads, gn, wn);
		if (size <= 24) {
			if (reads == 3)
				break;
			continue;
		}
		if (!m.first && wn == 0 && ++zeros >= 2) {
			m_compare(&f, &m);
			m_churn(&f, &m, &s);
			churns++;
			zeros = 0;
		} else if (wn) {
			zeros = 0;
		}
	}
	ck_assert(size <= 24 || churns == 3);
	m_compare(&f, &m);
	ks_release(h);
	free(m.e);
	htab_fix_fini(&f);
}
END_TEST

/*
 * Long runs over whole storage chunks (4096 entries), as a booted guest's
 * linear map makes them: fully present clean chunks, present chunks with
 * a few marks, unbolted runs for BOLTED_ONLY, and empty stretches; read
 * with QEMU's sizes and the largest transport chunk.
 */
static void m_fill_dense(struct htab_fix *f, struct model *m, uint64_t seed)
{
	uint64_t s = seed, i = 0;

	while (i < m->npte) {
		uint64_t x = prng(&s), run = 1 + prng(&s) % 9000, k;

		for (k = 0; k < run && i < m->npte; k++, i++) {
			uint64_t y = prng(&s);

			if (x & 1)
				continue;
			m_insert(f, m, i,
				 0x123400001ULL | ((y & 0xfff) << 7) |
					 ((x & 2) ? 0x10 : (y & 0x10)),
				 0x12345002ULL, !(y & 0x3ff0), false);
			if (!(y & 0xfc000))
				m_set_rc(f, m, i, 0x180);
		}
	}
}

START_TEST(test_dense_reads)
{
	static const size_t sizes[] = { 40, 136, 2048, 65536, 131072 };
	const size_t size = sizes[_i % 5];
	const bool bo = _i >= 5;
	uint8_t *got = malloc(size), *want = malloc(size);
	struct htab_fix f;
	struct model m;
	struct ks_handle *h;
	uint64_t s = 0x2545f4914f6cdd1dULL + (uint64_t)_i;
	int reads, zeros = 0, churns = 0;

	htab_fix_init(&f, 20);
	m.npte = 65536;
	m.e = calloc(m.npte, sizeof(*m.e));
	m_fill_dense(&f, &m, 5 + (uint64_t)_i);
	m.index = (uint64_t)_i * 1000;
	m.first = true;
	m.bo = bo;
	h = htab_open(f.vm, bo ? KS_GET_HTAB_BOLTED_ONLY : 0, m.index);
	for (reads = 0; reads < 200000 && churns < 4; reads++) {
		size_t wn;
		ssize_t gn;

		memset(got, 0xa5, size);
		memset(want, 0xa5, size);
		wn = m_read(&m, want, size);
		gn = htab_rd(h, got, size);
		if (gn != (ssize_t)wn || memcmp(got, want, size))
			ck_abort_msg(
				"size %zu read %d: got %zd bytes, want %zu",
				size, reads, gn, wn);
		if (!m.first && wn == 0 && ++zeros >= 2) {
			m_compare(&f, &m);
			m_churn(&f, &m, &s);
			churns++;
			zeros = 0;
		} else if (wn) {
			zeros = 0;
		}
	}
	ck_assert_int_eq(churns, 4);
	m_compare(&f, &m);
	ks_release(h);
	free(m.e);
	free(got);
	free(want);
	htab_fix_fini(&f);
}
END_TEST

/* ---- concurrency: reads of one stream and guest changes race ---- */

struct race {
	struct htab_fix *f;
	struct ks_handle *h;
	_Atomic int stop;
	_Atomic int bad;
	_Atomic long records;
	_Atomic long reads;
};

/* Whole, non-empty records inside the table; returns how many. */
static long parse_records(const uint8_t *b, size_t n, uint64_t npte)
{
	long k = 0;
	size_t p = 0;

	while (p < n) {
		struct ks_get_htab_header hd;

		if (n - p < 8)
			return -1;
		memcpy(&hd, b + p, 8);
		p += 8;
		if ((!hd.n_valid && !hd.n_invalid) ||
		    n - p < 16u * hd.n_valid ||
		    (uint64_t)hd.index + hd.n_valid + hd.n_invalid > npte)
			return -1;
		p += 16u * hd.n_valid;
		k++;
	}
	return k;
}

static void *race_reader(void *arg)
{
	struct race *x = arg;
	uint8_t buf[2048];

	while (!x->stop) {
		ssize_t n = htab_rd(x->h, buf, sizeof(buf));
		long k = n < 0 ? -1 : parse_records(buf, (size_t)n, 16384);

		if (k < 0)
			x->bad = 1;
		else
			x->records += k;
		x->reads++;
	}
	return NULL;
}

START_TEST(test_concurrent_reads)
{
	struct htab_fix f;
	struct race x = { .f = &f };
	pthread_t t[2];
	uint64_t s = 99;
	int k;

	htab_fix_init(&f, 18);
	x.h = htab_open(f.vm, 0, 0);
	for (k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, race_reader, &x),
				 0);
	/* on a loaded machine the readers may start late: go on until
	 * they have read a few times while the table changes */
	for (k = 0; k < 20000 || (x.reads < 16 && k < 20000000); k++) {
		uint64_t i = prng(&s) % 16384;

		if (k & 1)
			htab_insert(f.vm, i, EX_V + (i << 7), EX_R, false);
		else
			htab_remove(f.vm, prng(&s) % 16384);
		if (k >= 20000)
			sched_yield();
	}
	x.stop = 1;
	for (k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	ck_assert_int_eq(x.bad, 0);
	ck_assert_int_gt(x.records, 0);
	ks_release(x.h);
	htab_fix_fini(&f);
}
END_TEST

Suite *suite_htab(void);
Suite *suite_htab(void)
{
	Suite *s = suite_create("htab");
	TCase *tc = tcase_create("read");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ioctl_check_order);
	tcase_add_test(tc, test_request_and_bind);
	tcase_add_test(tc, test_unused_token_releases);
	tcase_add_test(tc, test_r1);
	tcase_add_test(tc, test_r2_r3);
	tcase_add_test(tc, test_r4);
	tcase_add_test(tc, test_start_past_end);
	tcase_add_test(tc, test_shrink_wraps_stream);
	tcase_add_test(tc, test_emitted_bits);
	tcase_add_test(tc, test_harvest_rc);
	tcase_add_test(tc, test_bolted_only);
	tcase_add_test(tc, test_shared_marks);
	tcase_add_test(tc, test_run_caps);
	tcase_add_test(tc, test_index_truncation);
	tcase_add_test(tc, test_table_replaced);
	tcase_add_loop_test(tc, test_every_read_size, 0, 301);
	tcase_add_loop_test(tc, test_dense_reads, 0, 10);
	tcase_add_test(tc, test_concurrent_reads);
	suite_add_tcase(s, tc);
	return s;
}
