// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What fuzzers send through the node (spec: clients.md §6, generic.md,
 * cuse.md §3, §7): ioctls that Linux refuses without looking at their
 * argument must be refused in the first round, before any RETRY could turn
 * a bad pointer into EFAULT; every request gets exactly one answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check_htab.h"
#include "cuse/xfer.h"
#include "fakekernel.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

static const uint32_t vm_cmds[] = {
	KS_CREATE_VCPU,		  KS_SET_USER_MEMORY_REGION,
	KS_PPC_ALLOCATE_HTAB,	  KS_ALLOCATE_RMA,
	KS_PPC_GET_HTAB_FD,	  KS_PPC_RESIZE_HPT_PREPARE,
	KS_PPC_RESIZE_HPT_COMMIT, KS_S390_GET_CMMA_BITS,
	KS_S390_SET_CMMA_BITS,	  KS_SET_DEVICE_ATTR,
	KS_GET_DEVICE_ATTR,	  KS_HAS_DEVICE_ATTR,
};

#define N_CMDS (sizeof(vm_cmds) / sizeof(vm_cmds[0]))

static uint8_t bad_page[8192] __attribute__((aligned(4096)));

static void system_refuses(const char *profile)
{
	struct ks_engine *eng = unit_engine(profile);
	struct fk *k = fk_new(eng, KS_NODE_SYSTEM, NULL);
	const uint64_t args[] = { 0,
				  1,
				  (uintptr_t)bad_page,
				  (uintptr_t)bad_page + 4095,
				  1ULL << 47,
				  1ULL << 63,
				  ~0ULL,
				  ~0ULL - 15 };
	struct fk_ioctl io;
	unsigned int i, j;
	uint64_t fh;

	ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
	fk_fault(k, bad_page, sizeof(bad_page));
	for (i = 0; i < N_CMDS; i++) {
		for (j = 0; j < sizeof(args) / sizeof(args[0]); j++) {
			memset(&io, 0, sizeof(io));
			io.fh = fh;
			io.pid = fk_gettid();
			io.cmd = vm_cmds[i];
			io.arg = args[j];
			/* Linux's kvm_arch_dev_ioctl(): EINVAL, arg unread */
			ck_assert_msg(fk_ioctl_ex(k, &io) == -EINVAL,
				      "%s: 0x%08x arg 0x%llx", profile,
				      vm_cmds[i], (unsigned long long)args[j]);
			ck_assert_uint_eq(io.rounds, 1);
		}
	}
	fk_unfault_all(k);
	ck_assert_int_eq(fk_release(k, fh), 0);
	ck_assert_uint_eq(fk_free(k), 0);
	ks_engine_free(eng);
}

START_TEST(test_vm_ioctls_on_the_system_node)
{
	system_refuses("power8");
	system_refuses("ppc970");
	system_refuses("s390x");
}
END_TEST

/*
 * Another profile's ioctls on a VM node: ENOTTY (Q18) whatever the
 * argument, in one round.
 */
START_TEST(test_foreign_ioctls_on_a_vm_node)
{
	static const struct {
		const char *profile;
		uint32_t cmd;
	} cases[] = {
		{ "power8", KS_S390_GET_CMMA_BITS },
		{ "power8", KS_S390_SET_CMMA_BITS },
		{ "power8", KS_SET_DEVICE_ATTR },
		{ "power8", KS_GET_DEVICE_ATTR },
		{ "power8", KS_HAS_DEVICE_ATTR },
		{ "power8", KS_ALLOCATE_RMA },
		{ "s390x", KS_PPC_ALLOCATE_HTAB },
		{ "s390x", KS_PPC_GET_HTAB_FD },
		{ "s390x", KS_PPC_RESIZE_HPT_PREPARE },
		{ "s390x", KS_PPC_RESIZE_HPT_COMMIT },
		{ "s390x", KS_ALLOCATE_RMA },
	};
	struct fk_ioctl io;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ks_engine *eng = unit_engine(cases[i].profile);
		struct fk *k = fk_new(eng, KS_NODE_VM, NULL);
		uint64_t fh;

		ck_assert_int_eq(fk_open(k, fk_gettid(), O_RDWR, &fh), 0);
		fk_fault(k, bad_page, sizeof(bad_page));
		memset(&io, 0, sizeof(io));
		io.fh = fh;
		io.pid = fk_gettid();
		io.cmd = cases[i].cmd;
		io.arg = (uintptr_t)bad_page;
		ck_assert_msg(fk_ioctl_ex(k, &io) == -ENOTTY, "%s 0x%08x",
			      cases[i].profile, cases[i].cmd);
		ck_assert_uint_eq(io.rounds, 1);
		fk_unfault_all(k);
		ck_assert_int_eq(fk_release(k, fh), 0);
		ck_assert_uint_eq(fk_free(k), 0);
		ks_engine_free(eng);
	}
}
END_TEST

/*
 * An HTAB stream has no ioctl operation in Linux: every KVM ioctl on it is
 * ENOTTY in the first round, and the stream still works afterwards.  It is
 * opened with the flags the kernel really passes (O_LARGEFILE, O_CLOEXEC)
 * and O_NONBLOCK, which change nothing.
 */
START_TEST(test_ioctls_on_a_stream)
{
	struct ks_engine *eng = unit_engine("power8");
	struct fk *sys = fk_new(eng, KS_NODE_SYSTEM, NULL);
	struct fk *vmk = fk_new(eng, KS_NODE_VM, NULL);
	struct kvmshim_fd_request req;
	pid_t me = fk_gettid();
	uint64_t vmfh, fh;
	uint32_t order = 18;
	struct fk_ioctl io;
	uint8_t buf[64];
	unsigned int i;

	ck_assert_int_eq(fk_open(vmk, me, O_RDWR, &vmfh), 0);
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, me, KS_PPC_ALLOCATE_HTAB,
				  (uintptr_t)&order),
			 0);
	htab_fd_request_init(&req, 0, 0);
	ck_assert_int_eq(fk_ioctl(vmk, vmfh, me, KVMSHIM_FD_REQUEST,
				  (uintptr_t)&req),
			 0);
	/* the flags FUSE_OPEN carries for the launcher's open; O_NONBLOCK
	 * is ignored (cuse.md §2) */
	fh = htab_fk_bind(sys, 0, req.token,
			  O_NONBLOCK | O_LARGEFILE | O_CLOEXEC);
	fk_fault(sys, bad_page, sizeof(bad_page));
	for (i = 0; i < N_CMDS + 3; i++) {
		memset(&io, 0, sizeof(io));
		io.fh = fh;
		io.pid = me;
		io.cmd = i < N_CMDS	 ? vm_cmds[i] :
			 i == N_CMDS	 ? KS_GET_API_VERSION :
			 i == N_CMDS + 1 ? KS_CHECK_EXTENSION :
					   KS_CREATE_VM;
		io.arg = (uintptr_t)bad_page;
		ck_assert_msg(fk_ioctl_ex(sys, &io) == -ENOTTY, "0x%08x",
			      io.cmd);
		ck_assert_uint_eq(io.rounds, 1);
	}
	fk_unfault_all(sys);
	/* the first pass starts at index 0: one invalid run of 16384 */
	ck_assert_int_eq(fk_read(sys, fh, me, buf, sizeof(buf)), 8);
	ck_assert_uint_eq(buf[0] | buf[1] << 8, 0);
	ck_assert_uint_eq(buf[4] | buf[5] << 8, 0);
	ck_assert_uint_eq(buf[6] | buf[7] << 8, 16384);
	ck_assert_int_eq(fk_release(sys, fh), 0);
	ck_assert_int_eq(fk_release(vmk, vmfh), 0);
	ck_assert_uint_eq(fk_free(sys), 0);
	ck_assert_uint_eq(fk_free(vmk), 0);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_cuse_hostile(void);
Suite *suite_cuse_hostile(void)
{
	Suite *s = suite_create("cuse_hostile");
	TCase *tc = tcase_create("first_round");

	tcase_add_test(tc, test_vm_ioctls_on_the_system_node);
	tcase_add_test(tc, test_foreign_ioctls_on_a_vm_node);
	tcase_add_test(tc, test_ioctls_on_a_stream);
	suite_add_tcase(s, tc);
	return s;
}
