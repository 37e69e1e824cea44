// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The daemon's and the supervisor's share of a CMMA transfer under
 * kvmshim-run: a VM proof, KVMSHIM_CTL_CMMA's handler with the values in
 * a memfd, and the supervisor's copy out of (or into) the memfd, for
 * QEMU's 524288 values.  The baseline, measured in the same run, is the
 * same ioctl on a direct user context (the engine writing straight into
 * the caller's buffer).  Kernel costs (seccomp notification, control
 * socket, process_vm_writev) are not in either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/supervise.h"
#include "kvmshim/kvmshim.h"

#define PAGES 524288
#define ITER 200
#define ROUNDS 3
#define TGID 4242

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(long ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "run_cmma: %s: %s\n", what,
			strerror((int)-ret));
		exit(1);
	}
}

static long ioctl_direct(struct ks_handle *h, uint32_t cmd, void *arg)
{
	struct ks_uctx_direct d;

	ks_uctx_direct_init(&d, TGID);
	return ks_ioctl(h, cmd, (uintptr_t)arg, &d.u);
}

static struct ks_handle *setup(struct ks_engine **eng)
{
	struct ks_engine_config cfg;
	struct ks_caller c = { .tid = TGID, .tgid = TGID };
	struct ks_userspace_memory_region m = {
		.memory_size = (uint64_t)PAGES << 12,
		.userspace_addr = 1ULL << 32,
	};
	struct ks_device_attr a = { .group = KS_S390_VM_MEM_CTRL };
	struct ks_s390_cmma_log log = { .count = PAGES, .mask = ~0ULL };
	uint8_t *vals = malloc(PAGES);
	struct ks_handle *h;
	int i;

	for (i = 0; i < PAGES; i++)
		vals[i] = (uint8_t)(i & 0x43);
	must(ks_engine_config_init(&cfg, "s390x"), "config");
	must(ks_engine_new(&cfg, eng), "engine");
	must(ks_open(*eng, KS_NODE_VM, 2, &c, &h), "open");
	must(ioctl_direct(h, KS_SET_USER_MEMORY_REGION, &m), "memslot");
	must(ioctl_direct(h, KS_SET_DEVICE_ATTR, &a), "ENABLE_CMMA");
	log.values = (uintptr_t)vals;
	must(ioctl_direct(h, KS_S390_SET_CMMA_BITS, &log), "SET");
	free(vals);
	return h;
}

static double peek_direct(struct ks_handle *h, uint8_t *buf)
{
	struct ks_s390_cmma_log log;
	double t0 = now();
	int i;

	for (i = 0; i < ITER; i++) {
		memset(&log, 0, sizeof(log));
		log.count = PAGES;
		log.flags = KS_S390_CMMA_PEEK;
		log.values = (uintptr_t)buf;
		must(ioctl_direct(h, KS_S390_GET_CMMA_BITS, &log), "PEEK");
	}
	return now() - t0;
}

/* What the daemon and the supervisor do for one trapped PEEK. */
static double peek_run(struct ks_engine *eng, struct ks_handle *h, uint8_t *buf,
		       int memfd)
{
	struct kvmshim_ctl_cmma in = { .cmd = KS_S390_GET_CMMA_BITS };
	struct kvmshim_ctl_cmma_out out;
	struct ks_s390_cmma_log log;
	uint64_t proof;
	double t0 = now();
	int i;

	for (i = 0; i < ITER; i++) {
		memset(&log, 0, sizeof(log));
		log.count = PAGES;
		log.flags = KS_S390_CMMA_PEEK;
		log.values = 0x7f0000000000;
		memcpy(in.log, &log, sizeof(log));
		in.arg = 0x10000;
		must(ioctl_direct(h, KVMSHIM_VM_PROOF, &proof), "VM_PROOF");
		must(ks_run_cmma(eng, proof, TGID, TGID, &in, memfd, &out),
		     "run_cmma");
		must(out.result, "PEEK");
		if (pread(memfd, buf, out.values_len, 0) !=
		    (ssize_t)out.values_len)
			must(-EIO, "pread");
	}
	return now() - t0;
}

int main(void)
{
	uint8_t *buf = malloc(PAGES);
	double best_base = 1e9, best_run = 1e9, t;
	struct ks_engine *eng;
	struct ks_handle *h = setup(&eng);
	int memfd = memfd_create("values", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int r;

	if (memfd < 0 || !buf)
		must(-ENOMEM, "memfd");
	for (r = 0; r < ROUNDS; r++) {
		t = peek_direct(h, buf);
		if (t < best_base)
			best_base = t;
		t = peek_run(eng, h, buf, memfd);
		if (t < best_run)
			best_run = t;
	}
	printf("run_cmma: PEEK of %d values, best of %d rounds of %d\n", PAGES,
	       ROUNDS, ITER);
	printf("  direct user context: %8.1f us per call\n",
	       best_base / ITER * 1e6);
	printf("  kvmshim-run path:    %8.1f us per call (proof, memfd, "
	       "copy out)\n",
	       best_run / ITER * 1e6);
	printf("  ratio: %.2f\n", best_run / best_base);
	close(memfd);
	ks_release(h);
	ks_engine_free(eng);
	free(buf);
	return 0;
}
