// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * HTAB stream read speed: the first pass of a new read stream over a table
 * of order 24 whose 2^20 entries are all present and clean, read through
 * the engine's read function (no CUSE) with a buffer large enough for the
 * whole pass (17 records, each at most 65535 HPTEs).  The baseline is a
 * memcpy of 2^24 bytes into the same buffer, measured in the same run.
 * Best of several runs each, from cold caches.  Exits non-zero only when
 * the stream's bytes are wrong.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine.h"
#include "core/hpt.h"
#include "core/internal.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"

#define ORDER 24
#define NPTE (1ULL << (ORDER - 4))
#define TABLE_BYTES (1UL << ORDER)
#define BUF_BYTES (TABLE_BYTES + 4096)
#define RUNS 15
#define SCRATCH (128UL << 20)
#define TGID 1000

static void flush_caches(char *scratch, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 64)
		scratch[i]++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long ioctl_as(struct ks_handle *h, uint32_t cmd, void *arg)
{
	struct ks_uctx_direct d;

	ks_uctx_direct_init(&d, TGID);
	return ks_ioctl(h, cmd, (uint64_t)(uintptr_t)arg, &d.u);
}

static void entry_words(uint64_t i, uint64_t *v, uint64_t *r)
{
	*v = (((i << 7) | 0x1000000000ULL) & KS_HPTE_V_AVPN) |
	     KS_HPTE_V_BOLTED | KS_HPTE_V_VALID;
	*r = ((i << 12) & KS_HPTE_R_RPN) | 0x192;
}

static int fill(struct ks_vm *vm)
{
	struct ks_hpt *t = ks_hpt_cur(vm);
	uint64_t i, v, r;

	for (i = 0; i < NPTE; i++) {
		entry_words(i, &v, &r);
		if (ks_hpt_table_set(t, i, v, r))
			return -1;
	}
	return 0;
}

/* A new read stream from index 0: request, open, bind. */
static struct ks_handle *open_stream(struct ks_engine *eng,
				     struct ks_handle *vmh)
{
	struct ks_caller c = { .tid = TGID, .tgid = TGID };
	struct ks_get_htab_fd ghf = { 0, 0, { 0, 0 } };
	struct kvmshim_fd_request req;
	struct ks_handle *h;

	memset(&req, 0, sizeof(req));
	req.cmd = KS_PPC_GET_HTAB_FD;
	memcpy(req.data, &ghf, sizeof(ghf));
	if (ioctl_as(vmh, KVMSHIM_FD_REQUEST, &req) ||
	    ks_open(eng, KS_NODE_SYSTEM, O_RDONLY, &c, &h))
		return NULL;
	if (ioctl_as(h, KVMSHIM_BIND, &req.token)) {
		ks_release(h);
		return NULL;
	}
	return h;
}

/* The pass must be 17 records covering every entry, in order. */
static int verify(const uint8_t *buf, size_t n)
{
	uint64_t i = 0, v, r, bv, br;
	size_t p = 0;

	while (p < n) {
		struct ks_get_htab_header hdr;
		uint32_t k;

		memcpy(&hdr, buf + p, sizeof(hdr));
		p += sizeof(hdr);
		if (hdr.index != i || hdr.n_invalid ||
		    p + 16 * (size_t)hdr.n_valid > n)
			return -1;
		for (k = 0; k < hdr.n_valid; k++, i++, p += 16) {
			entry_words(i, &v, &r);
			memcpy(&bv, buf + p, 8);
			memcpy(&br, buf + p + 8, 8);
			if (be64toh(bv) != (v | KS_HPTE_V_HVLOCK) ||
			    be64toh(br) != r)
				return -1;
		}
	}
	return i == NPTE ? 0 : -1;
}

int main(void)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *vmh, *h;
	struct ks_caller c = { .tid = TGID, .tgid = TGID };
	double best_read = 1e9, best_copy = 1e9, t0, t1;
	uint32_t order = ORDER;
	uint8_t *buf, *src;
	char *scratch;
	ssize_t got = 0;
	int i;

	scratch = calloc(1, SCRATCH);
	buf = malloc(BUF_BYTES);
	src = malloc(TABLE_BYTES);
	if (!scratch || !buf || !src)
		return 1;
	if (ks_engine_config_init(&cfg, "power8") ||
	    ks_engine_new(&cfg, &eng) ||
	    ks_open(eng, KS_NODE_VM, O_RDWR, &c, &vmh) ||
	    ioctl_as(vmh, KS_PPC_ALLOCATE_HTAB, &order))
		return 1;
	pthread_mutex_lock(&vmh->vm->lock);
	i = fill(vmh->vm);
	pthread_mutex_unlock(&vmh->vm->lock);
	if (i) {
		fprintf(stderr, "cannot fill the table\n");
		return 1;
	}
	memset(buf, 0, BUF_BYTES);
	memset(src, 0x5a, TABLE_BYTES);
	for (i = 0; i < RUNS; i++) {
		h = open_stream(eng, vmh);
		if (!h) {
			fprintf(stderr, "cannot open a read stream\n");
			return 1;
		}
		flush_caches(scratch, SCRATCH);
		t0 = now();
		got = ks_read(h, buf, BUF_BYTES, NULL, &c);
		t1 = now();
		ks_release(h);
		if (got != (ssize_t)(TABLE_BYTES + 17 * 8) ||
		    (i == 0 && verify(buf, (size_t)got))) {
			fprintf(stderr, "wrong stream: %zd bytes\n", got);
			return 1;
		}
		if (t1 - t0 < best_read)
			best_read = t1 - t0;

		flush_caches(scratch, SCRATCH);
		t0 = now();
		memcpy(buf, src, TABLE_BYTES);
		t1 = now();
		if (t1 - t0 < best_copy)
			best_copy = t1 - t0;
	}
	printf("htab_read: first pass over %llu present HPTEs, order %d\n",
	       (unsigned long long)NPTE, ORDER);
	printf("  stream read     %8.3f ms  %6.2f GB/s (%zd bytes)\n",
	       best_read * 1e3, (double)got / best_read / 1e9, got);
	printf("  memcpy baseline %8.3f ms  %6.2f GB/s (%lu bytes)\n",
	       best_copy * 1e3, (double)TABLE_BYTES / best_copy / 1e9,
	       TABLE_BYTES);
	printf("  ratio read/memcpy throughput: %.2fx (goal >= 0.5x)\n",
	       ((double)got / best_read) / ((double)TABLE_BYTES / best_copy));
	ks_release(vmh);
	ks_engine_free(eng);
	free(buf);
	free(src);
	free(scratch);
	return 0;
}
