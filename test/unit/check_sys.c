// SPDX-License-Identifier: LGPL-2.1-or-later
/* System-fd ioctls and unknown ioctls (spec: generic.md §2, §6). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/status.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

static const char *const all_profiles[] = { "ppc970", "power7", "power8",
					    "s390x" };

START_TEST(test_api_version)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 0, UNIT_TGID);

	ck_assert_int_eq(unit_ioctl(h, KS_GET_API_VERSION, 0), 12);
	ck_assert_errno(unit_ioctl(h, KS_GET_API_VERSION, 1), EINVAL);
	/* the other encoding of the same ioctl on a ppc profile */
	ck_assert_int_eq(unit_ioctl(h, 0x2000AE00, 0), 12);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_unknown_system_ioctl_is_einval)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *h = unit_open(eng, 0, UNIT_TGID);

	/* Q18: anything else, VM ioctls included, is EINVAL */
	ck_assert_errno(unit_ioctl(h, 0x1234, 0), EINVAL);
	ck_assert_errno(unit_ioctl(h, KS_S390_GET_CMMA_BITS, 0), EINVAL);
	ck_assert_errno(unit_ioctl(h, 0x2000AE00, 0), EINVAL);
	ck_assert_int_eq(unit_ioctl(h, KS_S390_ENABLE_SIE, 0), 0);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_unknown_vm_ioctl_is_enotty)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_ioctl(h, 0x1234, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(h, KS_GET_API_VERSION, 0), ENOTTY);
	/* CMMA ioctls are unknown on a ppc VM; RMA unknown on power8 */
	ck_assert_errno(unit_ioctl(h, KS_S390_GET_CMMA_BITS, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(h, 0x4008AEA9, 0), ENOTTY);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

/* generic.md §4.4, abi.md §1.1: another architecture's numbers */
START_TEST(test_other_arch_numbers)
{
	static const uint32_t ppc_only[] = {
		0xC004AEA7, 0x8010AEAD, 0x4010AEAD, 0x8010AEAE,
		0x4010AEAE, 0x4020AEAA, 0x8020AEAA,
	};
	/* the CMMA and attribute ioctls, both encodings */
	static const uint32_t s390_only[] = {
		0xC020AEB8, 0x4020AEB9, 0x8020AEB9, 0x4018AEE1, 0x8018AEE1,
		0x4018AEE2, 0x8018AEE2, 0x4018AEE3, 0x8018AEE3,
	};
	struct ks_engine *ppc = unit_engine("power7");
	struct ks_engine *s390 = unit_engine("s390x");
	struct ks_handle *psys = unit_open(ppc, 0, UNIT_TGID);
	struct ks_handle *pvm = unit_open(ppc, 1, UNIT_TGID);
	struct ks_handle *ssys = unit_open(s390, 0, UNIT_TGID);
	struct ks_handle *svm = unit_open(s390, 1, UNIT_TGID);
	uint8_t buf[64] = { 0 };
	size_t i;

	for (i = 0; i < sizeof(s390_only) / sizeof(s390_only[0]); i++) {
		ck_assert_errno(unit_ioctl(pvm, s390_only[i], (uintptr_t)buf),
				ENOTTY);
		ck_assert_errno(unit_ioctl(psys, s390_only[i], (uintptr_t)buf),
				EINVAL);
		ck_assert_errno(unit_ioctl(ssys, s390_only[i], (uintptr_t)buf),
				EINVAL);
	}
	/* s390x takes no powerpc encoding, CMMA included */
	ck_assert_errno(unit_ioctl(svm, 0x8020AEB9, (uintptr_t)buf), ENOTTY);
	ck_assert_errno(unit_ioctl(svm, 0x8018AEE3, (uintptr_t)buf), ENOTTY);
	for (i = 0; i < sizeof(ppc_only) / sizeof(ppc_only[0]); i++) {
		ck_assert_errno(unit_ioctl(svm, ppc_only[i], (uintptr_t)buf),
				ENOTTY);
		ck_assert_errno(unit_ioctl(ssys, ppc_only[i], (uintptr_t)buf),
				EINVAL);
		ck_assert_errno(unit_ioctl(psys, ppc_only[i], (uintptr_t)buf),
				EINVAL);
	}
	/* KVM_ALLOCATE_RMA: unknown on s390x in either encoding */
	ck_assert_errno(unit_ioctl(svm, 0x8008AEA9, (uintptr_t)buf), ENOTTY);
	ck_assert_errno(unit_ioctl(svm, 0x4008AEA9, (uintptr_t)buf), ENOTTY);
	/* KVM_S390_ENABLE_SIE is s390x's; on a VM fd it is unknown */
	ck_assert_errno(unit_ioctl(psys, 0x0000AE06, 0), EINVAL);
	ck_assert_errno(unit_ioctl(psys, 0x2000AE06, 0), EINVAL);
	ck_assert_int_eq(unit_ioctl(ssys, 0x0000AE06, 12345), 0);
	ck_assert_errno(unit_ioctl(ssys, 0x2000AE06, 0), EINVAL);
	ck_assert_errno(unit_ioctl(svm, 0x0000AE06, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(pvm, 0x2000AE06, 0), ENOTTY);
	/* system ioctls on a VM fd, KVM_CREATE_VCPU (M6) */
	ck_assert_errno(unit_ioctl(svm, 0x0000AE01, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(pvm, 0x2000AE04, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(pvm, 0x2000AE41, 0), ENOTTY);
	ck_assert_errno(unit_ioctl(svm, 0x0000AE41, 0), ENOTTY);
	ks_release(svm);
	ks_release(ssys);
	ks_release(pvm);
	ks_release(psys);
	ks_engine_free(s390);
	ks_engine_free(ppc);
}
END_TEST

START_TEST(test_vm_caller_check_comes_first)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 1, UNIT_TGID);

	ck_assert_errno(unit_ioctl_as(h, UNIT_TGID + 1, 0x1234, 0), EIO);
	ck_assert_errno(unit_ioctl_as(h, UNIT_TGID + 1, KS_CHECK_EXTENSION, 80),
			EIO);
	/* M4: an invisible caller (tgid 0) is not checked */
	ck_assert_int_eq(unit_ioctl_as(h, 0, KS_CHECK_EXTENSION, 80), 1);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_read_write_on_system_fd_einval)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = unit_open(eng, 0, UNIT_TGID);
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_chunk ch = { 0 };
	char buf[16];

	ck_assert_errno(ks_read(h, buf, sizeof(buf), &ch, &c), EINVAL);
	ck_assert_errno(ks_write(h, buf, sizeof(buf), &ch, &c), EINVAL);
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

/* The private numbers uapi/kvmshim/kvmshim.h defines, listed apart. */
static bool private_defined(uint32_t cmd)
{
	static const uint32_t defined[] = {
		KVMSHIM_WHOAMI,
		KVMSHIM_SET_VCPUS,
		KVMSHIM_GET_VCPUS,
		KVMSHIM_PPC_H_ENTER,
		KVMSHIM_PPC_H_REMOVE,
		KVMSHIM_PPC_H_PROTECT,
		KVMSHIM_PPC_SET_RC,
		KVMSHIM_PPC_READ_ENTRY,
		KVMSHIM_PPC_INSERT_RAW,
		KVMSHIM_PPC_RUN,
		KVMSHIM_PPC_SET_MMU_READY,
		KVMSHIM_PPC_RESIZE_WORKER,
		KVMSHIM_PPC_RESIZE_RELEASE,
		KVMSHIM_PPC_FAIL_ALLOC,
		KVMSHIM_PPC_INFO,
		KVMSHIM_S390_ESSA,
		KVMSHIM_S390_CMMA_INFO,
		KVMSHIM_FD_REQUEST,
		KVMSHIM_BIND,
		KVMSHIM_VM_PROOF,
	};
	size_t i;

	for (i = 0; i < sizeof(defined) / sizeof(defined[0]); i++)
		if (defined[i] == cmd)
			return true;
	return false;
}

START_TEST(test_unknown_private_number_on_system_fd_is_einval)
{
	static const uint32_t dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE,
					 _IOC_READ | _IOC_WRITE };
	static const uint32_t sizes[] = { 0, 4, 8, 16, 24, 32, 40, 72 };
	struct ks_engine *eng = unit_engine(all_profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	uint8_t buf[128] = { 0 };
	uint32_t nr, d, z, cmd;

	/*
	 * Q18: /dev/kvm answers EINVAL to every number it does not know,
	 * whatever the type byte; only the numbers kvmshim defines are
	 * kvmshim's.  A VM fd answers ENOTTY to the same numbers, after
	 * the caller check (generic.md §4.1).
	 */
	for (nr = 0; nr < 256; nr++) {
		for (d = 0; d < 4; d++) {
			for (z = 0; z < 8; z++) {
				cmd = _IOC(dirs[d], KVMSHIM_IO, nr, sizes[z]);
				if (private_defined(cmd))
					continue;
				ck_assert_msg(unit_ioctl(sys, cmd,
							 (uintptr_t)buf) ==
						      -EINVAL,
					      "0x%08x on the system fd", cmd);
				ck_assert_msg(unit_ioctl(vm, cmd,
							 (uintptr_t)buf) ==
						      -ENOTTY,
					      "0x%08x on a VM fd", cmd);
				/* an unknown VM ioctl checks the caller first */
				ck_assert_msg(
					unit_ioctl_as(vm, UNIT_TGID + 1, cmd,
						      (uintptr_t)buf) == -EIO,
					"0x%08x on another's VM fd", cmd);
			}
		}
	}
	/* BIND with a token nobody issued stays ENOTTY (fd-passing.md §3) */
	ck_assert_errno(unit_ioctl(sys, KVMSHIM_BIND, (uintptr_t)buf), ENOTTY);
	ck_assert_int_eq(ks_handle_kind(sys), KS_HANDLE_SYSTEM);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

struct churn {
	struct ks_engine *eng;
	_Atomic bool stop;
};

static void *churn_vms(void *arg)
{
	struct churn *c = arg;
	struct ks_caller caller = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_handle *h;

	while (!atomic_load(&c->stop)) {
		if (ks_open(c->eng, KS_NODE_VM, O_RDWR, &caller, &h) == 0)
			ks_release(h);
	}
	return NULL;
}

/*
 * A status snapshot (kvmshimctl status, the periodic systemd status line)
 * while VMs are destroyed: it must never take hold of a VM whose last
 * reference is being dropped.
 */
START_TEST(test_status_while_vms_die)
{
	struct ks_engine *eng = unit_engine(all_profiles[_i]);
	struct churn c = { .eng = eng };
	struct ks_engine_status st;
	pthread_t th[2];
	int i, t, seen;

	for (t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, churn_vms, &c);
	/* until a good number of snapshots caught VMs alive */
	for (i = 0, seen = 0; i < 2000000 && seen < 20000; i++)
		seen += ks_engine_status(eng, &st, NULL, NULL) != 0;
	atomic_store(&c.stop, true);
	for (t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	ck_assert_uint_eq(ks_engine_status(eng, &st, NULL, NULL), 0);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_sys(void);
Suite *suite_sys(void)
{
	Suite *s = suite_create("sys");
	TCase *tc = tcase_create("system fd");

	tcase_add_test(tc, test_api_version);
	tcase_add_test(tc, test_unknown_system_ioctl_is_einval);
	tcase_add_test(tc, test_unknown_vm_ioctl_is_enotty);
	tcase_add_test(tc, test_other_arch_numbers);
	tcase_add_test(tc, test_vm_caller_check_comes_first);
	tcase_add_test(tc, test_read_write_on_system_fd_einval);
	tcase_add_loop_test(
		tc, test_unknown_private_number_on_system_fd_is_einval, 0, 4);
	tcase_add_loop_test(tc, test_status_while_vms_die, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
