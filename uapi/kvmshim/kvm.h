/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The subset of the KVM ABI that kvmshim implements, declared independently
 * of <linux/kvm.h> so that it is available on every build host and can be
 * checked against the system header where one exists.
 *
 * Every name is the KVM name with "KVM_" replaced by "KS_" (and "kvm_" by
 * "ks_" for structures).  ioctl numbers are built with <linux/ioctl.h>, so
 * they are native on the architecture this header is compiled for: the
 * powerpc encoding differs from the generic one (see KS_IOC_PPC below).
 * Directions and sizes are the kernel's, including the odd ones:
 * RESIZE_HPT_* are _IOR although they only pass input, GET_HTAB_FD is _IOW
 * although it returns a file descriptor.
 */
#ifndef KVMSHIM_UAPI_KVM_H
#define KVMSHIM_UAPI_KVM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KS_KVMIO 0xAE
#define KS_API_VERSION 12

/* struct kvm_userspace_memory_region */
struct ks_userspace_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

#define KS_MEM_LOG_DIRTY_PAGES (1U << 0)
#define KS_MEM_READONLY (1U << 1)

/* struct kvm_device_attr */
struct ks_device_attr {
	__u32 flags;
	__u32 group;
	__u64 attr;
	__u64 addr;
};

/* struct kvm_allocate_rma: rma_size is output only */
struct ks_allocate_rma {
	__u64 rma_size;
};

/* struct kvm_get_htab_fd */
struct ks_get_htab_fd {
	__u64 flags;
	__u64 start_index;
	__u64 reserved[2];
};

#define KS_GET_HTAB_BOLTED_ONLY ((__u64)0x1)
#define KS_GET_HTAB_WRITE ((__u64)0x2)

/* struct kvm_get_htab_header: host-endian record header of the HTAB stream */
struct ks_get_htab_header {
	__u32 index;
	__u16 n_valid;
	__u16 n_invalid;
};

/* struct kvm_ppc_resize_hpt */
struct ks_ppc_resize_hpt {
	__u64 flags;
	__u32 shift;
	__u32 pad;
};

/* struct kvm_s390_cmma_log */
struct ks_s390_cmma_log {
	__u64 start_gfn;
	__u32 count;
	__u32 flags;
	union {
		__u64 remaining;
		__u64 mask;
	};
	__u64 values;
};

#define KS_S390_CMMA_PEEK (1U << 0)
#define KS_S390_SKEYS_MAX 1048576

/* VM types (KVM_CREATE_VM argument) */
#define KS_VM_PPC_HV 1
#define KS_VM_PPC_PR 2
#define KS_VM_S390_UCONTROL 1

/* s390 VM attribute groups and attributes */
#define KS_S390_VM_MEM_CTRL 0
#define KS_S390_VM_MEM_ENABLE_CMMA 0
#define KS_S390_VM_MEM_CLR_CMMA 1
#define KS_S390_VM_MEM_LIMIT_SIZE 2
#define KS_S390_VM_TOD 1
#define KS_S390_VM_CRYPTO 2
#define KS_S390_VM_CPU_MODEL 3
#define KS_S390_VM_MIGRATION 4
#define KS_S390_VM_MIGRATION_STOP 0
#define KS_S390_VM_MIGRATION_START 1
#define KS_S390_VM_MIGRATION_STATUS 2
#define KS_S390_VM_CPU_TOPOLOGY 5

/* Capabilities */
#define KS_CAP_USER_MEMORY 3
#define KS_CAP_NR_MEMSLOTS 10
#define KS_CAP_PPC_GET_PVINFO 57
#define KS_CAP_PPC_RMA 65
#define KS_CAP_SYNC_REGS 74
#define KS_CAP_S390_COW 79
#define KS_CAP_PPC_ALLOC_HTAB 80
#define KS_CAP_PPC_HTAB_FD 84
#define KS_CAP_DEVICE_CTRL 89
#define KS_CAP_VM_ATTRIBUTES 101
#define KS_CAP_CHECK_EXTENSION_VM 105
#define KS_CAP_SPAPR_RESIZE_HPT 133
#define KS_CAP_PPC_MMU_RADIX 134
#define KS_CAP_PPC_MMU_HASH_V3 135
#define KS_CAP_S390_CMMA_MIGRATION 145
#define KS_CAP_S390_HPAGE_1M 156

/* HPT constants (arch/powerpc) */
#define KS_PPC_MIN_HPT_ORDER 18
#define KS_PPC_MAX_HPT_ORDER 46
#define KS_DEFAULT_HPT_ORDER 24
#define KS_HPTES_PER_GROUP 8
#define KS_HPTE_SIZE 16

/*
 * The ioctl table: name, direction, nr, argument size.  The direction
 * letters are those of the _IO* macros (N = _IO, R = _IOR, W = _IOW,
 * RW = _IOWR); KS_IOC_GENERIC and KS_IOC_PPC expand an entry into either
 * encoding on any host, so that both can be accepted and tested.
 */
#define KS_DIR_N 0
#define KS_DIR_W 1 /* userspace to kernel */
#define KS_DIR_R 2 /* kernel to userspace */
#define KS_DIR_RW 3

#define KS_KVM_IOCTLS(X)                                                       \
	X(GET_API_VERSION, N, 0x00, 0)                                         \
	X(CREATE_VM, N, 0x01, 0)                                               \
	X(CHECK_EXTENSION, N, 0x03, 0)                                         \
	X(GET_VCPU_MMAP_SIZE, N, 0x04, 0)                                      \
	X(S390_ENABLE_SIE, N, 0x06, 0)                                         \
	X(CREATE_VCPU, N, 0x41, 0)                                             \
	X(SET_USER_MEMORY_REGION, W, 0x46,                                     \
	  sizeof(struct ks_userspace_memory_region))                           \
	X(PPC_ALLOCATE_HTAB, RW, 0xa7, sizeof(__u32))                          \
	X(ALLOCATE_RMA, R, 0xa9, sizeof(struct ks_allocate_rma))               \
	X(PPC_GET_HTAB_FD, W, 0xaa, sizeof(struct ks_get_htab_fd))             \
	X(PPC_RESIZE_HPT_PREPARE, R, 0xad, sizeof(struct ks_ppc_resize_hpt))   \
	X(PPC_RESIZE_HPT_COMMIT, R, 0xae, sizeof(struct ks_ppc_resize_hpt))    \
	X(S390_GET_CMMA_BITS, RW, 0xb8, sizeof(struct ks_s390_cmma_log))       \
	X(S390_SET_CMMA_BITS, W, 0xb9, sizeof(struct ks_s390_cmma_log))        \
	X(SET_DEVICE_ATTR, W, 0xe1, sizeof(struct ks_device_attr))             \
	X(GET_DEVICE_ATTR, W, 0xe2, sizeof(struct ks_device_attr))             \
	X(HAS_DEVICE_ATTR, W, 0xe3, sizeof(struct ks_device_attr))

/* Generic encoding: nr 0-7, type 8-15, size 16-29, dir 30-31 (W=1, R=2) */
#define KS_IOC_GENERIC(dir, nr, size)                                          \
	((__u32)(((__u32)(dir) << 30) | ((__u32)(size) << 16) |                \
		 ((__u32)KS_KVMIO << 8) | (__u32)(nr)))

/* powerpc encoding: size 16-28, dir 29-31 (none=1, R=2, W=4, RW=6) */
#define KS_PPC_DIR(dir)                                                        \
	((dir) == KS_DIR_N ? 1U :                                              \
	 (dir) == KS_DIR_R ? 2U :                                              \
	 (dir) == KS_DIR_W ? 4U :                                              \
			     6U)
#define KS_IOC_PPC(dir, nr, size)                                              \
	((__u32)((KS_PPC_DIR(dir) << 29) | ((__u32)(size) << 16) |             \
		 ((__u32)KS_KVMIO << 8) | (__u32)(nr)))

/* Native numbers, exactly as <linux/kvm.h> declares them */
#define KS_IOC_NATIVE_N(nr, size) _IO(KS_KVMIO, nr)
#define KS_IOC_NATIVE_R(nr, size) _IOC(_IOC_READ, KS_KVMIO, nr, size)
#define KS_IOC_NATIVE_W(nr, size) _IOC(_IOC_WRITE, KS_KVMIO, nr, size)
#define KS_IOC_NATIVE_RW(nr, size)                                             \
	_IOC(_IOC_READ | _IOC_WRITE, KS_KVMIO, nr, size)

#define KS_GET_API_VERSION KS_IOC_NATIVE_N(0x00, 0)
#define KS_CREATE_VM KS_IOC_NATIVE_N(0x01, 0)
#define KS_CHECK_EXTENSION KS_IOC_NATIVE_N(0x03, 0)
#define KS_GET_VCPU_MMAP_SIZE KS_IOC_NATIVE_N(0x04, 0)
#define KS_S390_ENABLE_SIE KS_IOC_NATIVE_N(0x06, 0)
#define KS_CREATE_VCPU KS_IOC_NATIVE_N(0x41, 0)
#define KS_SET_USER_MEMORY_REGION                                              \
	KS_IOC_NATIVE_W(0x46, sizeof(struct ks_userspace_memory_region))
#define KS_PPC_ALLOCATE_HTAB KS_IOC_NATIVE_RW(0xa7, sizeof(__u32))
#define KS_ALLOCATE_RMA KS_IOC_NATIVE_R(0xa9, sizeof(struct ks_allocate_rma))
#define KS_PPC_GET_HTAB_FD KS_IOC_NATIVE_W(0xaa, sizeof(struct ks_get_htab_fd))
#define KS_PPC_RESIZE_HPT_PREPARE                                              \
	KS_IOC_NATIVE_R(0xad, sizeof(struct ks_ppc_resize_hpt))
#define KS_PPC_RESIZE_HPT_COMMIT                                               \
	KS_IOC_NATIVE_R(0xae, sizeof(struct ks_ppc_resize_hpt))
#define KS_S390_GET_CMMA_BITS                                                  \
	KS_IOC_NATIVE_RW(0xb8, sizeof(struct ks_s390_cmma_log))
#define KS_S390_SET_CMMA_BITS                                                  \
	KS_IOC_NATIVE_W(0xb9, sizeof(struct ks_s390_cmma_log))
#define KS_SET_DEVICE_ATTR KS_IOC_NATIVE_W(0xe1, sizeof(struct ks_device_attr))
#define KS_GET_DEVICE_ATTR KS_IOC_NATIVE_W(0xe2, sizeof(struct ks_device_attr))
#define KS_HAS_DEVICE_ATTR KS_IOC_NATIVE_W(0xe3, sizeof(struct ks_device_attr))

#endif /* KVMSHIM_UAPI_KVM_H */
