// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "kvmshim/kvm.h"

#include "e2e.h"
#include "kvmcalls.h"

long e2e_s390_region(int vm, uint32_t slot, uint32_t flags, uint64_t gfn,
		     uint64_t pages, uint64_t uaddr)
{
	struct ks_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gfn << 12,
		.memory_size = pages << 12,
		.userspace_addr = uaddr,
	};

	return e2e_ioctl(vm, KS_SET_USER_MEMORY_REGION, (unsigned long)&m);
}

long e2e_device_attr(int vm, unsigned long cmd, uint32_t group, uint64_t attr,
		     void *addr)
{
	struct ks_device_attr da = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)addr,
	};

	return e2e_ioctl(vm, cmd, (unsigned long)&da);
}

long e2e_s390_essa(int vm, uint64_t gfn, uint32_t count, uint8_t usage,
		   uint8_t nodat)
{
	struct kvmshim_s390_essa e = {
		.gfn = gfn,
		.count = count,
		.usage = usage,
		.nodat = nodat,
	};

	return e2e_ioctl(vm, KVMSHIM_S390_ESSA, (unsigned long)&e);
}

struct kvmshim_ppc_info e2e_ppc_info(int vm)
{
	struct kvmshim_ppc_info in;

	memset(&in, 0, sizeof(in));
	if (e2e_ioctl(vm, KVMSHIM_PPC_INFO, (unsigned long)&in))
		e2e_bail("KVMSHIM_PPC_INFO failed");
	return in;
}

long e2e_ioctl_u32(int fd, unsigned long cmd, uint32_t val)
{
	return e2e_ioctl(fd, cmd, (unsigned long)&val);
}
