// SPDX-License-Identifier: LGPL-2.1-or-later
/* The Check runner: every suite, one summary line at the end. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "core/uaccess.h"
#include "kvmshim/kvm.h"
#include "unit.h"

#define KS_SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef KS_SUITE

struct ks_engine *unit_engine(const char *profile)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, profile), 0);
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	return eng;
}

long unit_ioctl_as(struct ks_handle *h, pid_t tgid, uint32_t cmd, uint64_t arg)
{
	struct ks_uctx_direct d;

	ks_uctx_direct_init(&d, tgid);
	return ks_ioctl(h, cmd, arg, &d.u);
}

long unit_ioctl(struct ks_handle *h, uint32_t cmd, uint64_t arg)
{
	return unit_ioctl_as(h, UNIT_TGID, cmd, arg);
}

struct ks_handle *unit_open(struct ks_engine *eng, int vm, pid_t tgid)
{
	struct ks_caller c = { .tid = tgid, .tgid = tgid };
	struct ks_handle *h = NULL;

	ck_assert_int_eq(ks_open(eng, vm ? KS_NODE_VM : KS_NODE_SYSTEM, O_RDWR,
				 &c, &h),
			 0);
	return h;
}

long unit_region(struct ks_handle *h, uint32_t slot, uint32_t flags,
		 uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct ks_userspace_memory_region m = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = uaddr,
	};

	return unit_ioctl(h, KS_SET_USER_MEMORY_REGION, (uintptr_t)&m);
}

int main(int argc, char **argv)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define KS_SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef KS_SUITE
	/* "make check-unit T=suite" runs one suite */
	if (argc > 1)
		setenv("CK_RUN_SUITE", argv[1], 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
