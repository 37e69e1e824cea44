// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Generic ioctls, ABI layout and KVM_ALLOCATE_RMA derived from the spec's
 * text alone (generic.md, abi.md, rma.md): numbers computed from their
 * _IO/_IOR/_IOW/_IOWR declarations, struct offsets, and the state after
 * failing calls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/engine.h"
#include "core/log.h"
#include "core/uaccess.h"
#include "core/status.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

/* abi.md §1: the two encodings, written from the field tables */
static uint32_t enc_generic(unsigned int dir, uint32_t nr, uint32_t size)
{
	/* dir: 0 none, 1 write, 2 read, 3 read+write */
	return (dir << 30) | (size << 16) | (0xAEu << 8) | nr;
}

static uint32_t enc_ppc(unsigned int dir, uint32_t nr, uint32_t size)
{
	static const uint32_t ppc_dir[] = { 1, 4, 2, 6 };

	return (ppc_dir[dir] << 29) | (size << 16) | (0xAEu << 8) | nr;
}

enum { D_NONE, D_W, D_R, D_RW };

struct decl {
	const char *name;
	unsigned int dir;
	uint32_t nr, size;
	uint32_t generic, ppc; /* the spec's table values */
};

static const struct decl decls[] = {
	{ "GET_API_VERSION", D_NONE, 0x00, 0, 0x0000AE00, 0x2000AE00 },
	{ "CREATE_VM", D_NONE, 0x01, 0, 0x0000AE01, 0x2000AE01 },
	{ "CHECK_EXTENSION", D_NONE, 0x03, 0, 0x0000AE03, 0x2000AE03 },
	{ "GET_VCPU_MMAP_SIZE", D_NONE, 0x04, 0, 0x0000AE04, 0x2000AE04 },
	{ "S390_ENABLE_SIE", D_NONE, 0x06, 0, 0x0000AE06, 0 },
	{ "CREATE_VCPU", D_NONE, 0x41, 0, 0x0000AE41, 0x2000AE41 },
	{ "SET_USER_MEMORY_REGION", D_W, 0x46, 32, 0x4020AE46, 0x8020AE46 },
	{ "PPC_ALLOCATE_HTAB", D_RW, 0xa7, 4, 0xC004AEA7, 0xC004AEA7 },
	{ "ALLOCATE_RMA", D_R, 0xa9, 8, 0x8008AEA9, 0x4008AEA9 },
	{ "PPC_GET_HTAB_FD", D_W, 0xaa, 32, 0x4020AEAA, 0x8020AEAA },
	{ "RESIZE_HPT_PREPARE", D_R, 0xad, 16, 0x8010AEAD, 0x4010AEAD },
	{ "RESIZE_HPT_COMMIT", D_R, 0xae, 16, 0x8010AEAE, 0x4010AEAE },
	{ "S390_GET_CMMA_BITS", D_RW, 0xb8, 32, 0xC020AEB8, 0xC020AEB8 },
	{ "S390_SET_CMMA_BITS", D_W, 0xb9, 32, 0x4020AEB9, 0x8020AEB9 },
	{ "SET_DEVICE_ATTR", D_W, 0xe1, 24, 0x4018AEE1, 0x8018AEE1 },
	{ "GET_DEVICE_ATTR", D_W, 0xe2, 24, 0x4018AEE2, 0x8018AEE2 },
	{ "HAS_DEVICE_ATTR", D_W, 0xe3, 24, 0x4018AEE3, 0x8018AEE3 },
};

#define N_DECLS (sizeof(decls) / sizeof(decls[0]))

/* The table's hex values agree with the declarations. */
START_TEST(test_numbers_from_declarations)
{
	size_t i;

	for (i = 0; i < N_DECLS; i++) {
		const struct decl *d = &decls[i];

		ck_assert_msg(enc_generic(d->dir, d->nr, d->size) == d->generic,
			      "%s generic", d->name);
		if (d->ppc)
			ck_assert_msg(enc_ppc(d->dir, d->nr, d->size) == d->ppc,
				      "%s ppc", d->name);
	}
	/* the worked derivation and the independent constant */
	ck_assert_uint_eq(enc_generic(D_W, 0xaa, 32), 0x4020AEAA);
	ck_assert_uint_eq(enc_ppc(D_W, 0xaa, 32), 0x8020AEAA);
	ck_assert_uint_eq(enc_generic(D_R, 0xad, 16), 0x8010AEAD);
	/* a powerpc _IOR is a generic _IOW of the same nr and size */
	ck_assert_uint_eq(enc_ppc(D_R, 0xa9, 8), enc_generic(D_W, 0xa9, 8));
	ck_assert_uint_eq(enc_ppc(D_W, 0xa9, 8), enc_generic(D_R, 0xa9, 8));
}
END_TEST

/* abi.md §2: sizes and offsets of the uapi header's structs */
START_TEST(test_struct_layouts)
{
	ck_assert_uint_eq(sizeof(struct ks_userspace_memory_region), 32);
	ck_assert_uint_eq(offsetof(struct ks_userspace_memory_region, slot), 0);
	ck_assert_uint_eq(offsetof(struct ks_userspace_memory_region, flags),
			  4);
	ck_assert_uint_eq(offsetof(struct ks_userspace_memory_region,
				   guest_phys_addr),
			  8);
	ck_assert_uint_eq(
		offsetof(struct ks_userspace_memory_region, memory_size), 16);
	ck_assert_uint_eq(offsetof(struct ks_userspace_memory_region,
				   userspace_addr),
			  24);

	ck_assert_uint_eq(sizeof(struct ks_device_attr), 24);
	ck_assert_uint_eq(offsetof(struct ks_device_attr, flags), 0);
	ck_assert_uint_eq(offsetof(struct ks_device_attr, group), 4);
	ck_assert_uint_eq(offsetof(struct ks_device_attr, attr), 8);
	ck_assert_uint_eq(offsetof(struct ks_device_attr, addr), 16);

	ck_assert_uint_eq(sizeof(struct ks_allocate_rma), 8);
	ck_assert_uint_eq(offsetof(struct ks_allocate_rma, rma_size), 0);

	ck_assert_uint_eq(sizeof(struct ks_get_htab_fd), 32);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_fd, flags), 0);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_fd, start_index), 8);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_fd, reserved), 16);
	ck_assert_uint_eq(sizeof(((struct ks_get_htab_fd *)0)->reserved), 16);

	ck_assert_uint_eq(sizeof(struct ks_get_htab_header), 8);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_header, index), 0);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_header, n_valid), 4);
	ck_assert_uint_eq(offsetof(struct ks_get_htab_header, n_invalid), 6);

	ck_assert_uint_eq(sizeof(struct ks_ppc_resize_hpt), 16);
	ck_assert_uint_eq(offsetof(struct ks_ppc_resize_hpt, flags), 0);
	ck_assert_uint_eq(offsetof(struct ks_ppc_resize_hpt, shift), 8);
	ck_assert_uint_eq(offsetof(struct ks_ppc_resize_hpt, pad), 12);

	ck_assert_uint_eq(sizeof(struct ks_s390_cmma_log), 32);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, start_gfn), 0);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, count), 8);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, flags), 12);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, remaining), 16);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, mask), 16);
	ck_assert_uint_eq(offsetof(struct ks_s390_cmma_log, values), 24);
}
END_TEST

/* abi.md §3-§5: flag, capability and VM type values */
START_TEST(test_constants)
{
	ck_assert_int_eq(KS_API_VERSION, 12);
	ck_assert_int_eq(KS_MEM_LOG_DIRTY_PAGES, 1);
	ck_assert_int_eq(KS_MEM_READONLY, 2);
	ck_assert_int_eq(KS_GET_HTAB_BOLTED_ONLY, 1);
	ck_assert_int_eq(KS_GET_HTAB_WRITE, 2);
	ck_assert_int_eq(KS_S390_CMMA_PEEK, 1);
	ck_assert_int_eq(KS_VM_PPC_HV, 1);
	ck_assert_int_eq(KS_VM_PPC_PR, 2);
	ck_assert_int_eq(KS_VM_S390_UCONTROL, 1);
	ck_assert_int_eq(KS_CAP_PPC_RMA, 65);
	ck_assert_int_eq(KS_CAP_S390_COW, 79);
	ck_assert_int_eq(KS_CAP_DEVICE_CTRL, 89);
	ck_assert_int_eq(KS_CAP_S390_HPAGE_1M, 156);
	ck_assert_int_eq(KS_S390_VM_MIGRATION, 4);
	ck_assert_int_eq(KS_S390_VM_MIGRATION_STATUS, 2);
	ck_assert_int_eq(KS_S390_VM_MEM_LIMIT_SIZE, 2);
	ck_assert_int_eq(KS_S390_SKEYS_MAX, 1048576);
}
END_TEST

static const char *const profiles[] = { "ppc970", "power7", "power8", "s390x" };

/*
 * generic.md §1: read and write on a VM fd answer EINVAL, on every profile,
 * also for another process (no caller check on read/write in Linux: the
 * file has no such operation at all).
 */
START_TEST(test_read_write_on_vm_fd_einval)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_chunk ch = { 0 };
	char buf[16];

	ck_assert_errno(ks_read(vm, buf, sizeof(buf), &ch, &c), EINVAL);
	ck_assert_errno(ks_write(vm, buf, sizeof(buf), &ch, &c), EINVAL);
	ck_assert_errno(ks_read(vm, buf, 0, &ch, &c), EINVAL);
	/* the VM still answers */
	ck_assert_int_eq(unit_ioctl(vm, 0x0000AE03, 105), 1);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/*
 * generic.md §2, §4.1: the system fd has no caller check; any process may
 * use an inherited /dev/kvm.  GET_API_VERSION rejects every non-zero arg.
 */
START_TEST(test_system_fd_any_process)
{
	static const uint64_t bad[] = { 1, 12, 1ULL << 32, 1ULL << 63, ~0ULL };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	size_t i;

	ck_assert_int_eq(unit_ioctl_as(sys, UNIT_TGID + 7, 0x0000AE00, 0), 12);
	ck_assert_int_eq(unit_ioctl_as(sys, UNIT_TGID + 7, 0x0000AE03, 3), 1);
	ck_assert_int_eq(unit_ioctl_as(sys, UNIT_TGID + 7, 0x0000AE03, 10),
			 _i == 3 ? 32766 : 32767);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_errno(unit_ioctl(sys, 0x0000AE00, bad[i]), EINVAL);
		ck_assert_errno(unit_ioctl(sys, 0x0000AE04, bad[i]), EINVAL);
	}
	/* the failed calls changed nothing */
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE00, 0), 12);
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE04, 0),
			 _i == 3 ? 4096 : 131072);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* generic.md §2: a ppc profile with vcpu_mmap_size 65536 (HV-only kernel) */
START_TEST(test_vcpu_mmap_size_option)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power7"), 0);
	cfg.profile.vcpu_mmap_size = 65536;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	ck_assert_int_eq(unit_ioctl(sys, 0x2000AE04, 0), 65536);
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE04, 0), 65536);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/*
 * generic.md §4.2: CHECK_EXTENSION on a VM fd never fails apart from the
 * caller check, and a foreign caller gets EIO even for unknown caps.
 */
START_TEST(test_vm_check_extension_caller)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);

	ck_assert_int_eq(unit_ioctl(vm, 0x0000AE03, ~0ULL), 0);
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x0000AE03, ~0ULL),
			EIO);
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x0000AE03, 105), EIO);
	/* the creator keeps working after a foreign call */
	ck_assert_int_eq(unit_ioctl(vm, 0x0000AE03, 105), 1);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

static unsigned int rma_free(struct ks_engine *eng)
{
	struct ks_engine_status st;

	ks_rma_pool_status(eng, &st);
	return st.rma_free;
}

static struct ks_engine *rma_engine(const char *profile, unsigned int count)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, profile), 0);
	cfg.rma_count = count;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	return eng;
}

/*
 * rma.md §3 with D6: without the launcher the ioctl that passed its checks
 * fails with the configured errno, and takes no entry from the pool; the
 * struct is not written.  Repeated calls never drain the pool.
 */
START_TEST(test_rma_without_launcher_keeps_pool)
{
	struct ks_engine *eng = rma_engine(_i ? "power7" : "ppc970", 2);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	uint64_t size = 0x1234;
	int i;

	ck_assert_uint_eq(rma_free(eng), 2);
	for (i = 0; i < 5; i++) {
		ck_assert_errno(unit_ioctl(vm, 0x4008AEA9, (uintptr_t)&size),
				EOPNOTSUPP);
		ck_assert_errno(unit_ioctl(vm, 0x8008AEA9, (uintptr_t)&size),
				EOPNOTSUPP);
	}
	ck_assert_uint_eq(size, 0x1234);
	ck_assert_uint_eq(rma_free(eng), 2);
	ks_release(vm);
	ck_assert_uint_eq(rma_free(eng), 2);
	ks_engine_free(eng);
}
END_TEST

/*
 * rma.md §3: the struct is output only and nothing is read; a bad pointer
 * does not change which error comes first (EIO, then ENOMEM, then D6).
 */
START_TEST(test_rma_check_order_bad_pointer)
{
	struct ks_engine *empty = rma_engine(_i ? "power7" : "ppc970", 0);
	struct ks_engine *full = rma_engine(_i ? "power7" : "ppc970", 1);
	struct ks_handle *vme = unit_open(empty, 1, UNIT_TGID);
	struct ks_handle *vmf = unit_open(full, 1, UNIT_TGID);
	static const uint64_t ptrs[] = { 0, 8, ~0ULL - 7, 1ULL << 63 };
	size_t i;

	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		ck_assert_errno(unit_ioctl_as(vme, UNIT_TGID + 1, 0x4008AEA9,
					      ptrs[i]),
				EIO);
		ck_assert_errno(unit_ioctl(vme, 0x4008AEA9, ptrs[i]), ENOMEM);
		ck_assert_errno(unit_ioctl_as(vmf, UNIT_TGID + 1, 0x4008AEA9,
					      ptrs[i]),
				EIO);
		ck_assert_errno(unit_ioctl(vmf, 0x4008AEA9, ptrs[i]),
				EOPNOTSUPP);
	}
	ck_assert_uint_eq(rma_free(full), 1);
	ck_assert_uint_eq(rma_free(empty), 0);
	ks_release(vmf);
	ks_release(vme);
	ks_engine_free(full);
	ks_engine_free(empty);
}
END_TEST

/* rma.md §1: power8 and s390x know no ALLOCATE_RMA; the caller check first */
START_TEST(test_rma_unknown_profiles)
{
	struct ks_engine *eng = unit_engine(_i ? "s390x" : "power8");
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);

	ck_assert_errno(unit_ioctl(vm, 0x8008AEA9, 0), ENOTTY);
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x8008AEA9, 0), EIO);
	ck_assert_errno(unit_ioctl(sys, 0x8008AEA9, 0), EINVAL);
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE03, 65), 0);
	ks_release(sys);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/*
 * generic.md §3: a failing CREATE_VM changes nothing; a later valid call
 * behaves as if it never happened, and CHECK_EXTENSION is unaffected.
 */
START_TEST(test_create_vm_failures_change_nothing)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_engine_status st;

	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 2), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 0xffffffffULL), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 1ULL << 63), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 0), EOPNOTSUPP);
	ck_assert_uint_eq(ks_engine_status(eng, &st, NULL, NULL), 0);
	ck_assert_int_eq(unit_ioctl(sys, 0x0000AE03, 3), 1);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* The ioctls the system fd of profile i answers (generic.md §2). */
static bool system_ioctl(int i, uint32_t nr)
{
	return nr == 0x00 || nr == 0x01 || nr == 0x03 || nr == 0x04 ||
	       (i == 3 && nr == 0x06);
}

/*
 * clients.md §6 (trinity): every VM ioctl number, both encodings, with
 * garbage arguments on the system fd is EINVAL, never EFAULT.  A variant
 * of a declared number with another direction or size is unknown on both
 * fds: EINVAL on the system fd, ENOTTY on the VM fd, after the caller
 * check (EIO).
 */
START_TEST(test_garbage_arguments_and_variants)
{
	static const uint64_t args[] = { 0,	     1,		0xfff,
					 1ULL << 47, ~0ULL - 7, ~0ULL };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	size_t i, a;
	unsigned int dir;
	uint32_t size, cmd, enc;

	for (i = 0; i < N_DECLS; i++) {
		const struct decl *d = &decls[i];

		for (a = 0; a < sizeof(args) / sizeof(args[0]); a++) {
			for (enc = 0; enc < 2; enc++) {
				cmd = enc ? d->ppc : d->generic;
				if (!cmd || system_ioctl(_i, d->nr))
					continue;
				ck_assert_msg(unit_ioctl(sys, cmd, args[a]) ==
						      -EINVAL,
					      "%s 0x%08x on the system fd",
					      d->name, cmd);
				ck_assert_msg(
					unit_ioctl_as(vm, UNIT_TGID + 1, cmd,
						      args[a]) == -EIO,
					"%s 0x%08x foreign", d->name, cmd);
			}
		}
		/* the same nr, another direction or size */
		for (dir = 0; dir < 4; dir++) {
			for (size = 0; size <= 64; size += 4) {
				uint32_t variants[2] = {
					enc_generic(dir, d->nr, size),
					enc_ppc(dir, d->nr, size)
				};

				for (enc = 0; enc < 2; enc++) {
					cmd = variants[enc];
					if (cmd == d->generic || cmd == d->ppc)
						continue;
					ck_assert_msg(
						unit_ioctl(sys, cmd, ~0ULL) ==
							-EINVAL,
						"0x%08x on the system fd", cmd);
					ck_assert_msg(unit_ioctl(vm, cmd,
								 ~0ULL) ==
							      -ENOTTY,
						      "0x%08x on a VM fd", cmd);
					ck_assert_msg(
						unit_ioctl_as(vm, UNIT_TGID + 1,
							      cmd, 0) == -EIO,
						"0x%08x foreign", cmd);
				}
			}
		}
	}
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

struct racer {
	struct ks_handle *vm;
	_Atomic int *ok, *enomem, *other;
};

static void *race_rma(void *arg)
{
	struct racer *r = arg;
	struct kvmshim_fd_request req;
	long ret;
	int i;

	for (i = 0; i < 50; i++) {
		memset(&req, 0, sizeof(req));
		req.cmd = 0x4008AEA9;
		ret = unit_ioctl(r->vm, KVMSHIM_FD_REQUEST, (uintptr_t)&req);
		if (ret == 0 && req.rma_size == 64ULL << 20)
			atomic_fetch_add(r->ok, 1);
		else if (ret == -ENOMEM)
			atomic_fetch_add(r->enomem, 1);
		else
			atomic_fetch_add(r->other, 1);
	}
	return NULL;
}

/*
 * rma.md §2-§3: the pool is global; requests racing from several VMs get
 * exactly as many entries as the pool holds, ENOMEM after that, and every
 * entry returns when the VMs go (M7).
 */
START_TEST(test_rma_pool_race)
{
	struct ks_engine *eng = rma_engine("ppc970", 4);
	struct ks_handle *vms[4];
	struct racer r[4];
	pthread_t th[4];
	_Atomic int ok = 0, enomem = 0, other = 0;
	int t;

	for (t = 0; t < 4; t++) {
		vms[t] = unit_open(eng, 1, UNIT_TGID);
		r[t] = (struct racer){ vms[t], &ok, &enomem, &other };
		pthread_create(&th[t], NULL, race_rma, &r[t]);
	}
	for (t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	ck_assert_int_eq(ok, 4);
	ck_assert_int_eq(enomem, 4 * 50 - 4);
	ck_assert_int_eq(other, 0);
	ck_assert_uint_eq(rma_free(eng), 0);
	for (t = 0; t < 4; t++)
		ks_release(vms[t]);
	ck_assert_uint_eq(rma_free(eng), 4);
	ks_engine_free(eng);
}
END_TEST

/*
 * abi.md §1.2: with ioctl_encodings = native a ppc profile treats the
 * generic numbers as unknown on both fds, ALLOCATE_RMA included, while the
 * powerpc numbers keep working.
 */
START_TEST(test_native_only_vm_fd)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys, *vm;
	uint64_t size = 7;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "ppc970"), 0);
	cfg.profile.native_encoding_only = true;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	vm = unit_open(eng, 1, UNIT_TGID);
	ck_assert_errno(unit_ioctl(vm, 0x8008AEA9, (uintptr_t)&size), ENOTTY);
	ck_assert_errno(unit_ioctl(vm, 0x4008AEA9, (uintptr_t)&size),
			EOPNOTSUPP);
	ck_assert_errno(unit_ioctl(vm, 0x0000AE03, 65), ENOTTY);
	ck_assert_int_eq(unit_ioctl(vm, 0x2000AE03, 65), 2);
	ck_assert_int_eq(unit_ioctl(sys, 0x2000AE03, 65), 2);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE00, 0), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 0), EINVAL);
	ck_assert_errno(unit_ioctl(sys, 0x0000AE04, 0), EINVAL);
	ck_assert_int_eq(unit_ioctl(sys, 0x2000AE04, 0), 131072);
	ck_assert_errno(unit_ioctl_as(vm, 99, 0x8008AEA9, 0), EIO);
	ck_assert_uint_eq(size, 7);
	ck_assert_uint_eq(rma_free(eng), 4);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/*
 * generic.md §4.1: the check is by thread group: another thread of the
 * creator passes, the same thread id in another group does not.
 */
START_TEST(test_caller_check_by_thread_group)
{
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_uctx_direct d;

	ks_uctx_direct_init(&d, UNIT_TGID);
	d.u.caller.tid = UNIT_TGID + 5;
	ck_assert_int_eq(ks_ioctl(vm, 0x0000AE03, 105, &d.u), 1);
	ks_uctx_direct_init(&d, UNIT_TGID + 5);
	d.u.caller.tid = UNIT_TGID;
	ck_assert_errno(ks_ioctl(vm, 0x0000AE03, 105, &d.u), EIO);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

#define MiB (1ULL << 20)

/*
 * generic.md §4.3: rows 2-7 come before the delete of row 8, so a delete
 * with bad flags, READONLY, an unaligned address, another address space or
 * a wrapping guest range fails and the slot stays; row 9 (changing an
 * existing slot) comes before the overlap of row 10.
 */
START_TEST(test_memslot_delete_after_validity_rows)
{
	struct ks_engine *eng = unit_engine(_i ? "power8" : "s390x");
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	uint64_t pg = _i ? 65536 : 4096;

	ck_assert_int_eq(unit_region(vm, 5, 0, 16 * MiB, 2 * MiB, 64 * MiB), 0);
	ck_assert_int_eq(unit_region(vm, 6, 0, 32 * MiB, 2 * MiB, 64 * MiB), 0);
	ck_assert_errno(unit_region(vm, 5, 4, 16 * MiB, 0, 64 * MiB), EINVAL);
	ck_assert_errno(unit_region(vm, 5, 2, 16 * MiB, 0, 64 * MiB), EINVAL);
	ck_assert_errno(unit_region(vm, 5, 0, 16 * MiB + pg / 2, 0, 64 * MiB),
			EINVAL);
	ck_assert_errno(unit_region(vm, 5, 0, 16 * MiB, 0, 64 * MiB + 1),
			EINVAL);
	ck_assert_errno(unit_region(vm, 5 | 0x10000, 0, 16 * MiB, 0, 64 * MiB),
			EINVAL);
	/* size 0 does not wrap: a delete may name any aligned address */
	ck_assert_errno(unit_region(vm, 6, 0, 32 * MiB, 2 * MiB, 65 * MiB),
			EINVAL);
	/* row 9 before row 10: a size change that would overlap slot 6 */
	ck_assert_errno(unit_region(vm, 5, 0, 16 * MiB, 32 * MiB, 64 * MiB),
			EINVAL);
	/* a move onto slot 6 overlaps */
	ck_assert_errno(unit_region(vm, 5, 0, 33 * MiB, 2 * MiB, 64 * MiB),
			EEXIST);
	/* all these changed nothing: the identical call is a no-op */
	ck_assert_int_eq(unit_region(vm, 5, 0, 16 * MiB, 2 * MiB, 64 * MiB), 0);
	/* the real delete, then the slot is gone */
	ck_assert_int_eq(unit_region(vm, 5, 0, ~0ULL - pg + 1, 0, 0), 0);
	ck_assert_errno(unit_region(vm, 5, 0, 16 * MiB, 0, 64 * MiB), EINVAL);
	/* slot 6's range is free for a new slot now, slot 5's too */
	ck_assert_int_eq(unit_region(vm, 7, 0, 16 * MiB, 2 * MiB, 0), 0);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

/*
 * generic.md §4.3 rows 3, 6 and the caller check: a foreign process gets
 * EIO even for a valid region, and nothing is created.
 */
START_TEST(test_memslot_foreign_and_limits)
{
	struct ks_engine *eng = unit_engine(_i ? "power7" : "s390x");
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_userspace_memory_region m = { .slot = 0,
						.memory_size = MiB,
						.userspace_addr = 0 };
	uint32_t last = _i ? 32766 : 32765;

	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x4020AE46,
				      (uintptr_t)&m),
			EIO);
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID + 1, 0x4020AE46, 0), EIO);
	/* slot 0 is still free: a delete fails */
	ck_assert_errno(unit_region(vm, 0, 0, 0, 0, 0), EINVAL);
	ck_assert_int_eq(unit_region(vm, last, 0, 0, MiB, 0), 0);
	ck_assert_errno(unit_region(vm, last + 1, 0, 8 * MiB, MiB, 0), EINVAL);
	ck_assert_errno(unit_region(vm, 0xffff, 0, 8 * MiB, MiB, 0), EINVAL);
	ck_assert_errno(unit_region(vm, 0xffffffff, 0, 8 * MiB, MiB, 0),
			EINVAL);
	ck_assert_int_eq(unit_region(vm, last, 0, 0, 0, 0), 0);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

static int notices;

static void count_notices(int priority, const char *msg)
{
	(void)msg;
	if (priority == LOG_NOTICE)
		notices++;
}

/*
 * D6: a client that retries an fd-returning ioctl in a loop gets the
 * errno every time, but the hint is logged once, not once per call.
 */
START_TEST(test_no_launcher_hint_not_flooded)
{
	struct ks_engine *eng = rma_engine("ppc970", 4);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	uint64_t size;
	int i;

	ks_log_set_sink(count_notices);
	for (i = 0; i < 1000; i++) {
		ck_assert_errno(unit_ioctl(sys, 0x0000AE01, 0), EOPNOTSUPP);
		ck_assert_errno(unit_ioctl(vm, 0x4008AEA9, (uintptr_t)&size),
				EOPNOTSUPP);
	}
	ks_log_set_sink(NULL);
	ck_assert_int_eq(notices, 1);
	ck_assert_uint_eq(rma_free(eng), 4);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_generic(void);
Suite *suite_generic(void)
{
	Suite *s = suite_create("generic");
	TCase *tc = tcase_create("generic");

	tcase_add_test(tc, test_numbers_from_declarations);
	tcase_add_test(tc, test_struct_layouts);
	tcase_add_test(tc, test_constants);
	tcase_add_loop_test(tc, test_read_write_on_vm_fd_einval, 0, 4);
	tcase_add_loop_test(tc, test_system_fd_any_process, 0, 4);
	tcase_add_test(tc, test_vcpu_mmap_size_option);
	tcase_add_loop_test(tc, test_vm_check_extension_caller, 0, 4);
	tcase_add_loop_test(tc, test_rma_without_launcher_keeps_pool, 0, 2);
	tcase_add_loop_test(tc, test_rma_check_order_bad_pointer, 0, 2);
	tcase_add_loop_test(tc, test_rma_unknown_profiles, 0, 2);
	tcase_add_loop_test(tc, test_create_vm_failures_change_nothing, 0, 4);
	tcase_add_test(tc, test_no_launcher_hint_not_flooded);
	tcase_add_loop_test(tc, test_memslot_delete_after_validity_rows, 0, 2);
	tcase_add_loop_test(tc, test_memslot_foreign_and_limits, 0, 2);
	tcase_add_test(tc, test_native_only_vm_fd);
	tcase_add_loop_test(tc, test_caller_check_by_thread_group, 0, 4);
	tcase_add_test(tc, test_rma_pool_race);
	tcase_add_loop_test(tc, test_garbage_arguments_and_variants, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
