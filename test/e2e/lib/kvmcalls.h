/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One-line wrappers of the ioctls several end-to-end tests issue. */
#ifndef KVMSHIM_TEST_E2E_KVMCALLS_H
#define KVMSHIM_TEST_E2E_KVMCALLS_H

#include <stdint.h>

#include "kvmshim/kvmshim.h"

/* KVM_SET_USER_MEMORY_REGION in 4 KiB frames (s390): -errno or 0 */
long e2e_s390_region(int vm, uint32_t slot, uint32_t flags, uint64_t gfn,
		     uint64_t pages, uint64_t uaddr);
/* KVM_{SET,GET,HAS}_DEVICE_ATTR (cmd) with addr as the value pointer */
long e2e_device_attr(int vm, unsigned long cmd, uint32_t group, uint64_t attr,
		     void *addr);
/* The simulated guest's ESSA on count frames from gfn */
long e2e_s390_essa(int vm, uint64_t gfn, uint32_t count, uint8_t usage,
		   uint8_t nodat);
/* KVMSHIM_PPC_INFO; ends the test if it fails */
struct kvmshim_ppc_info e2e_ppc_info(int vm);
/* An ioctl whose argument is a pointer to one u32 */
long e2e_ioctl_u32(int fd, unsigned long cmd, uint32_t val);

#endif /* KVMSHIM_TEST_E2E_KVMCALLS_H */
