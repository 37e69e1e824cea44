/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Machine profiles: which architecture a daemon instance emulates and what
 * its KVM reports.  Each daemon serves exactly one profile.
 */
#ifndef KVMSHIM_CORE_PROFILE_H
#define KVMSHIM_CORE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmshim/kvm.h"

enum ks_arch {
	KS_ARCH_PPC,
	KS_ARCH_S390,
};

enum ks_profile_id {
	KS_PROFILE_PPC970,
	KS_PROFILE_POWER7,
	KS_PROFILE_POWER8,
	KS_PROFILE_S390X,
};

/* Highest capability number a profile keeps a value for. */
#define KS_CAP_MAX 255

struct ks_profile {
	enum ks_profile_id id;
	const char *name;
	enum ks_arch arch;
	/* accept only the encoding of the emulated architecture */
	bool native_encoding_only;
	/* KVM_ALLOCATE_RMA is implemented (3.1 pool semantics) */
	bool has_rma;
	uint64_t host_page_size;
	uint32_t user_mem_slots;
	uint64_t vcpu_mmap_size;
	int64_t caps[KS_CAP_MAX + 1];
};

/* Fill *p with the named profile's defaults; -EINVAL for an unknown name. */
int ks_profile_init(struct ks_profile *p, const char *name);

/* Apply "NAME=VALUE" (NAME: number, CAP_x or KVM_CAP_x); -EINVAL if bad. */
int ks_profile_set_cap(struct ks_profile *p, const char *assignment);

/* KVM_CHECK_EXTENSION: the value for any unsigned long argument. */
int64_t ks_profile_cap(const struct ks_profile *p, uint64_t cap);

/* Name of a capability number known to kvmshim, or NULL. */
const char *ks_cap_name(uint32_t cap);

const char *const *ks_profile_names(void);

/* Canonical ioctl ids, in the order of KS_KVM_IOCTLS. */
enum ks_ioctl_id {
#define KS_X(name, dir, nr, size) KS_IOCTL_##name,
	KS_KVM_IOCTLS(KS_X)
#undef KS_X
		KS_IOCTL_COUNT
};

/*
 * The ioctl a command number means for this profile, or -1 when the
 * command is not one of the encodings the profile accepts.  Only the low
 * 32 bits of a command are significant.
 */
int ks_ioctl_decode(const struct ks_profile *p, uint32_t cmd);
const char *ks_ioctl_name(int id);
uint32_t ks_ioctl_generic_cmd(int id);
uint32_t ks_ioctl_ppc_cmd(int id);

#endif /* KVMSHIM_CORE_PROFILE_H */
