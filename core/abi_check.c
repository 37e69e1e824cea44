// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Compile-time checks of the ABI in uapi/kvmshim/kvm.h: struct sizes and
 * offsets (spec: abi.md §2), the native numbers against the encoding of
 * this architecture, and against the system's <linux/kvm.h> where it
 * declares them.  This file generates no code.
 */
#include <stddef.h>

#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"

#define KS_ASSERT_LAYOUT(type, field, off, size)                               \
	_Static_assert(offsetof(struct type, field) == (off),                  \
		       #type "." #field " offset");                            \
	_Static_assert(sizeof(((struct type *)0)->field) == (size),            \
		       #type "." #field " size")

_Static_assert(sizeof(struct ks_userspace_memory_region) == 32, "umr size");
KS_ASSERT_LAYOUT(ks_userspace_memory_region, slot, 0, 4);
KS_ASSERT_LAYOUT(ks_userspace_memory_region, flags, 4, 4);
KS_ASSERT_LAYOUT(ks_userspace_memory_region, guest_phys_addr, 8, 8);
KS_ASSERT_LAYOUT(ks_userspace_memory_region, memory_size, 16, 8);
KS_ASSERT_LAYOUT(ks_userspace_memory_region, userspace_addr, 24, 8);

_Static_assert(sizeof(struct ks_device_attr) == 24, "device_attr size");
KS_ASSERT_LAYOUT(ks_device_attr, flags, 0, 4);
KS_ASSERT_LAYOUT(ks_device_attr, group, 4, 4);
KS_ASSERT_LAYOUT(ks_device_attr, attr, 8, 8);
KS_ASSERT_LAYOUT(ks_device_attr, addr, 16, 8);

_Static_assert(sizeof(struct ks_allocate_rma) == 8, "allocate_rma size");
KS_ASSERT_LAYOUT(ks_allocate_rma, rma_size, 0, 8);

_Static_assert(sizeof(struct ks_get_htab_fd) == 32, "get_htab_fd size");
KS_ASSERT_LAYOUT(ks_get_htab_fd, flags, 0, 8);
KS_ASSERT_LAYOUT(ks_get_htab_fd, start_index, 8, 8);
KS_ASSERT_LAYOUT(ks_get_htab_fd, reserved, 16, 16);

_Static_assert(sizeof(struct ks_get_htab_header) == 8, "htab header size");
KS_ASSERT_LAYOUT(ks_get_htab_header, index, 0, 4);
KS_ASSERT_LAYOUT(ks_get_htab_header, n_valid, 4, 2);
KS_ASSERT_LAYOUT(ks_get_htab_header, n_invalid, 6, 2);

_Static_assert(sizeof(struct ks_ppc_resize_hpt) == 16, "resize_hpt size");
KS_ASSERT_LAYOUT(ks_ppc_resize_hpt, flags, 0, 8);
KS_ASSERT_LAYOUT(ks_ppc_resize_hpt, shift, 8, 4);
KS_ASSERT_LAYOUT(ks_ppc_resize_hpt, pad, 12, 4);

_Static_assert(sizeof(struct ks_s390_cmma_log) == 32, "cmma_log size");
KS_ASSERT_LAYOUT(ks_s390_cmma_log, start_gfn, 0, 8);
KS_ASSERT_LAYOUT(ks_s390_cmma_log, count, 8, 4);
KS_ASSERT_LAYOUT(ks_s390_cmma_log, flags, 12, 4);
KS_ASSERT_LAYOUT(ks_s390_cmma_log, remaining, 16, 8);
KS_ASSERT_LAYOUT(ks_s390_cmma_log, mask, 16, 8);
KS_ASSERT_LAYOUT(ks_s390_cmma_log, values, 24, 8);

/* The native numbers are the encoding of the architecture we build for. */
#if defined(__powerpc__) || defined(__powerpc64__)
#define KS_IOC_THIS_ARCH KS_IOC_PPC
#else
#define KS_IOC_THIS_ARCH KS_IOC_GENERIC
#endif
#define KS_ASSERT_NATIVE(name, dir, nr, size)                                  \
	_Static_assert(KS_##name == KS_IOC_THIS_ARCH(KS_DIR_##dir, nr, size),  \
		       "native KVM_" #name);
KS_KVM_IOCTLS(KS_ASSERT_NATIVE)

/* Private numbers must never look like KVM's in either encoding. */
_Static_assert(KVMSHIM_IO != KS_KVMIO, "private type byte");

#if defined(__has_include)
#if __has_include(<linux/kvm.h>)
#include <linux/kvm.h>
#define KS_ASSERT_SYSTEM(name)                                                 \
	_Static_assert((__u32)KS_##name == (__u32)KVM_##name,                  \
		       "KVM_" #name " differs from <linux/kvm.h>")
KS_ASSERT_SYSTEM(GET_API_VERSION);
KS_ASSERT_SYSTEM(CREATE_VM);
KS_ASSERT_SYSTEM(CHECK_EXTENSION);
KS_ASSERT_SYSTEM(GET_VCPU_MMAP_SIZE);
KS_ASSERT_SYSTEM(CREATE_VCPU);
KS_ASSERT_SYSTEM(SET_USER_MEMORY_REGION);
KS_ASSERT_SYSTEM(PPC_ALLOCATE_HTAB);
#if defined(__powerpc__) || defined(__powerpc64__)
/* their structs are declared only in powerpc's <asm/kvm.h> */
KS_ASSERT_SYSTEM(ALLOCATE_RMA);
KS_ASSERT_SYSTEM(PPC_GET_HTAB_FD);
_Static_assert(sizeof(struct ks_get_htab_fd) == sizeof(struct kvm_get_htab_fd),
	       "kvm_get_htab_fd");
#endif
KS_ASSERT_SYSTEM(PPC_RESIZE_HPT_PREPARE);
KS_ASSERT_SYSTEM(PPC_RESIZE_HPT_COMMIT);
KS_ASSERT_SYSTEM(S390_GET_CMMA_BITS);
KS_ASSERT_SYSTEM(S390_SET_CMMA_BITS);
KS_ASSERT_SYSTEM(SET_DEVICE_ATTR);
KS_ASSERT_SYSTEM(GET_DEVICE_ATTR);
KS_ASSERT_SYSTEM(HAS_DEVICE_ATTR);
#ifdef KVM_S390_ENABLE_SIE
KS_ASSERT_SYSTEM(S390_ENABLE_SIE);
#endif
_Static_assert(KS_API_VERSION == KVM_API_VERSION, "API version");
_Static_assert(KS_S390_SKEYS_MAX == KVM_S390_SKEYS_MAX, "SKEYS_MAX");
_Static_assert(KS_CAP_PPC_RMA == KVM_CAP_PPC_RMA, "CAP_PPC_RMA");
_Static_assert(KS_CAP_PPC_ALLOC_HTAB == KVM_CAP_PPC_ALLOC_HTAB, "cap 80");
_Static_assert(KS_CAP_PPC_HTAB_FD == KVM_CAP_PPC_HTAB_FD, "cap 84");
_Static_assert(KS_CAP_SPAPR_RESIZE_HPT == KVM_CAP_SPAPR_RESIZE_HPT, "cap");
_Static_assert(KS_CAP_S390_CMMA_MIGRATION == KVM_CAP_S390_CMMA_MIGRATION,
	       "cap 145");
_Static_assert(KS_CAP_VM_ATTRIBUTES == KVM_CAP_VM_ATTRIBUTES, "cap 101");
_Static_assert(KS_CAP_DEVICE_CTRL == KVM_CAP_DEVICE_CTRL, "cap 89");
_Static_assert(KS_CAP_S390_COW == KVM_CAP_S390_COW, "cap 79");
_Static_assert(KS_CAP_USER_MEMORY == KVM_CAP_USER_MEMORY, "cap 3");
_Static_assert(KS_CAP_NR_MEMSLOTS == KVM_CAP_NR_MEMSLOTS, "cap 10");
_Static_assert(KS_CAP_PPC_GET_PVINFO == KVM_CAP_PPC_GET_PVINFO, "cap 57");
_Static_assert(KS_CAP_SYNC_REGS == KVM_CAP_SYNC_REGS, "cap 74");
_Static_assert(KS_CAP_CHECK_EXTENSION_VM == KVM_CAP_CHECK_EXTENSION_VM,
	       "cap 105");
_Static_assert(KS_CAP_PPC_MMU_RADIX == KVM_CAP_PPC_MMU_RADIX, "cap 134");
_Static_assert(KS_CAP_PPC_MMU_HASH_V3 == KVM_CAP_PPC_MMU_HASH_V3, "cap 135");
_Static_assert(KS_CAP_S390_HPAGE_1M == KVM_CAP_S390_HPAGE_1M, "cap 156");
_Static_assert(KS_MEM_LOG_DIRTY_PAGES == KVM_MEM_LOG_DIRTY_PAGES, "LOG_DIRTY");
_Static_assert(KS_MEM_READONLY == KVM_MEM_READONLY, "READONLY");
_Static_assert(KS_S390_CMMA_PEEK == KVM_S390_CMMA_PEEK, "CMMA_PEEK");
_Static_assert(KS_VM_PPC_HV == KVM_VM_PPC_HV && KS_VM_PPC_PR == KVM_VM_PPC_PR,
	       "powerpc VM types");
_Static_assert(KS_VM_S390_UCONTROL == KVM_VM_S390_UCONTROL, "UCONTROL");
_Static_assert(sizeof(struct ks_userspace_memory_region) ==
		       sizeof(struct kvm_userspace_memory_region),
	       "kvm_userspace_memory_region");
_Static_assert(sizeof(struct ks_device_attr) == sizeof(struct kvm_device_attr),
	       "kvm_device_attr");
_Static_assert(sizeof(struct ks_ppc_resize_hpt) ==
		       sizeof(struct kvm_ppc_resize_hpt),
	       "kvm_ppc_resize_hpt");
_Static_assert(sizeof(struct ks_s390_cmma_log) ==
		       sizeof(struct kvm_s390_cmma_log),
	       "kvm_s390_cmma_log");
#endif
#endif
