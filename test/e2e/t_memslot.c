// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVM_SET_USER_MEMORY_REGION through a real CUSE node, on an s390x and a
 * power8 daemon (spec: generic.md §4.3).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmshim/kvm.h"
#include "lib/e2e.h"

#define MiB (1ULL << 20)

static long region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		   uint64_t size, uint64_t uaddr)
{
	struct ks_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return e2e_ioctl(vm, KS_SET_USER_MEMORY_REGION, (unsigned long)&m);
}

static void test_s390(void)
{
	struct e2e_daemon d;
	void *hole =
		mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int vm;

	e2e_daemon_start(&d, "kvmshim-slot390", "--profile", "s390x", NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(e2e_ioctl(vm, KS_SET_USER_MEMORY_REGION, (unsigned long)hole),
	       -EFAULT, "s390x: unreadable struct: EFAULT");
	e2e_is(region(vm, 0, 4, 0, MiB, 0), -EINVAL, "unknown flag: EINVAL");
	e2e_is(region(vm, 0, KS_MEM_READONLY, 0, MiB, 0), -EINVAL,
	       "read-only: EINVAL");
	e2e_is(region(vm, 32766, 0, 0, MiB, 0), -EINVAL, "slot 32766: EINVAL");
	e2e_is(region(vm, 1U << 16, 0, 0, MiB, 0), -EINVAL,
	       "address space 1: EINVAL");
	e2e_is(region(vm, 0, 0, 0, MiB, 0x1000), -EINVAL,
	       "user address not on a 1 MiB boundary: EINVAL");
	e2e_is(region(vm, 0, 0, 0, 0x1000, 0), -EINVAL,
	       "size not a multiple of 1 MiB: EINVAL");
	e2e_is(region(vm, 0, 0, (1ULL << 44) - MiB, 2 * MiB, 0), -EINVAL,
	       "beyond the memory limit: EINVAL");
	e2e_is(region(vm, 32765, 0, 0x1000, 4 * MiB, 0), 0,
	       "slot 32765 at a page-aligned guest address");
	e2e_is(region(vm, 1, 0, 2 * MiB, MiB, 0x1000), -EEXIST,
	       "overlap: EEXIST before the 1 MiB rule");
	e2e_is(region(vm, 1, 0, 0x1000 + 4 * MiB, MiB, 0), 0,
	       "an adjacent slot");
	e2e_is(region(vm, 32765, 0, 0x1000, 8 * MiB, 0), -EINVAL,
	       "changing the size: EINVAL");
	e2e_is(region(vm, 32765, 0, 16 * MiB, 4 * MiB, 0), 0, "a move");
	e2e_is(region(vm, 32765, KS_MEM_LOG_DIRTY_PAGES, 16 * MiB, 4 * MiB, 0),
	       0, "a flags change");
	e2e_is(region(vm, 32765, 0, 0, 0, 0), 0, "a delete");
	e2e_is(region(vm, 32765, 0, 0, 0, 0), -EINVAL,
	       "deleting it again: EINVAL");
	close(vm);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon exits cleanly");
	munmap(hole, 4096);
}

static void test_power8(void)
{
	struct e2e_daemon d;
	int vm;

	e2e_daemon_start(&d, "kvmshim-slotppc", "--profile", "power8", NULL);
	vm = e2e_open(d.vm_path, O_RDWR);
	e2e_is(region(vm, 32767, 0, 0, 0x10000, 0), -EINVAL,
	       "power8: slot 32767: EINVAL");
	e2e_is(region(vm, 0, 0, 0x1000, 0x10000, 0), -EINVAL,
	       "a guest address off the 64 KiB host page: EINVAL");
	e2e_is(region(vm, 0, 0, 0, 0x20000, 0xFFFFFFFFFFFF0000ULL), -EINVAL,
	       "a wrapping user range: EINVAL");
	e2e_is(region(vm, 32766, 0, 0, 0x10000, 0x30000), 0,
	       "slot 32766 of 64 KiB");
	e2e_is(region(vm, 0, 0, 0, 0x10000, 0x40000), -EEXIST,
	       "overlap: EEXIST");
	close(vm);
	e2e_is(e2e_daemon_stop(&d), 0, "daemon exits cleanly");
}

int main(void)
{
	test_s390();
	test_power8();
	return e2e_done();
}
