// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HTAB stream through the real CUSE node: streams obtained with
 * KVMSHIM_FD_REQUEST + KVMSHIM_BIND, QEMU's three ways of using them (the
 * migration save loop, the 8-entries-at-a-time debug read, the load loop
 * with one record per write()), reads of every size from 1 to 300 bytes,
 * bad writes, writes split into transport chunks, and a stream reopened
 * after a resize.  Tables are filled through the guest simulation and
 * checked with KVMSHIM_PPC_READ_ENTRY.
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "lib/e2e.h"
#include "lib/kvmcalls.h"

#define EXACT KVMSHIM_PPC_H_EXACT
#define WRITE KS_GET_HTAB_WRITE
#define BOLTED_ONLY KS_GET_HTAB_BOLTED_ONLY
#define RECORD_MAX (8 + 16 * 65535)

static struct e2e_daemon d;

/* ---- helpers ---- */

static long alloc(int vm, uint32_t order)
{
	return e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&order);
}

static long fd_request(int vm, uint64_t flags, uint64_t start, uint64_t *tok)
{
	struct ks_get_htab_fd ghf = { flags, start, { 0, 0 } };
	struct kvmshim_fd_request req;
	long ret;

	memset(&req, 0, sizeof(req));
	req.cmd = KS_PPC_GET_HTAB_FD;
	memcpy(req.data, &ghf, sizeof(ghf));
	ret = e2e_ioctl(vm, KVMSHIM_FD_REQUEST, (unsigned long)&req);
	*tok = req.token;
	return ret;
}

/* A stream as a real descriptor: request, open the system node, bind. */
static int htab_fd(int vm, uint64_t flags, uint64_t start)
{
	uint64_t tok;
	int fd;

	if (fd_request(vm, flags, start, &tok))
		e2e_bail("FD_REQUEST for GET_HTAB_FD failed");
	fd = e2e_open(d.sys_path,
		      ((flags & WRITE) ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (e2e_ioctl(fd, KVMSHIM_BIND, (unsigned long)&tok))
		e2e_bail("BIND of an HTAB token failed");
	return fd;
}

static ssize_t rd(int fd, void *buf, size_t n)
{
	ssize_t ret = read(fd, buf, n);

	return ret < 0 ? -errno : ret;
}

static ssize_t wr(int fd, const void *buf, size_t n)
{
	ssize_t ret = write(fd, buf, n);

	return ret < 0 ? -errno : ret;
}

static long enter(int vm, uint64_t idx, uint64_t v, uint64_t r)
{
	struct kvmshim_ppc_hpte h = { EXACT, idx, v, r };

	return e2e_ioctl(vm, KVMSHIM_PPC_H_ENTER, (unsigned long)&h);
}

static long remove_entry(int vm, uint64_t idx)
{
	struct kvmshim_ppc_hpte h = { 0, idx, 0, 0 };

	return e2e_ioctl(vm, KVMSHIM_PPC_H_REMOVE, (unsigned long)&h);
}

static long set_rc(int vm, uint64_t idx, uint64_t bits)
{
	struct kvmshim_ppc_rc rc = { idx, bits };

	return e2e_ioctl(vm, KVMSHIM_PPC_SET_RC, (unsigned long)&rc);
}

static struct kvmshim_ppc_entry entry(int vm, uint64_t idx)
{
	struct kvmshim_ppc_entry e = { .index = idx };

	if (e2e_ioctl(vm, KVMSHIM_PPC_READ_ENTRY, (unsigned long)&e))
		memset(&e, 0xff, sizeof(e));
	return e;
}

static long set_vcpus(int vm, uint32_t created, uint32_t running)
{
	struct kvmshim_vcpus v = { created, running };

	return e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&v);
}

static size_t put_hdr(uint8_t *p, uint32_t index, uint16_t nv, uint16_t ni)
{
	struct ks_get_htab_header h = { index, nv, ni };

	memcpy(p, &h, sizeof(h));
	return sizeof(h);
}

static size_t put_hpte(uint8_t *p, uint64_t v, uint64_t r)
{
	uint64_t bv = htobe64(v), br = htobe64(r);

	memcpy(p, &bv, 8);
	memcpy(p + 8, &br, 8);
	return 16;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return be64toh(x);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* A valid 4 KiB HPTE, distinct per k. */
static uint64_t hv(uint64_t k, bool bolted)
{
	return 0x0000000100000001ULL | ((k & 0xffffff) << 7) |
	       (bolted ? 0x10 : 0);
}

static uint64_t hr(uint64_t k)
{
	return 0x0000000010000012ULL + ((k & 0xfffff) << 12);
}

/* ---- an image of a table, as a stream reader rebuilds it ---- */

struct image {
	uint64_t npte;
	uint8_t *valid;
	uint64_t *v, *r;
};

static void image_init(struct image *im, uint64_t npte)
{
	im->npte = npte;
	im->valid = calloc(npte, 1);
	im->v = calloc(npte, sizeof(*im->v));
	im->r = calloc(npte, sizeof(*im->r));
	if (!im->valid || !im->v || !im->r)
		e2e_bail("out of memory");
}

static void image_free(struct image *im)
{
	free(im->valid);
	free(im->v);
	free(im->r);
}

/*
 * Applies the records of one read's result; false if they are not whole
 * records within the table or a header is empty.
 */
static bool image_apply(struct image *im, const uint8_t *buf, size_t n)
{
	size_t p = 0;

	while (p < n) {
		struct ks_get_htab_header h;
		uint64_t i;
		uint32_t k;

		if (n - p < 8)
			return false;
		memcpy(&h, buf + p, 8);
		p += 8;
		if ((!h.n_valid && !h.n_invalid) || n - p < 16u * h.n_valid ||
		    (uint64_t)h.index + h.n_valid + h.n_invalid > im->npte)
			return false;
		i = h.index;
		for (k = 0; k < h.n_valid; k++, i++, p += 16) {
			im->valid[i] = 1;
			im->v[i] = get_be64(buf + p);
			im->r[i] = get_be64(buf + p + 8);
		}
		for (k = 0; k < h.n_invalid; k++, i++)
			im->valid[i] = 0;
	}
	return true;
}

/* The image is exactly the VM's table (V as streamed: with HVLOCK). */
static bool image_matches(const struct image *im, int vm)
{
	uint64_t i, n = 0;

	for (i = 0; i < im->npte; i++) {
		struct kvmshim_ppc_entry e;

		if (!im->valid[i])
			continue;
		n++;
		e = entry(vm, i);
		if (!(e.flags & KVMSHIM_PPC_ENTRY_PRESENT) ||
		    im->v[i] != (e.v | 0x40) || im->r[i] != e.r) {
			e2e_diag("entry %llu: stream %llx %llx, table %llx "
				 "%llx",
				 (unsigned long long)i,
				 (unsigned long long)im->v[i],
				 (unsigned long long)im->r[i],
				 (unsigned long long)e.v,
				 (unsigned long long)e.r);
			return false;
		}
	}
	/* and nothing else is present */
	return n == e2e_ppc_info(vm).valid;
}

/* ---- the ioctl and the descriptors ---- */

static void test_ioctl_and_fds(int vm)
{
	struct ks_get_htab_fd ghf = { 0, 0, { 7, 7 } };
	struct kvmshim_whoami who;
	struct pollfd pfd;
	uint8_t buf[64];
	uint64_t tok;
	int r, w;
	void *map;

	e2e_is(alloc(vm, 18), 0, "ALLOCATE_HTAB(18)");
	e2e_is(e2e_ioctl(vm, KS_PPC_GET_HTAB_FD, (unsigned long)&ghf),
	       -EOPNOTSUPP,
	       "plain GET_HTAB_FD passes its checks, then EOPNOTSUPP (D6)");
	ghf.flags = 4;
	e2e_is(e2e_ioctl(vm, KS_PPC_GET_HTAB_FD, (unsigned long)&ghf), -EINVAL,
	       "plain GET_HTAB_FD with unknown flags: EINVAL");
	e2e_is(e2e_ioctl(vm, KS_PPC_GET_HTAB_FD, 8), -EFAULT,
	       "plain GET_HTAB_FD with a bad pointer: EFAULT");
	e2e_is(fd_request(vm, 4, 0, &tok), -EINVAL,
	       "FD_REQUEST with unknown flags: EINVAL");
	e2e_is(e2e_ppc_info(vm).readers, 0, "no reader left behind");

	r = htab_fd(vm, 0, 0);
	w = htab_fd(vm, WRITE | BOLTED_ONLY, 0);
	e2e_is(e2e_ppc_info(vm).readers, 1,
	       "one read stream counts as a reader");
	e2e_is(fcntl(r, F_GETFL) & O_ACCMODE, O_RDONLY,
	       "the read stream is read-only");
	e2e_is(fcntl(w, F_GETFL) & O_ACCMODE, O_WRONLY,
	       "the write stream is write-only");
	e2e_is(wr(r, buf, 24), -EBADF, "write on a read stream: EBADF");
	e2e_is(rd(w, buf, 64), -EBADF, "read on a write stream: EBADF");
	e2e_is(e2e_ioctl(r, KS_PPC_ALLOCATE_HTAB, (unsigned long)buf), -ENOTTY,
	       "a KVM ioctl on a stream: ENOTTY");
	e2e_is(e2e_ioctl(w, KVMSHIM_BIND, (unsigned long)&tok), -ENOTTY,
	       "BIND on a stream: ENOTTY");
	memset(&who, 0, sizeof(who));
	e2e_is(e2e_ioctl(r, KVMSHIM_WHOAMI, (unsigned long)&who), 0,
	       "WHOAMI on a stream");
	e2e_is(who.kind, KVMSHIM_KIND_HTAB, "it is an HTAB stream");
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
	e2e_ok(map == MAP_FAILED && errno == ENODEV, "mmap: ENODEV");
	pfd.fd = r;
	pfd.events = POLLIN | POLLOUT;
	e2e_is(poll(&pfd, 1, 0), 1, "poll: always ready");
	e2e_is(lseek(r, 100, SEEK_SET), 0, "lseek returns 0 (D4)");
	/* BOLTED_ONLY with WRITE is accepted and changes nothing */
	put_hdr(buf, 100, 1, 0);
	put_hpte(buf + 8, hv(1, false), hr(1));
	e2e_is(wr(w, buf, 24), 24, "a write on a BOLTED_ONLY write stream");
	e2e_ok((entry(vm, 100).flags & KVMSHIM_PPC_ENTRY_PRESENT) != 0,
	       "entered an unbolted entry");
	close(r);
	close(w);
	/* CUSE sends the release after close() returns */
	usleep(300000);
	e2e_is(e2e_ppc_info(vm).readers, 0,
	       "closing the read stream drops the reader");
}

/* ---- reads of every size against the pseudocode ---- */

struct ref {
	uint64_t npte, index;
	bool first, bolted_only;
	const struct image *t; /* v, r: the table's words; valid: present */
};

/* The read of htab-fd.md §4 over a clean table (a first pass). */
static size_t ref_read(struct ref *f, uint8_t *buf, size_t count)
{
	size_t nb = 0;
	uint64_t i = f->index;

	while (nb + 24 < count) {
		size_t hp = nb;
		uint64_t first;
		uint32_t nv = 0, ni = 0;

		nb += 8;
		if (!f->first)
			i = f->npte; /* nothing is dirty */
		first = i;
#define P(i) (f->t->valid[i] && (!f->bolted_only || (f->t->v[i] & 0x10)))
		while (i < f->npte && nv < 65535 && nb + 16 < count && P(i)) {
			nb += put_hpte(buf + nb, f->t->v[i] | 0x40, f->t->r[i]);
			nv++;
			i++;
		}
		while (i < f->npte && ni < 65535 && !P(i)) {
			ni++;
			i++;
		}
#undef P
		if (nv + ni)
			put_hdr(buf + hp, (uint32_t)first, (uint16_t)nv,
				(uint16_t)ni);
		else
			nb = hp;
		if (i >= f->npte) {
			i = 0;
			f->first = false;
			break;
		}
	}
	f->index = i;
	return nb;
}

static void test_read_sizes(int vm)
{
	static const uint64_t at[] = { 0,   1,	 2,    5,     10,    11,
				       12,  13,	 14,   15,    16,    17,
				       18,  19,	 20,   21,    22,    23,
				       24,  25,	 40,   41,    100,   101,
				       102, 103, 1000, 16380, 16381, 16383 };
	struct image t;
	uint8_t got[320], want[320];
	size_t n, i, bad = 0;

	e2e_is(alloc(vm, 18), 0, "ALLOCATE_HTAB(18) for reads of every size");
	image_init(&t, 16384);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (enter(vm, at[i], hv(at[i], i % 3 != 1), hr(at[i])))
			e2e_bail("H_ENTER %llu failed",
				 (unsigned long long)at[i]);
		t.valid[at[i]] = 1;
		t.v[at[i]] = hv(at[i], i % 3 != 1);
		t.r[at[i]] = hr(at[i]);
	}
	for (n = 1; n <= 300; n++) {
		struct ref f = { .npte = 16384,
				 .index = n % 23,
				 .first = true,
				 .bolted_only = n % 4 == 0,
				 .t = &t };
		int fd = htab_fd(vm, f.bolted_only ? BOLTED_ONLY : 0, f.index);
		int k;

		for (k = 0; k < 3; k++) {
			ssize_t g;
			size_t wn;

			memset(got, 0xa5, sizeof(got));
			memset(want, 0xa5, sizeof(want));
			wn = ref_read(&f, want, n);
			g = rd(fd, got, n);
			if (g != (ssize_t)wn || memcmp(got, want, n)) {
				if (!bad)
					e2e_diag("size %zu read %d: got %zd, "
						 "want %zu",
						 n, k, g, wn);
				bad++;
			}
		}
		close(fd);
	}
	e2e_is(bad, 0, "3 reads of every size 1-300, as the pseudocode says");
	image_free(&t);
}

/* ---- QEMU's debug read (ppc_hash64_map_hptes) ---- */

/* n entries from ptex, as QEMU reads them: false if it would abort/spin */
static bool debug_read(int vm, uint64_t ptex, unsigned int n, uint64_t *v,
		       uint64_t *r)
{
	int fd = htab_fd(vm, 0, ptex);
	unsigned int i = 0, zeros = 0;
	uint8_t buf[8 + 16 * 8];

	while (i < n) {
		/* QEMU reads min(n, 8) HPTEs' worth every time */
		unsigned int m = n < 8 ? n : 8;
		ssize_t rc = rd(fd, buf, 8 + 16 * m);
		size_t p = 0;

		if (rc < 0 || (rc == 0 && ++zeros > 100)) {
			close(fd);
			return false;
		}
		while ((ssize_t)p < rc && i < n) {
			struct ks_get_htab_header h;
			unsigned int k;

			memcpy(&h, buf + p, 8);
			p += 8;
			if (h.index != ptex + i) {
				e2e_diag("unexpected HPTE index %u at %llu",
					 h.index,
					 (unsigned long long)(ptex + i));
				close(fd);
				return false;
			}
			for (k = 0; k < h.n_valid; k++, p += 16) {
				if (i < n) {
					v[i] = get_be64(buf + p);
					r[i] = get_be64(buf + p + 8);
					i++;
				}
			}
			for (k = 0; k < h.n_invalid && i < n; k++, i++)
				v[i] = r[i] = 0;
		}
	}
	close(fd);
	return true;
}

static void test_debug_read(int vm)
{
	static const struct {
		uint64_t ptex;
		unsigned int n;
	} cases[] = { { 8, 8 }, { 13, 8 }, { 16376, 8 }, { 96, 20 } };
	uint64_t v[32], r[32];
	size_t c;

	/* the table of test_read_sizes */
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		bool ok = debug_read(vm, cases[c].ptex, cases[c].n, v, r);
		unsigned int i;

		for (i = 0; ok && i < cases[c].n; i++) {
			struct kvmshim_ppc_entry e =
				entry(vm, cases[c].ptex + i);

			if (e.flags & KVMSHIM_PPC_ENTRY_PRESENT)
				ok = v[i] == (e.v | 0x40) && r[i] == e.r;
			else
				ok = !v[i] && !r[i];
		}
		e2e_ok(ok,
		       "debug read of %u HPTEs at %llu, 136 bytes at a time",
		       cases[c].n, (unsigned long long)cases[c].ptex);
	}
}

/* ---- QEMU's migration: save loop, then load loop ---- */

struct saved {
	uint8_t *buf;
	size_t len, cap;
};

static void saved_add(struct saved *s, const uint8_t *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			e2e_bail("out of memory");
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* One iteration: reads of 2048 until 0 or budget_ms; 1 if it hit 0. */
static int save_iteration(int fd, struct image *im, struct saved *s,
			  double budget_ms, bool *whole)
{
	double t0 = now_ms();
	uint8_t buf[2048];

	for (;;) {
		ssize_t rc = rd(fd, buf, sizeof(buf));

		if (rc < 0)
			e2e_bail("save read failed: %zd", rc);
		if (rc == 0)
			return 1;
		*whole &= image_apply(im, buf, (size_t)rc);
		saved_add(s, buf, (size_t)rc);
		if (budget_ms > 0 && now_ms() - t0 >= budget_ms)
			return 0;
	}
}

/* Guest activity between iterations; present[] tracks the table. */
static void guest_churn(int vm, uint8_t *present, uint64_t npte, uint64_t *s)
{
	int k;

	for (k = 0; k < 6; k++) {
		uint64_t i, x;

		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		x = *s >> 33;
		i = x % npte;
		if (!present[i]) {
			if (!enter(vm, i, hv(x, x & 1), hr(x)))
				present[i] = 1;
		} else if (x & 2) {
			if (!remove_entry(vm, i))
				present[i] = 0;
		} else {
			set_rc(vm, i, (x & 4) ? 0x100 : 0x180);
		}
	}
}

static void test_migration(void)
{
	int src = e2e_open(d.vm_path, O_RDWR),
	    dst = e2e_open(d.vm_path, O_RDWR);
	const uint64_t npte = 16384;
	uint8_t *present = calloc(npte, 1);
	struct saved s = { 0 };
	struct image im;
	uint64_t i, seed = 12345;
	int fd, iter, done, prev_done = 0, writes = 0, bad = 0;
	bool whole = true;
	size_t p;

	e2e_is(alloc(src, 18), 0, "source: ALLOCATE_HTAB(18)");
	for (i = 0; i < npte; i += 1 + (i * 7919) % 23) {
		if (!enter(src, i, hv(i, i % 5 != 0), hr(i)))
			present[i] = 1;
	}
	set_rc(src, 3 * 23, 0x100);
	image_init(&im, npte);
	fd = htab_fd(src, 0, 0);
	/* iterations with a 5 ms budget while the guest runs */
	for (iter = 0; iter < 400; iter++) {
		size_t before = s.len;

		done = save_iteration(fd, &im, &s, 5.0, &whole);
		if (iter < 20) {
			guest_churn(src, present, npte, &seed);
		} else if (prev_done && done && s.len == before) {
			/* a whole pass from index 0 found nothing dirty */
			break;
		}
		prev_done = done;
	}
	/* the completion pass: until a read returns 0 */
	save_iteration(fd, &im, &s, -1, &whole);
	close(fd);
	e2e_ok(whole, "every read returned whole, non-empty records");
	e2e_ok(iter < 400, "the save loop converged (%d iterations)", iter);
	e2e_ok(image_matches(&im, src),
	       "the streamed image is the source table");

	/* the destination: one write fd, one record per write() */
	e2e_is(alloc(dst, 18), 0, "destination: ALLOCATE_HTAB(18)");
	fd = htab_fd(dst, WRITE, 0);
	for (p = 0; p < s.len;) {
		struct ks_get_htab_header h;
		size_t n;

		memcpy(&h, s.buf + p, 8);
		n = 8 + 16 * (size_t)h.n_valid;
		if (wr(fd, s.buf + p, n) != (ssize_t)n)
			bad++;
		writes++;
		p += n;
	}
	close(fd);
	e2e_is(bad, 0, "%d records written back, each accepted whole", writes);
	e2e_ok(image_matches(&im, dst), "the destination equals the source");
	image_free(&im);
	free(s.buf);
	free(present);
	close(src);
	close(dst);
}

/* ---- QEMU's load loop with large records ---- */

static uint8_t *record(uint32_t index, uint32_t nv, uint64_t seed, size_t *len)
{
	/* page aligned: the transport's chunks depend on the alignment */
	uint8_t *b = aligned_alloc(4096, RECORD_MAX + 8);
	uint32_t k;

	if (!b)
		e2e_bail("out of memory");
	*len = put_hdr(b, index, (uint16_t)nv, 0);
	for (k = 0; k < nv; k++)
		*len += put_hpte(b + *len, hv(seed + k, k & 1), hr(seed + k));
	return b;
}

static void test_load_records(void)
{
	int vm = e2e_open(d.vm_path, O_RDWR), fd, rfd;
	static const struct {
		uint32_t index, nv;
		size_t misalign;
	} recs[] = { { 1, 65535, 8 },
		     { 20000, 8192, 0 },
		     { 5, 1, 0 },
		     { 40000, 8192, 100 } };
	struct image want, got;
	uint8_t *buf = malloc(131072);
	size_t c, len;
	bool whole = true;
	ssize_t rc;
	int reads = 0;

	e2e_is(alloc(vm, 20), 0, "ALLOCATE_HTAB(20) for the load loop");
	image_init(&want, 65536);
	image_init(&got, 65536);
	fd = htab_fd(vm, WRITE, 0);
	for (c = 0; c < sizeof(recs) / sizeof(recs[0]); c++) {
		uint8_t *b = record(recs[c].index, recs[c].nv, c << 20, &len);
		uint8_t *mis = malloc(len + 4096 + recs[c].misalign);
		uint8_t *at = (uint8_t *)(((uintptr_t)mis + 4095) &
					  ~(uintptr_t)4095) +
			      recs[c].misalign;
		uint32_t k;

		memcpy(at, b, len);
		e2e_is(wr(fd, at, len), (ssize_t)len,
		       "a record of %u HPTEs in one write() (%zu bytes, buffer "
		       "%zu bytes past a page)",
		       recs[c].nv, len, recs[c].misalign);
		for (k = 0; k < recs[c].nv; k++) {
			uint64_t i = recs[c].index + k;

			want.valid[i] = 1;
			want.v[i] = hv((c << 20) + k, k & 1) | 0x40;
			want.r[i] = hr((c << 20) + k);
		}
		free(mis);
		free(b);
	}
	close(fd);
	/* read it all back: a read of more than a chunk acts as one (D2) */
	rfd = htab_fd(vm, 0, 0);
	while ((rc = rd(rfd, buf, 131072)) > 0) {
		whole &= image_apply(&got, buf, (size_t)rc);
		reads++;
	}
	close(rfd);
	e2e_ok(whole && reads > 8, "read back in %d reads of whole records",
	       reads);
	e2e_ok(!memcmp(want.valid, got.valid, 65536) &&
		       !memcmp(want.v, got.v, 65536 * 8) &&
		       !memcmp(want.r, got.r, 65536 * 8),
	       "the table holds exactly what was written");
	rfd = htab_fd(vm, 0, 0);
	rc = rd(rfd, buf, 1 << 20);
	e2e_ok(rc > 0 && rc < 131072, "a 1 MiB read returns %zd bytes (D2)",
	       rc);
	close(rfd);
	image_free(&want);
	image_free(&got);
	free(buf);
	close(vm);
}

/* ---- bad writes ---- */

/*
 * The kernel passes on the pages before the first bad one as a write of
 * their own and then returns its count, where Linux fails with EFAULT at
 * the record that reaches the bad page (a deviation).
 */
static void test_write_faulting_part_way(int vm, int fd)
{
	uint8_t *pg = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t k;

	if (pg == MAP_FAILED)
		e2e_bail("mmap: %s", strerror(errno));
	munmap(pg + 2 * 4096, 4096);
	enter(vm, 200, hv(200, false), hr(200));
	enter(vm, 1221, hv(1221, false), hr(1221));
	enter(vm, 2000, hv(2000, false), hr(2000));
	/* 1022 records clearing 200-1221, then an HPTE whose R is unmapped */
	for (k = 0; k < 1022; k++)
		put_hdr(pg + 8 * k, 200 + k, 0, 1);
	put_hdr(pg + 2 * 4096 - 16, 2000, 1, 0);
	memcpy(pg + 2 * 4096 - 8, &(uint64_t){ htobe64(hv(2001, false)) }, 8);
	e2e_is(wr(fd, pg, 2 * 4096 + 100), 2 * 4096,
	       "a buffer faulting part-way: the bytes before the bad page");
	e2e_ok(!entry(vm, 200).flags && !entry(vm, 1221).flags,
	       "  with the records there applied");
	e2e_ok(entry(vm, 2000).v == hv(2001, false) && entry(vm, 2000).r == 0,
	       "  and the one reaching the bad page taken as 8 bytes short");
	e2e_is(wr(fd, pg + 2 * 4096, 16), -EFAULT,
	       "a buffer whose first page is bad: EFAULT");
	munmap(pg, 2 * 4096);
}

static void test_bad_writes(void)
{
	int vm = e2e_open(d.vm_path, O_RDWR), fd;
	uint8_t buf[128], *big;
	size_t n;

	e2e_is(alloc(vm, 18), 0, "ALLOCATE_HTAB(18) for bad writes");
	enter(vm, 50, hv(50, true), hr(50));
	fd = htab_fd(vm, WRITE, 0);
	put_hdr(buf, 16384, 0, 0);
	e2e_is(wr(fd, buf, 8), -EINVAL, "index past the table: EINVAL");
	put_hdr(buf, 16383, 0, 2);
	e2e_is(wr(fd, buf, 8), -EINVAL, "run past the table: EINVAL");
	n = put_hdr(buf, 50, 1, 0);
	n += put_hpte(buf + n, hv(1, false) & ~1ULL, hr(1));
	e2e_is(wr(fd, buf, n), -EINVAL, "V without VALID: EINVAL");
	put_hpte(buf + 8, hv(1, false) | 4, 0x2000);
	e2e_is(wr(fd, buf, n), -EINVAL, "undecodable page size: EINVAL");
	e2e_ok(entry(vm, 50).v == hv(50, true), "the occupant survives");
	put_hpte(buf + 8, hv(1, false) | (1ULL << 63), hr(1));
	e2e_is(wr(fd, buf, n), -EIO, "a rejected entry: EIO");
	e2e_is(entry(vm, 50).flags, 0, "and the index is left empty");
	/* Q6: what came before the error stays */
	n = put_hdr(buf, 60, 3, 0);
	n += put_hpte(buf + n, hv(60, false), hr(60));
	n += put_hpte(buf + n, hv(61, false), hr(61));
	n += put_hpte(buf + n, hv(62, false) & ~1ULL, hr(62));
	e2e_is(wr(fd, buf, n), -EINVAL, "the third HPTE is bad: EINVAL");
	e2e_ok(entry(vm, 61).v == hv(61, false) && entry(vm, 62).flags == 0,
	       "the first two were applied (Q6)");
	/* Q2 */
	n = put_hdr(buf, 70, 1, 0);
	n += put_hpte(buf + n, hv(70, false), hr(70));
	e2e_is(wr(fd, buf, 15), 0, "data 9 bytes short: 0");
	e2e_is(wr(fd, buf, 16), 16, "data 8 bytes short: 16 (D3)");
	e2e_ok(entry(vm, 70).v == hv(70, false) && entry(vm, 70).r == 0,
	       "with R taken as zero");
	e2e_is(wr(fd, buf, 7), 0, "7 bytes: 0");
	test_write_faulting_part_way(vm, fd);
	/* D3 and D8 over chunks */
	big = record(0, 65535, 0, &n);
	e2e_is(wr(fd, big, 300000), 262144,
	       "a truncated large record: the whole chunks are counted (D3)");
	e2e_is(entry(vm, 0).flags, 0, "and nothing was applied");
	put_hdr(big, 0, 10000, 0);
	put_hpte(big + 8 + 16 * 5000, 0, 0);
	e2e_is(wr(fd, big, 8 + 16 * 10000), 131072,
	       "an error in a later chunk: a short count (D8)");
	e2e_ok(entry(vm, 4999).flags && !entry(vm, 5000).flags,
	       "HPTEs before the error were applied");
	/* EBUSY */
	e2e_is(e2e_ioctl_u32(vm, KVMSHIM_PPC_SET_MMU_READY, 1), 0, "MMU ready");
	e2e_is(set_vcpus(vm, 1, 1), 0, "a vCPU running");
	n = put_hdr(buf, 12000, 1, 0);
	n += put_hpte(buf + n, hv(12000, false), hr(12000));
	e2e_is(wr(fd, buf, n), -EBUSY,
	       "write with vCPUs on a ready MMU: EBUSY");
	e2e_is(entry(vm, 12000).flags, 0, "nothing changed");
	/* the kernel answers an empty write itself: no EBUSY (deviation) */
	e2e_is(wr(fd, buf, 0), 0, "an empty write with vCPUs running: 0");
	e2e_is(e2e_ppc_info(vm).mmu_ready, 1, "and the MMU stays ready");
	set_vcpus(vm, 1, 0);
	e2e_is(wr(fd, buf, n), 24, "no vCPU running: accepted");
	e2e_is(e2e_ppc_info(vm).mmu_ready, 1,
	       "the MMU is ready again after it");
	close(fd);
	free(big);
	close(vm);
}

/* ---- a stream reopened after a resize ---- */

static void test_resize_reopen(void)
{
	int vm = e2e_open(d.vm_path, O_RDWR), fd, polls = 0;
	struct ks_ppc_resize_hpt rh = { 0, 19, 0 };
	struct image im;
	uint8_t buf[2048];
	bool whole = true;
	ssize_t rc;
	long ret;

	e2e_is(alloc(vm, 18), 0, "ALLOCATE_HTAB(18) before a resize");
	/* example A and friends at their hash positions, some unbolted */
	e2e_is(enter(vm, 15576, 0x0000000123456a91ULL, 0x12345012ULL), 0,
	       "example A, bolted");
	e2e_is(enter(vm, 803, 0x0000000123456a93ULL, 0x12345012ULL), 0,
	       "example A, secondary");
	enter(vm, 15577, 0x0000000123456a81ULL, 0x12345012ULL);
	fd = htab_fd(vm, 0, 0);
	image_init(&im, 16384);
	while ((rc = rd(fd, buf, sizeof(buf))) > 0)
		whole &= image_apply(&im, buf, (size_t)rc);
	e2e_ok(whole && image_matches(&im, vm), "the order-18 first pass");
	image_free(&im);
	e2e_ioctl_u32(vm, KVMSHIM_PPC_SET_MMU_READY, 1);
	ret = e2e_ioctl(vm, KS_PPC_RESIZE_HPT_PREPARE, (unsigned long)&rh);
	while (ret == 100 && polls++ < 100) {
		usleep(20000);
		ret = e2e_ioctl(vm, KS_PPC_RESIZE_HPT_PREPARE,
				(unsigned long)&rh);
	}
	e2e_is(ret, 0, "PREPARE(19) ready");
	e2e_is(e2e_ioctl(vm, KS_PPC_RESIZE_HPT_COMMIT, (unsigned long)&rh), 0,
	       "COMMIT(19) with the stream open");
	e2e_is(rd(fd, buf, sizeof(buf)), 0,
	       "the old stream has nothing to report (moves are not marked)");
	close(fd);
	fd = htab_fd(vm, 0, 0);
	image_init(&im, 32768);
	whole = true;
	while ((rc = rd(fd, buf, sizeof(buf))) > 0)
		whole &= image_apply(&im, buf, (size_t)rc);
	close(fd);
	e2e_ok(whole && image_matches(&im, vm),
	       "the reopened stream reads the order-19 table");
	e2e_ok(im.valid[803] && im.valid[31960] && e2e_ppc_info(vm).valid == 2,
	       "the two bolted entries, at 803 and 31960");
	image_free(&im);
	close(vm);
}

int main(void)
{
	int vm;

	e2e_daemon_start(&d, "kvmshim-htab", "--profile", "power8", NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	test_ioctl_and_fds(vm);
	close(vm);
	vm = e2e_open(d.vm_path, O_RDWR);
	test_read_sizes(vm);
	test_debug_read(vm);
	close(vm);
	test_migration();
	test_load_records();
	test_bad_writes();
	test_resize_reopen();
	e2e_is(e2e_daemon_stop(&d), 0, "daemon exits cleanly");
	return e2e_done();
}
