// SPDX-License-Identifier: LGPL-2.1-or-later
/* System-fd ioctls and unknown ioctls (spec: generic.md §2, §6). */
#include <errno.h>

#include "unit.h"

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

Suite *suite_sys(void);
Suite *suite_sys(void)
{
	Suite *s = suite_create("sys");
	TCase *tc = tcase_create("system fd");

	tcase_add_test(tc, test_api_version);
	tcase_add_test(tc, test_unknown_system_ioctl_is_einval);
	tcase_add_test(tc, test_unknown_vm_ioctl_is_enotty);
	tcase_add_test(tc, test_vm_caller_check_comes_first);
	tcase_add_test(tc, test_read_write_on_system_fd_einval);
	suite_add_tcase(s, tc);
	return s;
}
