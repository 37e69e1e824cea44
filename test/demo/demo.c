// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A short tour of kvmshim: three daemons (power8, ppc970, s390x), and a
 * client that talks to them with the real KVM ioctl numbers, saying in
 * plain words what happens.  Any unexpected result ends the tour with a
 * non-zero status.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "test/e2e/lib/ctl.h"
#include "test/e2e/lib/e2e.h"
#include "test/e2e/lib/kvmcalls.h"

#define VSID 0x123456ULL
#define N_ENTRIES 64

static int failures;

/* Prints what a call returned; counts it as a failure if unexpected. */
static long step(long got, long want, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (got < 0)
		printf("  %-58s -> %s\n", what, strerror((int)-got));
	else
		printf("  %-58s -> %ld\n", what, got);
	if (got != want) {
		printf("    unexpected: wanted %ld\n", want);
		failures++;
	}
	return got;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A bolted 4 KiB page of segment VSID at page number pg, as H_ENTER does. */
static long enter_page(int vm, uint64_t pg, uint64_t mask, uint64_t *index)
{
	uint64_t va = (VSID << 28) | (pg << 12);
	struct kvmshim_ppc_hpte h = {
		.index = ((VSID ^ pg) & mask) * 8,
		.v = ((va >> 23) << 7) | 0x10 | 0x01,
		.r = (pg << 12) | 0x12,
	};
	long ret = e2e_ioctl(vm, KVMSHIM_PPC_H_ENTER, (unsigned long)&h);

	*index = h.index;
	return ret;
}

static struct kvmshim_ppc_info ppc_info(int vm)
{
	struct kvmshim_ppc_info in;

	memset(&in, 0, sizeof(in));
	e2e_ioctl(vm, KVMSHIM_PPC_INFO, (unsigned long)&in);
	return in;
}

/* A stream handle: FD_REQUEST on the VM, then BIND on a new open. */
static int htab_stream(const struct e2e_daemon *d, int vm, uint64_t flags)
{
	struct kvmshim_fd_request req;
	struct ks_get_htab_fd g = { .flags = flags };
	int fd;

	memset(&req, 0, sizeof(req));
	req.cmd = KS_PPC_GET_HTAB_FD;
	memcpy(req.data, &g, sizeof(g));
	if (e2e_ioctl(vm, KVMSHIM_FD_REQUEST, (unsigned long)&req))
		return -1;
	fd = e2e_open(d->sys_path,
		      flags & KS_GET_HTAB_WRITE ? O_WRONLY : O_RDONLY);
	if (e2e_ioctl(fd, KVMSHIM_BIND, (unsigned long)&req.token)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads records until a read returns 0, as QEMU's save loop does. */
static void htab_save_pass(int fd, unsigned int *valid, unsigned int *invalid,
			   unsigned int *reads)
{
	unsigned char buf[2048];
	ssize_t n, off;

	*valid = *invalid = *reads = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		(*reads)++;
		for (off = 0; off + 8 <= n;) {
			struct ks_get_htab_header h;

			memcpy(&h, buf + off, sizeof(h));
			*valid += h.n_valid;
			*invalid += h.n_invalid;
			off += 8 + 16 * (ssize_t)h.n_valid;
		}
	}
}

static void tour_hpt(void)
{
	struct e2e_daemon d;
	struct ks_ppc_resize_hpt rs = { .shift = 20 };
	unsigned int valid, invalid, reads, i;
	uint32_t order = 18;
	uint64_t index = 0;
	long ret;
	int sys, vm, fd;

	say("\n== The hashed page table (profile power8)");
	e2e_daemon_start(&d, "kvmshim-demo", "--profile", "power8", NULL);
	say("kvmshimd serves %s (like /dev/kvm) and %s (a new VM per open).",
	    d.sys_path, d.vm_path);
	sys = e2e_open(d.sys_path, O_RDWR);
	step(e2e_ioctl(sys, KS_GET_API_VERSION, 0), 12, "KVM_GET_API_VERSION");
	step(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_PPC_ALLOC_HTAB), 1,
	     "KVM_CHECK_EXTENSION(KVM_CAP_PPC_ALLOC_HTAB)");
	step(e2e_ioctl(sys, KS_CHECK_EXTENSION, KS_CAP_SPAPR_RESIZE_HPT), 1,
	     "KVM_CHECK_EXTENSION(KVM_CAP_SPAPR_RESIZE_HPT)");

	vm = e2e_open(d.vm_path, O_RDWR);
	say("A new VM has no hashed page table yet; QEMU allocates one at "
	    "every reset:");
	step(e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&order), 0,
	     "KVM_PPC_ALLOCATE_HTAB(order 18: 256 KiB, 16384 entries)");
	order = 17;
	step(e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&order),
	     -EINVAL, "KVM_PPC_ALLOCATE_HTAB(order 17) frees it first (Q7)");
	order = 18;
	step(e2e_ioctl(vm, KS_PPC_ALLOCATE_HTAB, (unsigned long)&order), 0,
	     "KVM_PPC_ALLOCATE_HTAB(order 18) again");

	say("The guest fills it: %d bolted 4 KiB pages through the guest "
	    "simulation (H_ENTER), each at its hash position:",
	    N_ENTRIES);
	for (i = 0; i < N_ENTRIES; i++) {
		ret = enter_page(vm, i, 0x7ff, &index);
		if (ret) {
			step(ret, 0, "H_ENTER page %u", i);
			break;
		}
	}
	say("  page 63 landed at index %llu (PTEG 0x%llx); the table holds "
	    "%llu valid entries",
	    (unsigned long long)index, (unsigned long long)(index / 8),
	    (unsigned long long)ppc_info(vm).valid);

	say("The guest asks for a bigger table (H_RESIZE_HPT_PREPARE); QEMU "
	    "polls until it is ready:");
	ret = step(e2e_ioctl(vm, KS_PPC_RESIZE_HPT_PREPARE, (unsigned long)&rs),
		   100, "KVM_PPC_RESIZE_HPT_PREPARE(shift 20)");
	for (i = 0; ret > 0 && i < 50; i++) {
		usleep(100000);
		ret = e2e_ioctl(vm, KS_PPC_RESIZE_HPT_PREPARE,
				(unsigned long)&rs);
	}
	step(ret, 0, "  ...polled again every 100 ms");
	step(e2e_ioctl(vm, KVMSHIM_PPC_SET_MMU_READY,
		       (unsigned long)&(uint32_t){ 1 }),
	     0, "(the guest is running: the MMU is ready)");
	step(e2e_ioctl(vm, KS_PPC_RESIZE_HPT_COMMIT, (unsigned long)&rs), 0,
	     "KVM_PPC_RESIZE_HPT_COMMIT(shift 20): rehash");
	say("  now order %u with %llu valid entries: bolted entries moved to "
	    "their new hash positions",
	    ppc_info(vm).order, (unsigned long long)ppc_info(vm).valid);
	step(e2e_ioctl(vm, KS_PPC_RESIZE_HPT_COMMIT, (unsigned long)&rs),
	     -ENXIO, "KVM_PPC_RESIZE_HPT_COMMIT again: nothing pending");

	say("Migration streams the table through an HTAB fd.  Through CUSE the "
	    "plain ioctl cannot return an fd:");
	step(e2e_ioctl(vm, KS_PPC_GET_HTAB_FD,
		       (unsigned long)&(struct ks_get_htab_fd){ 0 }),
	     -EOPNOTSUPP, "KVM_PPC_GET_HTAB_FD without kvmshim-run");
	fd = htab_stream(&d, vm, 0);
	step(fd >= 0 ? 0 : -1, 0,
	     "the same stream through KVMSHIM_FD_REQUEST + KVMSHIM_BIND");
	if (fd >= 0) {
		htab_save_pass(fd, &valid, &invalid, &reads);
		say("  first pass: %u reads of 2048 bytes, %u valid and %u "
		    "invalid entries (every index of the table)",
		    reads, valid, invalid);
		enter_page(vm, 1000, 0x1fff, &index);
		htab_save_pass(fd, &valid, &invalid, &reads);
		say("  the guest enters one more page; the next pass reports "
		    "only that change: %u valid, %u invalid",
		    valid, invalid);
		htab_save_pass(fd, &valid, &invalid, &reads);
		say("  and then nothing: %u entries, the read returns 0 "
		    "(QEMU's convergence)",
		    valid + invalid);
		close(fd);
	}
	close(vm);
	close(sys);
	step(e2e_daemon_stop(&d), 0, "SIGTERM: exit status");
}

static void tour_rma(void)
{
	struct kvmshim_fd_request req;
	struct kvmshim_fd_info info;
	struct e2e_daemon d;
	char *a, *b, *status = NULL;
	int vm, fd = -1;

	say("\n== Real Mode Areas (profile ppc970, a pool of 4 x 64 MiB)");
	e2e_daemon_start(&d, "kvmshim-demo-970", "--profile", "ppc970",
			 "--control", "/run/kvmshim/kvmshim-demo-970.sock",
			 NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	step(e2e_ioctl(vm, KS_ALLOCATE_RMA,
		       (unsigned long)&(struct ks_allocate_rma){ 0 }),
	     -EOPNOTSUPP, "KVM_ALLOCATE_RMA without kvmshim-run");
	memset(&req, 0, sizeof(req));
	req.cmd = KS_ALLOCATE_RMA;
	step(e2e_ioctl(vm, KVMSHIM_FD_REQUEST, (unsigned long)&req), 0,
	     "KVMSHIM_FD_REQUEST(KVM_ALLOCATE_RMA)");
	say("  rma_size %llu MiB; the memfd comes over the control socket",
	    (unsigned long long)(req.rma_size >> 20));
	step(e2e_ctl_claim(d.name, req.token, 0, &fd, &info), 0,
	     "KVMSHIM_CTL_CLAIM");
	if (fd >= 0) {
		a = mmap(NULL, req.rma_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		b = mmap(NULL, req.rma_size, PROT_READ, MAP_SHARED, fd, 0);
		if (a != MAP_FAILED && b != MAP_FAILED) {
			strcpy(a + (32 << 20), "guest real mode data");
			say("  wrote through one mapping, read through another: "
			    "\"%s\"",
			    b + (32 << 20));
			if (strcmp(b + (32 << 20), "guest real mode data"))
				failures++;
			munmap(a, req.rma_size);
			munmap(b, req.rma_size);
		} else {
			step(-1, 0, "mmap of the RMA");
		}
		e2e_kvmshimctl_status(d.name, &status);
		if (status && strstr(status, "rma_pool:"))
			say("  kvmshimctl status: %.*s",
			    (int)strcspn(strstr(status, "rma_pool:"), "\n"),
			    strstr(status, "rma_pool:"));
		free(status);
		close(fd);
		say("  closing the fd and unmapping returns the area to the "
		    "pool");
	}
	close(vm);
	step(e2e_daemon_stop(&d), 0, "SIGTERM: exit status");
}

static void tour_cmma(void)
{
	static unsigned char values[524288];
	struct ks_userspace_memory_region mr = {
		.slot = 0,
		.flags = KS_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0,
		.memory_size = 64 << 20,
		.userspace_addr = 0x7f0000000000ULL,
	};
	struct kvmshim_vcpus vc = { .created = 1 };
	struct kvmshim_s390_essa essa = { .gfn = 4096,
					  .count = 64,
					  .usage = 1 };
	struct ks_s390_cmma_log log;
	unsigned int calls = 0, got = 0;
	struct e2e_daemon d;
	uint64_t status = 0;
	int vm;

	say("\n== s390 CMMA migration (profile s390x)");
	e2e_daemon_start(&d, "kvmshim-demo-s390", "--profile", "s390x", NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	step(e2e_ioctl(vm, KS_SET_USER_MEMORY_REGION, (unsigned long)&mr), 0,
	     "KVM_SET_USER_MEMORY_REGION(64 MiB, dirty logging)");
	step(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, KS_S390_VM_MEM_CTRL,
			     KS_S390_VM_MEM_ENABLE_CMMA, NULL),
	     0, "KVM_SET_DEVICE_ATTR(MEM_CTRL, ENABLE_CMMA)");
	e2e_ioctl(vm, KVMSHIM_SET_VCPUS, (unsigned long)&vc);
	step(e2e_ioctl(vm, KVMSHIM_S390_ESSA, (unsigned long)&essa), 0,
	     "guest ESSA: 64 pages from gfn 4096 become \"unused\"");
	step(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			     KS_S390_VM_MIGRATION_START, NULL),
	     0, "KVM_SET_DEVICE_ATTR(MIGRATION, START): every page dirty");
	step(e2e_device_attr(vm, KS_GET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			     KS_S390_VM_MIGRATION_STATUS, &status),
	     0, "KVM_GET_DEVICE_ATTR(MIGRATION, STATUS)");
	say("  migration mode: %s", status ? "on" : "off");
	say("QEMU's save loop: GETs of 524288 values, then a one-page PEEK "
	    "for what remains:");
	memset(&log, 0, sizeof(log));
	for (;;) {
		log.count = sizeof(values);
		log.flags = 0;
		log.values = (uintptr_t)values;
		if (e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)&log) ||
		    !log.count)
			break;
		calls++;
		got += log.count;
		log.start_gfn += log.count;
		{
			struct ks_s390_cmma_log peek = {
				.count = 1,
				.flags = KS_S390_CMMA_PEEK,
				.values = (uintptr_t)values,
			};
			e2e_ioctl(vm, KS_S390_GET_CMMA_BITS,
				  (unsigned long)&peek);
			if (!peek.remaining)
				break;
		}
	}
	say("  %u GET calls moved %u page states (through CUSE at most 131040 "
	    "per call, D1)",
	    calls, got);
	step(got, 16384, "pages migrated (64 MiB of 4 KiB pages)");
	essa.gfn = 100;
	essa.count = 1;
	essa.usage = 3;
	e2e_ioctl(vm, KVMSHIM_S390_ESSA, (unsigned long)&essa);
	log.start_gfn = 0;
	log.count = sizeof(values);
	log.flags = 0;
	step(e2e_ioctl(vm, KS_S390_GET_CMMA_BITS, (unsigned long)&log), 0,
	     "the guest changes gfn 100 (volatile); the next GET");
	say("  returns start_gfn %llu, count %u, value 0x%02x, remaining %llu",
	    (unsigned long long)log.start_gfn, log.count, values[0],
	    (unsigned long long)log.remaining);
	step(e2e_device_attr(vm, KS_SET_DEVICE_ATTR, KS_S390_VM_MIGRATION,
			     KS_S390_VM_MIGRATION_STOP, NULL),
	     0, "KVM_SET_DEVICE_ATTR(MIGRATION, STOP)");
	close(vm);
	step(e2e_daemon_stop(&d), 0, "SIGTERM: exit status");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	say("kvmshim demo: /dev/kvm-shaped devices for KVM features this host "
	    "lacks.");
	tour_hpt();
	tour_rma();
	tour_cmma();
	say("\n%s", failures ? "Something did not go as expected (see above)." :
			       "Everything went as described.");
	return failures ? 1 : 0;
}
