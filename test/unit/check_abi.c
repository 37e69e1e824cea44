// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ioctl numbers in both encodings against the values of the spec's table
 * (abi.md §1.1), so that a powerpc build can never silently differ from an
 * x86-64 one, and the decoding each profile applies to them.
 */
#include "core/profile.h"
#include "unit.h"

struct abi_row {
	int id;
	uint32_t generic;
	uint32_t ppc;
};

static const struct abi_row abi_table[] = {
	{ KS_IOCTL_GET_API_VERSION, 0x0000AE00, 0x2000AE00 },
	{ KS_IOCTL_CREATE_VM, 0x0000AE01, 0x2000AE01 },
	{ KS_IOCTL_CHECK_EXTENSION, 0x0000AE03, 0x2000AE03 },
	{ KS_IOCTL_GET_VCPU_MMAP_SIZE, 0x0000AE04, 0x2000AE04 },
	{ KS_IOCTL_S390_ENABLE_SIE, 0x0000AE06, 0x2000AE06 },
	{ KS_IOCTL_CREATE_VCPU, 0x0000AE41, 0x2000AE41 },
	{ KS_IOCTL_SET_USER_MEMORY_REGION, 0x4020AE46, 0x8020AE46 },
	{ KS_IOCTL_PPC_ALLOCATE_HTAB, 0xC004AEA7, 0xC004AEA7 },
	{ KS_IOCTL_ALLOCATE_RMA, 0x8008AEA9, 0x4008AEA9 },
	{ KS_IOCTL_PPC_GET_HTAB_FD, 0x4020AEAA, 0x8020AEAA },
	{ KS_IOCTL_PPC_RESIZE_HPT_PREPARE, 0x8010AEAD, 0x4010AEAD },
	{ KS_IOCTL_PPC_RESIZE_HPT_COMMIT, 0x8010AEAE, 0x4010AEAE },
	{ KS_IOCTL_S390_GET_CMMA_BITS, 0xC020AEB8, 0xC020AEB8 },
	{ KS_IOCTL_S390_SET_CMMA_BITS, 0x4020AEB9, 0x8020AEB9 },
	{ KS_IOCTL_SET_DEVICE_ATTR, 0x4018AEE1, 0x8018AEE1 },
	{ KS_IOCTL_GET_DEVICE_ATTR, 0x4018AEE2, 0x8018AEE2 },
	{ KS_IOCTL_HAS_DEVICE_ATTR, 0x4018AEE3, 0x8018AEE3 },
};

#define N_ROWS (sizeof(abi_table) / sizeof(abi_table[0]))

START_TEST(test_table_covers_every_ioctl)
{
	ck_assert_int_eq(N_ROWS, KS_IOCTL_COUNT);
}
END_TEST

START_TEST(test_generic_encoding)
{
	const struct abi_row *r = &abi_table[_i];

	ck_assert_msg(ks_ioctl_generic_cmd(r->id) == r->generic,
		      "%s: 0x%08x, expected 0x%08x", ks_ioctl_name(r->id),
		      ks_ioctl_generic_cmd(r->id), r->generic);
}
END_TEST

START_TEST(test_ppc_encoding)
{
	const struct abi_row *r = &abi_table[_i];

	ck_assert_msg(ks_ioctl_ppc_cmd(r->id) == r->ppc,
		      "%s: 0x%08x, expected 0x%08x", ks_ioctl_name(r->id),
		      ks_ioctl_ppc_cmd(r->id), r->ppc);
}
END_TEST

START_TEST(test_native_numbers)
{
#if defined(__powerpc__) || defined(__powerpc64__)
	ck_assert_uint_eq(KS_PPC_GET_HTAB_FD, 0x8020AEAA);
	ck_assert_uint_eq(KS_PPC_RESIZE_HPT_PREPARE, 0x4010AEAD);
	ck_assert_uint_eq(KS_ALLOCATE_RMA, 0x4008AEA9);
#else
	ck_assert_uint_eq(KS_PPC_GET_HTAB_FD, 0x4020AEAA);
	ck_assert_uint_eq(KS_PPC_RESIZE_HPT_PREPARE, 0x8010AEAD);
	ck_assert_uint_eq(KS_ALLOCATE_RMA, 0x8008AEA9);
#endif
	ck_assert_uint_eq(KS_PPC_ALLOCATE_HTAB, 0xC004AEA7);
	ck_assert_uint_eq(KS_GET_API_VERSION & 0xffff, 0xAE00);
}
END_TEST

/* ppc profiles accept both encodings by default; s390x only generic. */
START_TEST(test_decode_profiles)
{
	const struct abi_row *r = &abi_table[_i];
	struct ks_profile ppc, s390, native;

	ck_assert_int_eq(ks_profile_init(&ppc, "power8"), 0);
	ck_assert_int_eq(ks_profile_init(&s390, "s390x"), 0);
	ck_assert_int_eq(ks_profile_init(&native, "power7"), 0);
	native.native_encoding_only = true;

	ck_assert_int_eq(ks_ioctl_decode(&ppc, r->ppc), r->id);
	ck_assert_int_eq(ks_ioctl_decode(&ppc, r->generic), r->id);
	ck_assert_int_eq(ks_ioctl_decode(&native, r->ppc), r->id);
	ck_assert_int_eq(ks_ioctl_decode(&s390, r->generic), r->id);
	if (r->ppc != r->generic) {
		ck_assert_int_eq(ks_ioctl_decode(&s390, r->ppc), -1);
		ck_assert_int_eq(ks_ioctl_decode(&native, r->generic), -1);
	}
}
END_TEST

/* The nr byte identifies the ioctl, so no two ids share a number. */
START_TEST(test_encodings_never_collide)
{
	size_t i, j;

	for (i = 0; i < N_ROWS; i++)
		for (j = 0; j < N_ROWS; j++)
			if (i != j) {
				ck_assert_uint_ne(abi_table[i].generic,
						  abi_table[j].ppc);
				ck_assert_uint_ne(abi_table[i].generic,
						  abi_table[j].generic);
			}
}
END_TEST

START_TEST(test_decode_rejects_neighbours)
{
	struct ks_profile p;

	ck_assert_int_eq(ks_profile_init(&p, "power8"), 0);
	/* right nr, wrong size or direction: unknown */
	ck_assert_int_eq(ks_ioctl_decode(&p, 0xC008AEA7), -1);
	ck_assert_int_eq(ks_ioctl_decode(&p, 0x4004AEA7), -1);
	ck_assert_int_eq(ks_ioctl_decode(&p, 0x0000AF00), -1);
}
END_TEST

/*
 * abi.md §1.2: the full number decides.  Every direction and size that
 * goes with a KVM nr byte is unknown, except the encodings the profile
 * accepts for that ioctl.
 */
START_TEST(test_decode_every_dir_and_size)
{
	static const char *const names[] = { "power8", "power7", "s390x" };
	struct ks_profile p;
	size_t r;
	uint32_t hi, cmd;
	int want;

	ck_assert_int_eq(ks_profile_init(&p, names[_i % 3]), 0);
	p.native_encoding_only = _i >= 3;
	for (r = 0; r < N_ROWS; r++) {
		const struct abi_row *row = &abi_table[r];
		bool ppc = _i % 3 != 2;
		bool generic = !ppc || !p.native_encoding_only;

		for (hi = 0; hi <= 0xffff; hi++) {
			cmd = hi << 16 | 0xAE00 | (row->generic & 0xff);
			want = (ppc && cmd == row->ppc) ||
					       (generic &&
						cmd == row->generic) ?
				       row->id :
				       -1;
			if (ks_ioctl_decode(&p, cmd) != want)
				ck_abort_msg(
					"%s%s: 0x%08X decodes to %d, not %d",
					names[_i % 3], _i >= 3 ? " native" : "",
					cmd, ks_ioctl_decode(&p, cmd), want);
		}
	}
}
END_TEST

Suite *suite_abi(void);
Suite *suite_abi(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("ioctl numbers");

	tcase_add_test(tc, test_table_covers_every_ioctl);
	tcase_add_loop_test(tc, test_generic_encoding, 0, N_ROWS);
	tcase_add_loop_test(tc, test_ppc_encoding, 0, N_ROWS);
	tcase_add_test(tc, test_native_numbers);
	tcase_add_loop_test(tc, test_decode_profiles, 0, N_ROWS);
	tcase_add_test(tc, test_encodings_never_collide);
	tcase_add_test(tc, test_decode_rejects_neighbours);
	tcase_add_loop_test(tc, test_decode_every_dir_and_size, 0, 6);
	suite_add_tcase(s, tc);
	return s;
}
