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

/*
 * s390 guest simulation (0x30-0x3f), on s390 VM handles only.
 *
 * KVMSHIM_S390_ESSA stands in for a guest vCPU executing a state-setting
 * ESSA on each of count frames from gfn, in order: the page's usage
 * becomes usage and its NODAT bit nodat.  Outside migration mode it
 * records that the guest uses CMM; in migration mode it marks the frames
 * CMMA-dirty instead.  Errors, in this order, and nothing changes on any:
 *   EFAULT  the struct is unreadable
 *   EINVAL  flags != 0, usage > 3, nodat > 1, count 0 or count above
 *           KVMSHIM_S390_ESSA_MAX
 *   ESRCH   no vCPU was ever created (KVMSHIM_SET_VCPUS)
 *   ENXIO   CMMA is not enabled (the guest gets an operation exception)
 *   EFAULT  a frame is in no memory slot (an addressing exception)
 *   ENOMEM  the model memory limit was reached
 */
#define KVMSHIM_S390_ESSA_MAX 1048576

struct kvmshim_s390_essa {
	__u64 gfn;
	__u32 count;
	__u8 usage; /* 0 stable, 1 unused, 2 potentially volatile, 3 volatile */
	__u8 nodat;
	__u16 flags; /* must be 0 */
};

#define KVMSHIM_S390_ESSA _IOW(KVMSHIM_IO, 0x30, struct kvmshim_s390_essa)

/* The CMMA model of a VM, for tests and diagnostics. */
#define KVMSHIM_CMMA_ENABLED (1U << 0) /* MEM_CTRL ENABLE_CMMA was set */
#define KVMSHIM_CMMA_USED (1U << 1) /* the guest used CMM */
#define KVMSHIM_CMMA_MIGRATING (1U << 2) /* migration mode is on */

struct kvmshim_s390_cmma_info {
	__u32 flags; /* KVMSHIM_CMMA_* */
	__u32 pad;
	__u64 dirty_count; /* Linux's counter: what "remaining" reports */
	__u64 dirty_bits; /* bits set in all memory slots' CMMA bitmaps */
	__u64 state_bytes; /* model memory holding page states */
};

#define KVMSHIM_S390_CMMA_INFO                                                 \
	_IOR(KVMSHIM_IO, 0x31, struct kvmshim_s390_cmma_info)

/*
 * Handles for what Linux returns as a new file descriptor (0x40-0x4f).
 *
 * KVMSHIM_FD_REQUEST on the handle the KVM ioctl would be issued on (the
 * system handle for KVM_CREATE_VM, a VM handle for KVM_PPC_GET_HTAB_FD and
 * KVM_ALLOCATE_RMA) runs that ioctl's checks in Linux's order and returns
 * its errno, or 0 and a single-use token.  A VM or HTAB token is turned
 * into a descriptor with KVMSHIM_BIND on a fresh open of the system node
 * (O_RDWR for a VM, O_RDONLY for an HTAB read stream, O_WRONLY for a write
 * stream); an RMA token is claimed over the control socket, which passes
 * the memfd with SCM_RIGHTS.  Unused tokens expire after
 * KVMSHIM_TOKEN_TTL_MS and release what they hold.
 */
#define KVMSHIM_TOKEN_TTL_MS 10000

/* the requester already did Linux's VM-creator check (kvmshim-run) */
#define KVMSHIM_FD_SUPERVISED (1U << 0)

struct kvmshim_fd_request {
	__u32 cmd; /* the KVM ioctl number, in an encoding the profile accepts */
	__u32 flags;
	__u64 arg; /* KVM_CREATE_VM: the machine type */
	__u8 data[32]; /* KVM_PPC_GET_HTAB_FD: struct kvm_get_htab_fd */
	__u64 token; /* out */
	__u64 rma_size; /* out: KVM_ALLOCATE_RMA */
};

#define KVMSHIM_FD_REQUEST _IOWR(KVMSHIM_IO, 0x40, struct kvmshim_fd_request)
#define KVMSHIM_BIND _IOW(KVMSHIM_IO, 0x41, __u64)

/* What a claimed descriptor is. */
struct kvmshim_fd_info {
	__u32 kind; /* KVMSHIM_FD_KIND_* */
	__u32 flags; /* KVMSHIM_FD_CLOEXEC: install close-on-exec */
	__u64 size; /* RMA: rma_size */
	__u64 vm_id;
};

#define KVMSHIM_FD_KIND_RMA 3
#define KVMSHIM_FD_CLOEXEC (1U << 0)

/*
 * The control socket (AF_UNIX, SOCK_SEQPACKET, one request and one reply
 * per message), /run/kvmshim/NAME.sock unless configured otherwise.  Its
 * mode and group are those of the nodes.
 */
#define KVMSHIM_CTL_STATUS 1 /* reply payload: status text */
#define KVMSHIM_CTL_CLAIM 2 /* reply carries the fd (SCM_RIGHTS) */

struct kvmshim_ctl_request {
	__u32 op;
	__u32 flags;
	__u64 token; /* CLAIM */
	__s32 owner_tgid; /* CLAIM: process that will hold the fd; 0: peer */
	__u32 pad;
};

struct kvmshim_ctl_reply {
	__s32 error; /* 0 or a negative errno */
	__u32 len; /* payload bytes following this header */
	struct kvmshim_fd_info info; /* CLAIM */
};

#endif /* KVMSHIM_UAPI_KVMSHIM_H */
