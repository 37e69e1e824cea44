/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvmshim's private ABI: ioctls on kvmshim's own nodes that are not part of
 * KVM.  They stand in for what Linux does only with a running guest (vCPUs,
 * hcalls, ESSA, reference/change bits) and let programs bind extra handles.
 *
 * The type byte 0xE9 is unassigned in Linux's ioctl-number registry and is
 * distinct from KVMIO (0xAE), so no private number can equal a KVM number in
 * either the generic or the powerpc encoding.
 *
 * Number ranges: 0x00-0x0f generic, 0x10-0x2f powerpc guest simulation,
 * 0x30-0x3f s390 guest simulation, 0x40-0x4f handle binding.
 */
#ifndef KVMSHIM_UAPI_KVMSHIM_H
#define KVMSHIM_UAPI_KVMSHIM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KVMSHIM_IO 0xE9

/* What a handle is (KVMSHIM_WHOAMI). */
#define KVMSHIM_KIND_SYSTEM 0
#define KVMSHIM_KIND_VM 1
#define KVMSHIM_KIND_HTAB 2

#define KVMSHIM_ARCH_PPC 0
#define KVMSHIM_ARCH_S390 1

struct kvmshim_whoami {
	__u32 kind;
	__u32 arch;
	__u64 vm_id; /* 0 for a system handle */
	__s32 creator_tgid;
	__u32 oflags; /* O_ACCMODE etc. of the open */
	__u64 htab_flags; /* flags of an HTAB handle */
};

#define KVMSHIM_WHOAMI _IOR(KVMSHIM_IO, 0x00, struct kvmshim_whoami)

/*
 * vCPU counters of a VM.  Linux counts vCPUs ever created (never lowered)
 * and vCPUs running; kvmshim has no KVM_CREATE_VCPU or KVM_RUN, so tests set
 * them here.  created may only grow (EINVAL otherwise) and running may not
 * exceed created (EINVAL).
 */
struct kvmshim_vcpus {
	__u32 created;
	__u32 running;
};

#define KVMSHIM_SET_VCPUS _IOW(KVMSHIM_IO, 0x01, struct kvmshim_vcpus)
#define KVMSHIM_GET_VCPUS _IOR(KVMSHIM_IO, 0x02, struct kvmshim_vcpus)

#endif /* KVMSHIM_UAPI_KVMSHIM_H */
