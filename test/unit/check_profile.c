// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Machine profiles: every capability of every profile on the system and
 * the VM handle (spec: generic.md §5), --cap overrides, the system ioctls
 * and the KVM_CREATE_VM type rules of each architecture (§2, §3).
 */
#include <errno.h>
#include <stdio.h>

#include "core/profile.h"
#include "unit.h"

/* The spec's table, written out independently of core/profile.c. */
struct cap_row {
	uint32_t nr;
	long value[4]; /* ppc970, power7, power8, s390x */
};

static const struct cap_row spec_caps[] = {
	{ 3, { 1, 1, 1, 1 } }, /* USER_MEMORY */
	{ 10, { 32767, 32767, 32767, 32766 } }, /* NR_MEMSLOTS */
	{ 57, { 0, 0, 0, 0 } }, /* PPC_GET_PVINFO */
	{ 65, { 2, 1, 0, 0 } }, /* PPC_RMA */
	{ 74, { 0, 0, 0, 0 } }, /* SYNC_REGS */
	{ 79, { 0, 0, 0, 0 } }, /* S390_COW */
	{ 80, { 1, 1, 1, 0 } }, /* PPC_ALLOC_HTAB */
	{ 84, { 1, 1, 1, 0 } }, /* PPC_HTAB_FD */
	{ 89, { 0, 0, 0, 0 } }, /* DEVICE_CTRL (M8) */
	{ 101, { 0, 0, 0, 1 } }, /* VM_ATTRIBUTES */
	{ 105, { 1, 1, 1, 1 } }, /* CHECK_EXTENSION_VM */
	{ 133, { 1, 1, 1, 0 } }, /* SPAPR_RESIZE_HPT */
	{ 134, { 0, 0, 0, 0 } }, /* PPC_MMU_RADIX */
	{ 135, { 0, 0, 0, 0 } }, /* PPC_MMU_HASH_V3 */
	{ 145, { 0, 0, 0, 1 } }, /* S390_CMMA_MIGRATION */
	{ 156, { 0, 0, 0, 0 } }, /* S390_HPAGE_1M */
};

static const char *const profiles[] = { "ppc970", "power7", "power8", "s390x" };

#define N_CAPS (sizeof(spec_caps) / sizeof(spec_caps[0]))

static long spec_value(int profile, uint64_t cap)
{
	size_t i;

	for (i = 0; i < N_CAPS; i++)
		if (spec_caps[i].nr == cap)
			return spec_caps[i].value[profile];
	return 0;
}

/* CHECK_EXTENSION in every encoding the profile accepts */
static void check_caps_on(struct ks_handle *h, int profile)
{
	static const uint64_t odd[] = {
		1ULL << 32, (1ULL << 32) | 65, (1ULL << 32) | 3, ~0ULL, 256,
		4096
	};
	uint32_t cmds[2] = { 0x0000AE03, 0x2000AE03 };
	int n_cmds = profile == 3 ? 1 : 2;
	uint64_t cap;
	size_t i;
	int c;

	for (c = 0; c < n_cmds; c++) {
		for (cap = 0; cap < 300; cap++)
			ck_assert_msg(unit_ioctl(h, cmds[c], cap) ==
					      spec_value(profile, cap),
				      "%s cap %u: %ld, expected %ld",
				      profiles[profile], (unsigned)cap,
				      unit_ioctl(h, cmds[c], cap),
				      spec_value(profile, cap));
		/* the whole unsigned long is the cap number */
		for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
			ck_assert_int_eq(unit_ioctl(h, cmds[c], odd[i]), 0);
	}
}

START_TEST(test_cap_table_system_and_vm)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);

	check_caps_on(sys, _i);
	check_caps_on(vm, _i);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_s390_refuses_ppc_encoding)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);

	/* the powerpc encoding of CHECK_EXTENSION is unknown on s390x */
	ck_assert_errno(unit_ioctl(sys, 0x2000AE03, 3), EINVAL);
	ck_assert_errno(unit_ioctl(vm, 0x2000AE03, 3), ENOTTY);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_native_encoding_only)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.profile.native_encoding_only = true;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	ck_assert_int_eq(unit_ioctl(sys, 0x2000AE03, 84), 1);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE03, 84), EINVAL);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_unknown_profile)
{
	struct ks_profile p;
	struct ks_engine_config cfg;

	ck_assert_errno(ks_profile_init(&p, "power9"), EINVAL);
	ck_assert_errno(ks_profile_init(&p, "PPC970"), EINVAL);
	ck_assert_errno(ks_profile_init(&p, ""), EINVAL);
	ck_assert_errno(ks_engine_config_init(&cfg, "x86"), EINVAL);
	ck_assert_int_eq(ks_profile_init(&p, "ppc970"), 0);
	ck_assert_int_eq(p.id, KS_PROFILE_PPC970);
	ck_assert(p.has_rma);
	ck_assert_int_eq(ks_profile_init(&p, "power7"), 0);
	ck_assert(p.has_rma);
	ck_assert_int_eq(ks_profile_init(&p, "power8"), 0);
	ck_assert(!p.has_rma);
	ck_assert_int_eq(p.arch, KS_ARCH_PPC);
	ck_assert_int_eq(ks_profile_init(&p, "s390x"), 0);
	ck_assert(!p.has_rma);
	ck_assert_int_eq(p.arch, KS_ARCH_S390);
}
END_TEST

START_TEST(test_profile_names)
{
	const char *const *n = ks_profile_names();
	size_t i;

	for (i = 0; i < 4; i++)
		ck_assert_str_eq(n[i], profiles[i]);
	ck_assert_ptr_null(n[4]);
}
END_TEST

START_TEST(test_set_cap_names_and_numbers)
{
	struct ks_profile p;

	ck_assert_int_eq(ks_profile_init(&p, "power8"), 0);
	ck_assert_int_eq(ks_profile_set_cap(&p, "PPC_RMA=1"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 65), 1);
	ck_assert_int_eq(ks_profile_set_cap(&p, "KVM_CAP_PPC_RMA=2"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 65), 2);
	ck_assert_int_eq(ks_profile_set_cap(&p, "cap_ppc_htab_fd=0"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 84), 0);
	ck_assert_int_eq(ks_profile_set_cap(&p, "133=7"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 133), 7);
	ck_assert_int_eq(ks_profile_set_cap(&p, "0x41=0x10"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 65), 16);
	/* a capability kvmshim has no name for, by number */
	ck_assert_int_eq(ks_profile_set_cap(&p, "200=5"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 200), 5);
	ck_assert_int_eq(ks_profile_set_cap(&p, "NR_MEMSLOTS=2147483647"), 0);
	ck_assert_int_eq(ks_profile_cap(&p, 10), 2147483647);
	ck_assert_str_eq(ks_cap_name(65), "PPC_RMA");
	ck_assert_ptr_null(ks_cap_name(200));
}
END_TEST

START_TEST(test_set_cap_rejects)
{
	static const char *const bad[] = {
		"FOO=1",      "PPC_RMA",
		"=1",	      "65=",
		"65=-1",      "65=abc",
		"256=1",      "65=2147483648",
		"PPC_RMA=1x", "KVM_=1",
		"KVM_CAP_=1", "-1=1",
		"65 =1",      "CAP_CAP_PPC_RMA=1",
	};
	struct ks_profile p, ref;
	size_t i;

	ck_assert_int_eq(ks_profile_init(&p, "ppc970"), 0);
	ref = p;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ks_profile_set_cap(&p, bad[i]) == -EINVAL,
			      "accepted '%s'", bad[i]);
	/* nothing changed */
	for (i = 0; i <= KS_CAP_MAX; i++)
		ck_assert_int_eq(p.caps[i], ref.caps[i]);
}
END_TEST

START_TEST(test_cap_override_on_both_handles)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys, *vm;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "s390x"), 0);
	ck_assert_int_eq(ks_profile_set_cap(&cfg.profile, "S390_COW=1"), 0);
	ck_assert_int_eq(ks_profile_set_cap(&cfg.profile, "145=0"), 0);
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	vm = unit_open(eng, 1, UNIT_TGID);
	ck_assert_int_eq(unit_ioctl(sys, KS_CHECK_EXTENSION, 79), 1);
	ck_assert_int_eq(unit_ioctl(vm, KS_CHECK_EXTENSION, 79), 1);
	ck_assert_int_eq(unit_ioctl(sys, KS_CHECK_EXTENSION, 145), 0);
	ck_assert_int_eq(unit_ioctl(vm, KS_CHECK_EXTENSION, 145), 0);
	ck_assert_int_eq(unit_ioctl(vm, KS_CHECK_EXTENSION, 101), 1);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_vcpu_mmap_size)
{
	static const long want[] = { 131072, 131072, 131072, 4096 };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);

	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE04, 0), want[_i]);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE04, 1), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE04, 1ULL << 32), EINVAL);
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE00, 0), 12);
	if (_i != 3) {
		ck_assert_int_eq(unit_ioctl(sys, 0x2000AE04, 0), want[_i]);
		ck_assert_int_eq(unit_ioctl(sys, 0x2000AE00, 0), 12);
		ck_assert_errno(unit_ioctl(sys, 0x2000AE00, 5), EINVAL);
	}
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_enable_sie)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);

	if (_i == 3) {
		/* s390x: always 0, whatever the argument */
		ck_assert_int_eq(unit_ioctl(sys, 0x0000AE06, 0), 0);
		ck_assert_int_eq(unit_ioctl(sys, 0x0000AE06, 99), 0);
	} else {
		ck_assert_errno(unit_ioctl(sys, 0x0000AE06, 0), EINVAL);
		ck_assert_errno(unit_ioctl(sys, 0x2000AE06, 0), EINVAL);
	}
	/* a system ioctl on a VM fd is unknown there */
	ck_assert_errno(unit_ioctl(vm, 0x0000AE06, 0), ENOTTY);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* KVM_CREATE_VM type rules, without the launcher (D6) */
START_TEST(test_create_vm_types)
{
	static const uint64_t ppc_bad[] = { 2,	  3,	      4,
					    0xff, 1ULL << 32, (1ULL << 32) | 1,
					    ~0ULL };
	static const uint64_t s390_bad[] = { 1, 2, 3, 1ULL << 32, ~0ULL };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	const uint64_t *bad = _i == 3 ? s390_bad : ppc_bad;
	size_t n_bad = _i == 3 ? 5 : 7, i;

	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 0), EOPNOTSUPP);
	if (_i == 3) {
		ck_assert_errno(unit_ioctl(sys, 0x2000AE01, 0), EINVAL);
	} else {
		ck_assert_errno(unit_ioctl(sys, 0x0000AE01, KS_VM_PPC_HV),
				EOPNOTSUPP);
		ck_assert_errno(unit_ioctl(sys, 0x2000AE01, KS_VM_PPC_HV),
				EOPNOTSUPP);
		ck_assert_errno(unit_ioctl(sys, 0x2000AE01, 0), EOPNOTSUPP);
	}
	for (i = 0; i < n_bad; i++)
		ck_assert_errno(unit_ioctl(sys, 0x0000AE01, bad[i]), EINVAL);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_no_launcher_errno_is_configurable)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power8"), 0);
	cfg.no_launcher_errno = EPERM;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	ck_assert_errno(unit_ioctl(sys, KS_CREATE_VM, 0), EPERM);
	ck_assert_errno(unit_ioctl(sys, KS_CREATE_VM, 2), EINVAL);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* rma.md §1: KVM_ALLOCATE_RMA by profile and fd */
START_TEST(test_allocate_rma_by_profile)
{
	/* plain ioctl on a VM fd: ppc970 has entries, power7 an empty pool */
	static const long vm_want[] = { -EOPNOTSUPP, -ENOMEM, -ENOTTY,
					-ENOTTY };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	uint64_t size = 0x5555;

	ck_assert_errno(unit_ioctl(sys, 0x8008AEA9, (uintptr_t)&size), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x4008AEA9, (uintptr_t)&size), EINVAL);
	ck_assert_int_eq(unit_ioctl(vm, 0x8008AEA9, (uintptr_t)&size),
			 vm_want[_i]);
	if (_i != 3)
		ck_assert_int_eq(unit_ioctl(vm, 0x4008AEA9, (uintptr_t)&size),
				 vm_want[_i]);
	else
		ck_assert_errno(unit_ioctl(vm, 0x4008AEA9, (uintptr_t)&size),
				ENOTTY);
	/* EIO first, on every profile */
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x8008AEA9,
				      (uintptr_t)&size),
			EIO);
	/* rma_size is written only with an fd */
	ck_assert_int_eq(size, 0x5555);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_profile(void);
Suite *suite_profile(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("profiles");

	tcase_add_loop_test(tc, test_cap_table_system_and_vm, 0, 4);
	tcase_add_test(tc, test_s390_refuses_ppc_encoding);
	tcase_add_test(tc, test_native_encoding_only);
	tcase_add_test(tc, test_unknown_profile);
	tcase_add_test(tc, test_profile_names);
	tcase_add_test(tc, test_set_cap_names_and_numbers);
	tcase_add_test(tc, test_set_cap_rejects);
	tcase_add_test(tc, test_cap_override_on_both_handles);
	tcase_add_loop_test(tc, test_vcpu_mmap_size, 0, 4);
	tcase_add_loop_test(tc, test_enable_sie, 0, 4);
	tcase_add_loop_test(tc, test_create_vm_types, 0, 4);
	tcase_add_test(tc, test_no_launcher_errno_is_configurable);
	tcase_add_loop_test(tc, test_allocate_rma_by_profile, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
