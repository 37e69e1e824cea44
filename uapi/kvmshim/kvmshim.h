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

/*
 * Generic (0x00-0x0f).  A number of type KVMSHIM_IO that no definition in
 * this file matches is an unknown ioctl: EINVAL on a system handle (as
 * /dev/kvm answers), ENOTTY on a VM handle or an HTAB stream.  A defined
 * ioctl on a handle it does not apply to gives ENOTTY.
 */

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
 * powerpc guest simulation (0x10-0x2f), on a VM handle of a ppc profile.
 * They stand in for the guest's hcalls, the hardware's reference/change
 * bits, the first vCPU run and the resize worker's timing (spec: hpt.md).
 * Every one works whether or not the MMU is ready or vCPUs run.  With no
 * HPT, every index is out of range (EINVAL).
 *
 * Errnos of the hcall equivalents: H_PARAMETER -> EINVAL, H_PTEG_FULL ->
 * ENOSPC, H_NOT_FOUND -> ENOENT.  ENOMEM: the model could not back the
 * entry's storage within the daemon's memory budget; nothing changed.
 */

/* An HPTE operation: the guest's H_ENTER, H_REMOVE, H_PROTECT. */
struct kvmshim_ppc_hpte {
	__u64 flags; /* KVMSHIM_PPC_H_* */
	/*
	 * PTE index, PTEG * 8 + slot.  H_ENTER without H_EXACT uses the first
	 * free slot of the PTEG and writes the index it used back here.
	 */
	__u64 index;
	/*
	 * H_ENTER: the V word (BOLTED = 0x10 bolts it; HVLOCK, ABSENT and
	 * VALID are ignored).  H_REMOVE, H_PROTECT: the AVPN to compare with
	 * H_AVPN or H_ANDCOND.  H_REMOVE writes the removed V word back.
	 */
	__u64 v;
	/*
	 * H_ENTER: the R word (bit 62 is ignored).  H_PROTECT: the new
	 * protection, in R-word positions: PP0 (bit 63), KEY_HI (60-61),
	 * KEY_LO (9-11), N (2), PP (0-1); other bits are EINVAL.  H_REMOVE
	 * and H_PROTECT write the entry's (old / new) guest R word back.
	 */
	__u64 r;
};

/*
 * H_ENTER: use exactly .index; ENOSPC if that slot is occupied.  The index
 * (EINVAL) and the slot (ENOSPC) are checked before the entry itself
 * (EINVAL: B = 1x, undecodable page size, large page across a memslot).
 */
#define KVMSHIM_PPC_H_EXACT (1ULL << 0)
/* H_REMOVE, H_PROTECT: ENOENT unless (V & ~0x7f) == .v */
#define KVMSHIM_PPC_H_AVPN (1ULL << 1)
/* H_REMOVE: ENOENT if (V & .v) != 0 */
#define KVMSHIM_PPC_H_ANDCOND (1ULL << 2)

#define KVMSHIM_PPC_H_ENTER _IOWR(KVMSHIM_IO, 0x10, struct kvmshim_ppc_hpte)
#define KVMSHIM_PPC_H_REMOVE _IOWR(KVMSHIM_IO, 0x11, struct kvmshim_ppc_hpte)
#define KVMSHIM_PPC_H_PROTECT _IOWR(KVMSHIM_IO, 0x12, struct kvmshim_ppc_hpte)

/*
 * Hardware reference (R, 0x100) and change (C, 0x80) bits set in a present
 * entry.  Bits not yet in the entry's guest R word stay pending until an
 * HTAB read harvests them.  EINVAL: index out of range or other bits;
 * ENOENT: the entry is empty.
 */
struct kvmshim_ppc_rc {
	__u64 index;
	__u64 bits;
};

#define KVMSHIM_PPC_SET_RC _IOW(KVMSHIM_IO, 0x13, struct kvmshim_ppc_rc)

/*
 * One entry as the model holds it.  READ_ENTRY fills flags, v, r and rc
 * for .index (EINVAL if out of range).  INSERT_RAW stores .v (VALID set,
 * HVLOCK and ABSENT cleared) and .r (bit 62 cleared) at .index without any
 * check, replacing what is there; it is marked modified if a read fd is
 * open or .flags has KVMSHIM_PPC_ENTRY_MODIFIED.  It reaches states no
 * hcall can, such as an undecodable page size (a later COMMIT fails with
 * EIO) or an entry away from its hash position.
 */
struct kvmshim_ppc_entry {
	__u64 index;
	__u32 flags; /* KVMSHIM_PPC_ENTRY_* */
	__u32 pad;
	__u64 v; /* V word; VALID set iff present */
	__u64 r; /* guest view of R, bit 62 clear */
	__u64 rc; /* hardware R/C bits not yet harvested */
};

#define KVMSHIM_PPC_ENTRY_PRESENT (1U << 0)
#define KVMSHIM_PPC_ENTRY_MODIFIED (1U << 1)

#define KVMSHIM_PPC_READ_ENTRY _IOWR(KVMSHIM_IO, 0x14, struct kvmshim_ppc_entry)
#define KVMSHIM_PPC_INSERT_RAW _IOW(KVMSHIM_IO, 0x15, struct kvmshim_ppc_entry)

/*
 * The first vCPU run (hpt.md §7): with no HPT, allocate one of order 24,
 * then 23 ... 18 while allocation fails (ENOMEM if all fail); then require
 * a memslot at guest address 0 (EINVAL; the HPT stays); then set MMU
 * ready.  0 at once if the MMU is ready.  Creates no VRMA entries.
 */
#define KVMSHIM_PPC_RUN _IO(KVMSHIM_IO, 0x16)

/*
 * Set (1) or clear (0) MMU ready directly, as a VRMA HPTE written through
 * an HTAB fd would.  EINVAL: another value, or 1 with no HPT.
 */
#define KVMSHIM_PPC_SET_MMU_READY _IOW(KVMSHIM_IO, 0x17, __u32)

/*
 * When the resize worker allocates a request that RESIZE_HPT_PREPARE
 * starts from now on: at once (default), after delay_ms, or when
 * KVMSHIM_PPC_RESIZE_RELEASE is issued.  A cancelled or replaced request
 * stops waiting at once and is discarded.
 */
struct kvmshim_ppc_resize_worker {
	__u32 mode; /* KVMSHIM_PPC_WORKER_* */
	__u32 delay_ms; /* KVMSHIM_PPC_WORKER_DELAY: at most 600000 */
};

#define KVMSHIM_PPC_WORKER_NOW 0
#define KVMSHIM_PPC_WORKER_DELAY 1
#define KVMSHIM_PPC_WORKER_HOLD 2

#define KVMSHIM_PPC_RESIZE_WORKER                                              \
	_IOW(KVMSHIM_IO, 0x18, struct kvmshim_ppc_resize_worker)
/* Lets held requests go; returns 1 if the pending request was held. */
#define KVMSHIM_PPC_RESIZE_RELEASE _IO(KVMSHIM_IO, 0x19)

/*
 * Makes the next `count` HPT allocations of the selected kinds fail with
 * ENOMEM (count 0 clears).  HTAB: KVM_PPC_ALLOCATE_HTAB and
 * KVMSHIM_PPC_RUN; RESIZE: the resize worker.
 */
struct kvmshim_ppc_fail_alloc {
	__u32 which; /* KVMSHIM_PPC_FAIL_* */
	__u32 count;
};

#define KVMSHIM_PPC_FAIL_HTAB (1U << 0)
#define KVMSHIM_PPC_FAIL_RESIZE (1U << 1)

#define KVMSHIM_PPC_FAIL_ALLOC                                                 \
	_IOW(KVMSHIM_IO, 0x1a, struct kvmshim_ppc_fail_alloc)

/* The VM's HPT state. */
struct kvmshim_ppc_info {
	__u32 order; /* 0: no HPT */
	__u32 mmu_ready;
	__u64 npte;
	__u64 valid; /* present entries */
	__u64 dirty; /* entries modified or with unharvested R/C bits */
	__u64 mem_bytes; /* model memory held by the current and prepared table */
	__u32 readers; /* open HTAB read fds */
	__u32 resize_order; /* 0: no resize pending */
	__u32 resize_state; /* KVMSHIM_PPC_RESIZE_* */
	__s32 resize_errno; /* FAILED: the positive errno */
};

#define KVMSHIM_PPC_RESIZE_NONE 0
#define KVMSHIM_PPC_RESIZE_ALLOCATING 1
#define KVMSHIM_PPC_RESIZE_READY 2
#define KVMSHIM_PPC_RESIZE_FAILED 3

#define KVMSHIM_PPC_INFO _IOR(KVMSHIM_IO, 0x1b, struct kvmshim_ppc_info)

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
 *   EPERM   KVMSHIM_FD_SUPERVISED from a process that is neither owner_tgid
 *           nor one of its ancestors (a launcher is an ancestor of every
 *           program it runs)
 *   then the KVM ioctl's own results on that handle: on a system handle
 *   EINVAL for GET_HTAB_FD and ALLOCATE_RMA and a bad VM type; on a VM
 *   handle EIO for a process other than the VM's creator (with
 *   KVMSHIM_FD_SUPERVISED: owner_tgid is checked instead of the requester),
 *   then ENOTTY for CREATE_VM and for what the profile does not implement,
 *   ENOMEM for an empty RMA pool, and so on
 *   EMFILE  the calling process has KVMSHIM_TOKENS_PER_PROCESS tokens
 *           pending (not counted for a caller whose pid the daemon cannot
 *           see)
 *   ENFILE  too many tokens pending in all (KVMSHIM_TOKENS_MAX)
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
#define KVMSHIM_TOKENS_PER_PROCESS 64

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

/*
 * kvmshim-run (0x42 and control operations 0x40-0x4f).
 *
 * KVMSHIM_VM_PROOF on a VM handle returns a single-use token that names the
 * handle's VM.  It shows that the process holding it has a descriptor of
 * the VM, and only that process can use it, within KVMSHIM_TOKEN_TTL_MS,
 * over the control socket (KVMSHIM_CTL_CMMA).  ENOTTY on other handles,
 * EFAULT if the token cannot be written, EMFILE or ENFILE when too many
 * tokens are pending (as for KVMSHIM_FD_REQUEST).
 */
#define KVMSHIM_VM_PROOF _IOR(KVMSHIM_IO, 0x42, __u64)

/* What kvmshim-run must trap: the KVM ioctls that need it, per number. */
#define KVMSHIM_TRAP_CREATE_VM 1
#define KVMSHIM_TRAP_GET_HTAB_FD 2
#define KVMSHIM_TRAP_ALLOCATE_RMA 3
#define KVMSHIM_TRAP_GET_CMMA_BITS 4
#define KVMSHIM_TRAP_SET_CMMA_BITS 5

#define KVMSHIM_RUN_TRAPS_MAX 16

struct kvmshim_run_trap {
	__u32 cmd; /* an ioctl number the profile accepts, low 32 bits */
	__u32 kind; /* KVMSHIM_TRAP_* */
};

/* KVMSHIM_CTL_RUN_INFO reply payload. */
struct kvmshim_run_info {
	__u32 arch; /* KVMSHIM_ARCH_* */
	__u32 n_traps;
	struct kvmshim_run_trap traps[KVMSHIM_RUN_TRAPS_MAX];
	/* the engine now, for tests and diagnostics */
	__u32 tokens_pending;
	__u32 vms;
	__u32 rma_free;
	__u32 rma_total;
};

/*
 * KVMSHIM_CTL_CMMA runs KVM_S390_GET_CMMA_BITS or KVM_S390_SET_CMMA_BITS
 * for a client of kvmshim-run, with no transport limit on the values.  The
 * request's token is a KVMSHIM_VM_PROOF of the peer, its owner_tgid the
 * client (checked against the VM's creator, EIO); the peer must be root or
 * the client's user, and the client or one of its ancestors.  The request carries a memfd (SCM_RIGHTS) standing
 * for the client's values buffer: SET reads the values from it (a file
 * shorter than count means the client's buffer is unreadable from there
 * on), GET writes them into it from offset 0.  The reply payload is a
 * struct kvmshim_ctl_cmma_out whose result is the ioctl's result; the
 * reply's error is set only if the operation could not run at all (ENOENT:
 * bad proof; EPERM, ESRCH: the client; EINVAL, EBADF: a malformed request).
 */
struct kvmshim_ctl_cmma {
	__u32 cmd; /* the KVM ioctl number */
	__u32 flags; /* must be 0 */
	__u64 arg; /* the client's address of its struct */
	__u8 log[32]; /* struct kvm_s390_cmma_log as read from the client */
};

#define KVMSHIM_CMMA_WROTE_LOG (1U << 0)
#define KVMSHIM_CMMA_WROTE_VALUES (1U << 1)

struct kvmshim_ctl_cmma_out {
	__s32 result; /* 0 or a negative errno */
	__u32 written; /* KVMSHIM_CMMA_WROTE_*: what the client gets */
	__u64 values_len; /* GET: value bytes in the memfd from offset 0 */
	__u8 log[32]; /* the struct to write back (WROTE_LOG) */
};

#define KVMSHIM_CTL_RUN_INFO 0x40
#define KVMSHIM_CTL_CMMA 0x41

#endif /* KVMSHIM_UAPI_KVMSHIM_H */
