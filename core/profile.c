// SPDX-License-Identifier: LGPL-2.1-or-later
/* Profiles, their capability tables (spec: generic.md §5), ioctl decoding. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "profile.h"

struct ks_cap_entry {
	uint32_t nr;
	const char *name;
	/* values for ppc970, power7, power8, s390x */
	int64_t value[4];
};

static const struct ks_cap_entry cap_table[] = {
	{ KS_CAP_USER_MEMORY, "USER_MEMORY", { 1, 1, 1, 1 } },
	{ KS_CAP_NR_MEMSLOTS, "NR_MEMSLOTS", { 32767, 32767, 32767, 32766 } },
	{ KS_CAP_PPC_GET_PVINFO, "PPC_GET_PVINFO", { 0, 0, 0, 0 } },
	{ KS_CAP_PPC_RMA, "PPC_RMA", { 2, 1, 0, 0 } },
	{ KS_CAP_SYNC_REGS, "SYNC_REGS", { 0, 0, 0, 0 } },
	{ KS_CAP_S390_COW, "S390_COW", { 0, 0, 0, 0 } },
	{ KS_CAP_PPC_ALLOC_HTAB, "PPC_ALLOC_HTAB", { 1, 1, 1, 0 } },
	{ KS_CAP_PPC_HTAB_FD, "PPC_HTAB_FD", { 1, 1, 1, 0 } },
	{ KS_CAP_DEVICE_CTRL, "DEVICE_CTRL", { 0, 0, 0, 0 } },
	{ KS_CAP_VM_ATTRIBUTES, "VM_ATTRIBUTES", { 0, 0, 0, 1 } },
	{ KS_CAP_CHECK_EXTENSION_VM, "CHECK_EXTENSION_VM", { 1, 1, 1, 1 } },
	{ KS_CAP_SPAPR_RESIZE_HPT, "SPAPR_RESIZE_HPT", { 1, 1, 1, 0 } },
	{ KS_CAP_PPC_MMU_RADIX, "PPC_MMU_RADIX", { 0, 0, 0, 0 } },
	{ KS_CAP_PPC_MMU_HASH_V3, "PPC_MMU_HASH_V3", { 0, 0, 0, 0 } },
	{ KS_CAP_S390_CMMA_MIGRATION, "S390_CMMA_MIGRATION", { 0, 0, 0, 1 } },
	{ KS_CAP_S390_HPAGE_1M, "S390_HPAGE_1M", { 0, 0, 0, 0 } },
};

struct ks_profile_def {
	const char *name;
	enum ks_arch arch;
	bool has_rma;
	uint64_t host_page_size;
	uint32_t user_mem_slots;
	uint64_t vcpu_mmap_size;
};

static const struct ks_profile_def profile_defs[] = {
	[KS_PROFILE_PPC970] = { "ppc970", KS_ARCH_PPC, true, 65536, 32767,
				131072 },
	[KS_PROFILE_POWER7] = { "power7", KS_ARCH_PPC, true, 65536, 32767,
				131072 },
	[KS_PROFILE_POWER8] = { "power8", KS_ARCH_PPC, false, 65536, 32767,
				131072 },
	[KS_PROFILE_S390X] = { "s390x", KS_ARCH_S390, false, 4096, 32766,
			       4096 },
};

static const char *const profile_names[] = { "ppc970", "power7", "power8",
					     "s390x", NULL };

const char *const *ks_profile_names(void)
{
	return profile_names;
}

int ks_profile_init(struct ks_profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(profile_defs) / sizeof(profile_defs[0]); i++) {
		const struct ks_profile_def *d = &profile_defs[i];
		size_t c;

		if (strcmp(d->name, name))
			continue;
		memset(p, 0, sizeof(*p));
		p->id = (enum ks_profile_id)i;
		p->name = d->name;
		p->arch = d->arch;
		p->has_rma = d->has_rma;
		p->host_page_size = d->host_page_size;
		p->user_mem_slots = d->user_mem_slots;
		p->vcpu_mmap_size = d->vcpu_mmap_size;
		for (c = 0; c < sizeof(cap_table) / sizeof(cap_table[0]); c++)
			p->caps[cap_table[c].nr] = cap_table[c].value[i];
		return 0;
	}
	return -EINVAL;
}

const char *ks_cap_name(uint32_t cap)
{
	size_t c;

	for (c = 0; c < sizeof(cap_table) / sizeof(cap_table[0]); c++)
		if (cap_table[c].nr == cap)
			return cap_table[c].name;
	return NULL;
}

static int parse_cap_number(const char *name, size_t len, uint32_t *nr)
{
	char buf[64];
	char *end;
	unsigned long v;
	size_t c;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (!strncasecmp(buf, "KVM_", 4))
		memmove(buf, buf + 4, len - 3);
	if (!strncasecmp(buf, "CAP_", 4))
		memmove(buf, buf + 4, strlen(buf) - 3);
	for (c = 0; c < sizeof(cap_table) / sizeof(cap_table[0]); c++) {
		if (!strcasecmp(buf, cap_table[c].name)) {
			*nr = cap_table[c].nr;
			return 0;
		}
	}
	errno = 0;
	v = strtoul(buf, &end, 0);
	if (errno || *end || end == buf || v > KS_CAP_MAX)
		return -EINVAL;
	*nr = (uint32_t)v;
	return 0;
}

int ks_profile_set_cap(struct ks_profile *p, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	char *end;
	long long v;
	uint32_t nr;

	if (!eq || parse_cap_number(assignment, eq - assignment, &nr))
		return -EINVAL;
	errno = 0;
	v = strtoll(eq + 1, &end, 0);
	/* KVM_CHECK_EXTENSION returns an int; clients treat < 0 as absent */
	if (errno || *end || end == eq + 1 || v < 0 || v > INT32_MAX)
		return -EINVAL;
	p->caps[nr] = v;
	return 0;
}

int64_t ks_profile_cap(const struct ks_profile *p, uint64_t cap)
{
	if (cap > KS_CAP_MAX)
		return 0;
	return p->caps[cap];
}

struct ks_ioctl_desc {
	const char *name;
	uint32_t generic;
	uint32_t ppc;
};

static const struct ks_ioctl_desc ioctl_descs[KS_IOCTL_COUNT] = {
#define KS_X(name, dir, nr, size)                                              \
	[KS_IOCTL_##name] = { "KVM_" #name,                                    \
			      KS_IOC_GENERIC(KS_DIR_##dir, nr, size),          \
			      KS_IOC_PPC(KS_DIR_##dir, nr, size) },
	KS_KVM_IOCTLS(KS_X)
#undef KS_X
};

/* ioctl id + 1 by nr byte (0: no KVM ioctl has that nr) */
static const unsigned char ioctl_by_nr[256] = {
#define KS_X(name, dir, nr, size) [nr] = KS_IOCTL_##name + 1,
	KS_KVM_IOCTLS(KS_X)
#undef KS_X
};

int ks_ioctl_decode(const struct ks_profile *p, uint32_t cmd)
{
	bool generic = p->arch == KS_ARCH_S390 || !p->native_encoding_only;
	bool ppc = p->arch == KS_ARCH_PPC;
	int id = (int)ioctl_by_nr[cmd & 0xff] - 1;

	/* the nr byte names the ioctl; the full number must match too */
	if (id < 0 || (cmd >> 8 & 0xff) != KS_KVMIO)
		return -1;
	if (ppc && cmd == ioctl_descs[id].ppc)
		return id;
	if (generic && cmd == ioctl_descs[id].generic)
		return id;
	return -1;
}

const char *ks_ioctl_name(int id)
{
	if (id < 0 || id >= KS_IOCTL_COUNT)
		return NULL;
	return ioctl_descs[id].name;
}

uint32_t ks_ioctl_generic_cmd(int id)
{
	return ioctl_descs[id].generic;
}

uint32_t ks_ioctl_ppc_cmd(int id)
{
	return ioctl_descs[id].ppc;
}
