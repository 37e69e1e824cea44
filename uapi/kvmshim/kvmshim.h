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
 * Handles for what Linux returns as a new file descriptor (0x40-0x4f).
 *
 * KVMSHIM_FD_REQUEST on the handle the KVM ioctl would be issued on (the
 * system handle for KVM_CREATE_VM, a VM handle for KVM_PPC_GET_HTAB_FD and
 * KVM_ALLOCATE_RMA) runs that ioctl's checks in Linux's order and returns
 * its errno, or 0 and a single-use token.  The object exists from then on
 * (a new VM, a reserved RMA pool entry with its memfd).  A VM or HTAB token
 * is turned into a descriptor with KVMSHIM_BIND on an open of the system
 * node that is not yet bound (O_RDWR for a VM, O_RDONLY for an HTAB read
 * stream, O_WRONLY for a write stream); an RMA token is claimed over the
 * control socket, which passes the memfd with SCM_RIGHTS.  Unused tokens
 * expire after KVMSHIM_TOKEN_TTL_MS and release what they hold.
 *
 * A token can be bound only by the process that requested it, and claimed
 * only for the process it was issued for (the requester, or owner_tgid of
 * a supervised request).
 *
 * FD_REQUEST errors, first match wins:
 *   ENOTTY  the handle is an HTAB stream
 *   EFAULT  the struct cannot be read or written back
 *   EINVAL  unknown flags, reserved != 0, owner_tgid != 0 without
 *           KVMSHIM_FD_SUPERVISED or <= 0 with it, or cmd is not
 *           KVM_CREATE_VM, KVM_PPC_GET_HTAB_FD or KVM_ALLOCATE_RMA in an
 *           encoding the profile accepts
 *   then the KVM ioctl's own results on that handle: on a system handle
 *   EINVAL for GET_HTAB_FD and ALLOCATE_RMA and a bad VM type; on a VM
 *   handle EIO for a process other than the VM's creator (with
 *   KVMSHIM_FD_SUPERVISED: owner_tgid is checked instead of the requester),
 *   then ENOTTY for CREATE_VM and for what the profile does not implement,
 *   ENOMEM for an empty RMA pool, and so on
 *   ENFILE  too many tokens pending (KVMSHIM_TOKENS_MAX)
 *
 * BIND errors, first match wins:
 *   ENOTTY  the handle is not an unbound system handle
 *   EFAULT  the token cannot be read
 *   ENOTTY  the token is unknown, expired or used, or was requested by
 *           another process (nothing is revealed about others' tokens)
 *   EINVAL  the token names an object that is not bound to a node (RMA)
 *   EBADF   the open's access mode is not the one the object needs
 * A failed BIND leaves the token as it was.
 */
#define KVMSHIM_TOKEN_TTL_MS 10000
#define KVMSHIM_TOKENS_MAX 1024

/*
 * The requester (kvmshim-run) acts for the process owner_tgid: the new
 * VM's creator, the RMA's holder, the process checked against the VM's
 * creator (Linux's EIO check).
 */
#define KVMSHIM_FD_SUPERVISED (1U << 0)

struct kvmshim_fd_request {
	__u32 cmd; /* the KVM ioctl number, in an encoding the profile accepts */
	__u32 flags; /* KVMSHIM_FD_* */
	__u64 arg; /* KVM_CREATE_VM: the machine type */
	__u8 data[32]; /* KVM_PPC_GET_HTAB_FD: struct kvm_get_htab_fd */
	__s32 owner_tgid; /* KVMSHIM_FD_SUPERVISED: the client; else 0 */
	__u32 reserved; /* must be 0 */
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

/* the same values as KVMSHIM_KIND_* for the handle kinds */
#define KVMSHIM_FD_KIND_VM 1
#define KVMSHIM_FD_KIND_HTAB 2
#define KVMSHIM_FD_KIND_RMA 3
#define KVMSHIM_FD_CLOEXEC (1U << 0)

/*
 * The control socket (AF_UNIX, SOCK_SEQPACKET, one request and one reply
 * per message), /run/kvmshim/NAME.sock unless configured otherwise.  Its
 * mode and group are those of the nodes.  A reply is a struct
 * kvmshim_ctl_reply followed by len payload bytes in the same message.
 *
 * CLAIM hands out the memfd behind an RMA token, once, to the process it
 * was issued for: owner_tgid names the process that will hold the fd (0:
 * the peer itself).  The pool entry returns when that process exits, when
 * the memfd's last descriptor and mapping are gone, or when its VM is
 * destroyed.  Errors: ENOENT for an unknown, expired, used or foreign
 * token (or an RMA whose VM is gone), EINVAL for a token that is not an
 * RMA's, ESRCH when the owner has exited.
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
