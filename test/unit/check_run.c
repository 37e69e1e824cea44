// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's side of kvmshim-run: trap lists per profile, VM proofs, and
 * CMMA transfers run for a client through a memfd (exact at every size,
 * no D1), with the creator check, Linux's order of writes and the errors
 * of a malformed request.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_cmma.h"
#include "core/rma.h"
#include "core/status.h"
#include "core/supervise.h"
#include "core/token.h"
#include "cuse/control.h"
#include "cuse/control_run.h"

#define CLIENT UNIT_TGID
#define SUPERVISOR 777
#define VALUES KS_S390_SKEYS_MAX

static bool has_trap(const struct kvmshim_run_info *i, uint32_t cmd,
		     uint32_t kind)
{
	unsigned int k;

	for (k = 0; k < i->n_traps; k++)
		if (i->traps[k].cmd == cmd && i->traps[k].kind == kind)
			return true;
	return false;
}

START_TEST(test_traps_per_profile)
{
	struct kvmshim_run_info i;
	struct ks_engine *eng;

	eng = unit_engine("ppc970");
	ks_run_info(eng, &i);
	ck_assert_uint_eq(i.arch, KVMSHIM_ARCH_PPC);
	ck_assert_uint_eq(i.n_traps, 6);
	ck_assert(has_trap(&i, KS_CREATE_VM, KVMSHIM_TRAP_CREATE_VM));
	ck_assert(has_trap(&i, 0x2000AE01, KVMSHIM_TRAP_CREATE_VM));
	ck_assert(has_trap(&i, KS_PPC_GET_HTAB_FD, KVMSHIM_TRAP_GET_HTAB_FD));
	/* powerpc _IOW is 0x80000000 */
	ck_assert(has_trap(&i, 0x8020AEAA, KVMSHIM_TRAP_GET_HTAB_FD));
	ck_assert(has_trap(&i, KS_ALLOCATE_RMA, KVMSHIM_TRAP_ALLOCATE_RMA));
	ck_assert(has_trap(&i, 0x4008AEA9, KVMSHIM_TRAP_ALLOCATE_RMA));
	ck_assert_uint_eq(i.rma_total, 4);
	ck_assert_uint_eq(i.rma_free, 4);
	ck_assert_uint_eq(i.vms, 0);
	ck_assert_uint_eq(i.tokens_pending, 0);
	ks_engine_free(eng);

	eng = unit_engine("power8");
	ks_run_info(eng, &i);
	ck_assert_uint_eq(i.n_traps, 4);
	ck_assert(!has_trap(&i, KS_ALLOCATE_RMA, KVMSHIM_TRAP_ALLOCATE_RMA));
	ks_engine_free(eng);

	eng = unit_engine("s390x");
	ks_run_info(eng, &i);
	ck_assert_uint_eq(i.arch, KVMSHIM_ARCH_S390);
	ck_assert_uint_eq(i.n_traps, 3);
	ck_assert(has_trap(&i, KS_CREATE_VM, KVMSHIM_TRAP_CREATE_VM));
	ck_assert(has_trap(&i, KS_S390_GET_CMMA_BITS,
			   KVMSHIM_TRAP_GET_CMMA_BITS));
	ck_assert(has_trap(&i, KS_S390_SET_CMMA_BITS,
			   KVMSHIM_TRAP_SET_CMMA_BITS));
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_traps_native_encoding)
{
	struct ks_engine_config cfg;
	struct kvmshim_run_info i;
	struct ks_engine *eng;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "power7"), 0);
	cfg.profile.native_encoding_only = true;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	ks_run_info(eng, &i);
	/* the generic numbers reach CUSE, which refuses them */
	ck_assert_uint_eq(i.n_traps, 3);
	ck_assert(has_trap(&i, 0x2000AE01, KVMSHIM_TRAP_CREATE_VM));
	ck_assert(!has_trap(&i, KS_CREATE_VM, KVMSHIM_TRAP_CREATE_VM));
	ks_engine_free(eng);
}
END_TEST

static long proof_as(struct ks_handle *h, pid_t tgid, uint64_t *token)
{
	*token = 0;
	return unit_ioctl_as(h, tgid, KVMSHIM_VM_PROOF, (uintptr_t)token);
}

static int memfd(void)
{
	int fd = memfd_create("values", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static long run_cmma(struct ks_engine *eng, struct ks_handle *vm, pid_t client,
		     uint32_t cmd, struct ks_s390_cmma_log *log, int fd,
		     struct kvmshim_ctl_cmma_out *out)
{
	struct kvmshim_ctl_cmma in = { .cmd = cmd, .arg = 0x10000 };
	uint64_t proof;
	int ret;

	ck_assert_int_eq(proof_as(vm, SUPERVISOR, &proof), 0);
	memcpy(in.log, log, sizeof(in.log));
	ret = ks_run_cmma(eng, proof, SUPERVISOR, client, &in, fd, out);
	if (ret)
		return ret;
	memcpy(log, out->log, sizeof(*log));
	return out->result;
}

START_TEST(test_proof)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, CLIENT);
	struct ks_handle *vm = unit_open(eng, 1, CLIENT);
	struct kvmshim_ctl_cmma_out out;
	struct kvmshim_ctl_cmma in = { .cmd = KS_S390_GET_CMMA_BITS };
	struct ks_engine_status st;
	uint64_t proof;
	int fd = memfd(), pfd[2];

	ck_assert_errno(proof_as(sys, CLIENT, &proof), ENOTTY);
	ck_assert_errno(unit_ioctl(vm, KVMSHIM_VM_PROOF, 16), EFAULT);
	/* the unwritten proof is pending until it expires */
	ck_assert_uint_eq(ks_tokens_pending(eng), 1);
	ks_tokens_reap(ks_engine_tokens(eng), ks_now_ms() + 3600000);
	ck_assert_uint_eq(ks_tokens_pending(eng), 0);

	ck_assert_int_eq(proof_as(vm, SUPERVISOR, &proof), 0);
	ck_assert(proof != 0);
	ck_assert_uint_eq(ks_tokens_pending(eng), 1);
	/* another process's proof is no proof; it stays usable */
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR + 1, CLIENT, &in, fd,
				    &out),
			ENOENT);
	ck_assert_errno(ks_run_cmma(eng, proof ^ 1, SUPERVISOR, CLIENT, &in, fd,
				    &out),
			ENOENT);
	/* malformed requests do not use it up */
	in.flags = 1;
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, fd,
				    &out),
			EINVAL);
	in.flags = 0;
	in.cmd = KS_SET_DEVICE_ATTR;
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, fd,
				    &out),
			EINVAL);
	in.cmd = KS_S390_GET_CMMA_BITS;
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, 0, &in, fd, &out),
			EINVAL);
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, pfd[0],
				    &out),
			EBADF);
	close(pfd[0]);
	close(pfd[1]);
	ck_assert_uint_eq(ks_tokens_pending(eng), 1);

	/* a proof keeps its VM alive after the last handle is gone */
	ks_release(vm);
	ck_assert_uint_eq(ks_engine_status(eng, &st, NULL, NULL), 1);
	ck_assert_int_eq(
		ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, fd, &out), 0);
	/* used up; CMMA was never enabled */
	ck_assert_int_eq(out.result, -ENXIO);
	ck_assert_uint_eq(out.written, 0);
	ck_assert_uint_eq(ks_tokens_pending(eng), 0);
	ck_assert_uint_eq(ks_engine_status(eng, &st, NULL, NULL), 0);
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, fd,
				    &out),
			ENOENT);

	/* an expired proof drops its VM */
	vm = unit_open(eng, 1, CLIENT);
	ck_assert_int_eq(proof_as(vm, SUPERVISOR, &proof), 0);
	ks_release(vm);
	ks_tokens_reap(ks_engine_tokens(eng), ks_now_ms() + 3600000);
	ck_assert_uint_eq(ks_engine_status(eng, &st, NULL, NULL), 0);
	ck_assert_errno(ks_run_cmma(eng, proof, SUPERVISOR, CLIENT, &in, fd,
				    &out),
			ENOENT);
	close(fd);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

static uint8_t pattern(uint64_t g)
{
	return (uint8_t)(((g * 7) ^ (g >> 9)) & 0x43);
}

/* A VM with two slots of VALUES / 2 pages and a hole, CMMA enabled. */
static struct cm_vm big_vm(void)
{
	struct cm_vm v = cm_new();

	ck_assert_int_eq(cm_region(v.h, 0, LOG, 0, VALUES / 2, 1ULL << 32), 0);
	ck_assert_int_eq(cm_region(v.h, 1, LOG, VALUES, VALUES / 2, 1ULL << 33),
			 0);
	ck_assert_int_eq(cm_enable(v.h), 0);
	return v;
}

static void fill(int fd, const uint8_t *vals, size_t len)
{
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, vals, len, 0), (ssize_t)len);
}

START_TEST(test_cmma_exact_sizes)
{
	struct cm_vm v = big_vm();
	struct ks_s390_cmma_log log;
	struct kvmshim_ctl_cmma_out out;
	uint8_t *vals = malloc(VALUES), *back = malloc(VALUES);
	uint64_t g;
	int fd = memfd();

	for (g = 0; g < VALUES; g++)
		vals[g] = pattern(g);
	/* SET of a whole slot in one call, values from the memfd */
	fill(fd, vals, VALUES / 2);
	memset(&log, 0, sizeof(log));
	log.count = VALUES / 2;
	log.mask = ~0ULL;
	log.values = 0x7f0000000000;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(out.written, 0);
	ck_assert(cm_info(v.h).flags & KVMSHIM_CMMA_USED);

	/* PEEK of more than one CUSE request: exact (no D1) */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	memset(&log, 0, sizeof(log));
	log.count = VALUES;
	log.flags = PEEK;
	log.values = 0x7f0000000000;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(out.written,
			  KVMSHIM_CMMA_WROTE_LOG | KVMSHIM_CMMA_WROTE_VALUES);
	/* the peek stops at the hole */
	ck_assert_uint_eq(log.count, VALUES / 2);
	ck_assert_uint_eq(out.values_len, VALUES / 2);
	ck_assert_int_eq(pread(fd, back, VALUES, 0), VALUES / 2);
	ck_assert(!memcmp(back, vals, VALUES / 2));
	ck_assert_uint_eq(log.values, 0x7f0000000000);

	/* QEMU's 524288 after START: one call drains the first slot */
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	memset(&log, 0, sizeof(log));
	log.count = 524288;
	log.values = 0x7f0000000000;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(log.start_gfn, 0);
	ck_assert_uint_eq(log.count, 524288);
	ck_assert_uint_eq(log.remaining, VALUES / 2);
	ck_assert_int_eq(pread(fd, back, VALUES, 0), 524288);
	ck_assert(!memcmp(back, vals, 524288));
	ck_assert_uint_eq(cm_info(v.h).dirty_count, VALUES / 2);
	close(fd);
	free(vals);
	free(back);
	cm_free(&v);
}
END_TEST

START_TEST(test_cmma_rows)
{
	struct cm_vm v = big_vm();
	struct ks_s390_cmma_log log;
	struct kvmshim_ctl_cmma_out out;
	uint8_t vals[8192];
	int fd = memfd();

	memset(vals, 3, sizeof(vals));
	/* row 0: the creator check comes first */
	memset(&log, 0, sizeof(log));
	log.count = 8192;
	log.flags = 0xff;
	log.values = 0x7f0000000000;
	fill(fd, vals, sizeof(vals));
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT + 1, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 -EIO);
	/* SET rows 3, 4 before the values are read */
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 -EINVAL);
	log.flags = 0;
	log.count = VALUES + 1;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 -EINVAL);
	/* row 7: a short file is an unreadable buffer; nothing changes */
	log.count = 8192;
	log.mask = ~0ULL;
	fill(fd, vals, 4096);
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 -EFAULT);
	ck_assert(!(cm_info(v.h).flags & KVMSHIM_CMMA_USED));
	/* row 8 (Q14): stops at the hole, keeps what it changed */
	fill(fd, vals, sizeof(vals));
	log.start_gfn = VALUES / 2 - 4096;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 -EFAULT);
	ck_assert(cm_info(v.h).flags & KVMSHIM_CMMA_USED);

	/* GET row 4, row 8 (peek in a hole), all-zero struct (row 6) */
	memset(&log, 0, sizeof(log));
	log.count = 100;
	log.values = 0x7f0000000000;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 -EINVAL);
	log.flags = PEEK;
	log.start_gfn = VALUES / 2;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 -EFAULT);
	ck_assert_uint_eq(out.written, 0);
	log.flags = PEEK;
	log.start_gfn = VALUES / 2 - 1;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(log.count, 1);
	ck_assert_uint_eq(out.values_len, 1);
	ck_assert_int_eq(cm_start(v.h), 0);
	ck_assert_int_eq(cm_stop(v.h), 0);
	ck_assert_int_eq(cm_start(v.h), 0);
	log.flags = 0;
	log.start_gfn = 5;
	log.count = 0;
	log.remaining = 99;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	/* Q12: only the all-zero struct, no values */
	ck_assert_uint_eq(out.written, KVMSHIM_CMMA_WROTE_LOG);
	ck_assert_uint_eq(log.start_gfn, 0);
	ck_assert_uint_eq(log.remaining, 0);
	ck_assert_uint_eq(log.values, 0);
	close(fd);
	cm_free(&v);
}
END_TEST

/*
 * A values buffer inside the struct: Linux writes the values, then the
 * struct over them, and reads SET's values from memory as it is.  The
 * values must reach the memfd (written first by the supervisor), never the
 * struct's copy.
 */
START_TEST(test_cmma_values_in_struct)
{
	struct cm_vm v = big_vm();
	struct ks_s390_cmma_log log, want;
	struct kvmshim_ctl_cmma_out out;
	uint8_t back[16], vals[8] = { 1, 2, 3, 0x40, 0x41, 0x42, 0x43, 0 };
	const uint64_t arg = 0x10000;
	int fd = memfd();

	/* SET reads its 8 values from the memfd, even at arg + 8 */
	fill(fd, vals, sizeof(vals));
	memset(&log, 0, sizeof(log));
	log.start_gfn = 100;
	log.count = 8;
	log.mask = ~0ULL;
	log.values = arg + 8;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_SET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(out.written, 0);

	ck_assert_int_eq(ftruncate(fd, 0), 0);
	memset(&log, 0, sizeof(log));
	log.start_gfn = 100;
	log.count = 8;
	log.flags = PEEK;
	log.values = arg + 8;
	want = log;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(out.written,
			  KVMSHIM_CMMA_WROTE_LOG | KVMSHIM_CMMA_WROTE_VALUES);
	ck_assert_uint_eq(out.values_len, 8);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), 8);
	/*
	 * Where values and struct overlap, the values carry the struct's
	 * bytes, which is what the caller ends up with either way.
	 */
	ck_assert(!memcmp(back, (uint8_t *)&want + 8, 8));
	/* the struct as Linux leaves it: written last, whole */
	ck_assert(!memcmp(&log, &want, sizeof(log)));

	/* values at the struct's own address: still the values buffer's */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	log.values = arg;
	want = log;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 0);
	ck_assert_uint_eq(out.written,
			  KVMSHIM_CMMA_WROTE_LOG | KVMSHIM_CMMA_WROTE_VALUES);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), 8);
	ck_assert(!memcmp(back, &want, 8));
	ck_assert(!memcmp(&log, &want, sizeof(log)));
	close(fd);
	cm_free(&v);
}
END_TEST

/*
 * Row 9 before row 10: a GET whose values cannot be written fails with
 * EFAULT and leaves the struct as it was, even where the engine wrote the
 * struct first (the order CUSE needs, D8).
 */
START_TEST(test_cmma_error_writes_nothing)
{
	struct cm_vm v = big_vm();
	struct ks_s390_cmma_log log;
	struct kvmshim_ctl_cmma_out out;
	uint8_t vals[200];
	int fd = memfd();

	/* 200 values from 2^64 - 100: the buffer wraps, Linux's EFAULT */
	memset(&log, 0, sizeof(log));
	log.count = 200;
	log.flags = PEEK;
	log.values = UINT64_MAX - 99;
	memset(vals, 1, sizeof(vals));
	ck_assert_int_eq(cm_set(v.h, 0, sizeof(vals), ~0ULL, vals), 0);
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 -EFAULT);
	ck_assert_uint_eq(out.written, 0);

	/* the same after START, without PEEK */
	ck_assert_int_eq(cm_start(v.h), 0);
	memset(&log, 0, sizeof(log));
	log.count = 200;
	log.values = UINT64_MAX - 99;
	ck_assert_int_eq(run_cmma(v.eng, v.h, CLIENT, KS_S390_GET_CMMA_BITS,
				  &log, fd, &out),
			 -EFAULT);
	ck_assert_uint_eq(out.written, 0);
	/* Linux loses the dirty bits that call took */
	ck_assert_uint_eq(cm_info(v.h).dirty_count, VALUES - 200);
	close(fd);
	cm_free(&v);
}
END_TEST

START_TEST(test_remote_uctx)
{
	struct ks_caller c = { .tid = 5, .tgid = 5 };
	struct ks_uctx_remote x;
	uint8_t s[32], b[64];
	int fd = memfd();

	memset(s, 0x11, sizeof(s));
	ks_uctx_remote_init(&x, &c);
	ck_assert_int_eq(ks_uctx_remote_add(&x, 0x1000, sizeof(s), s, -1), 0);
	ck_assert_int_eq(
		ks_uctx_remote_add(&x, UINT64_MAX - 63, 1 << 20, NULL, fd), 0);
	ck_assert_int_eq(ks_uctx_remote_add(&x, 0, 1, s, -1), -ENOSPC);
	ck_assert_uint_eq(x.r[1].len, 63);
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, 0x1008, 24), 0);
	ck_assert_int_eq(b[0], 0x11);
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, 0x1008, 25), -EFAULT);
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, 0xfff, 2), -EFAULT);
	/* an empty file: nothing readable */
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, UINT64_MAX - 63, 1),
			 -EFAULT);
	memset(b, 0x22, sizeof(b));
	ck_assert_int_eq(ks_copy_to_user(&x.u, UINT64_MAX - 60, b, 10), 0);
	ck_assert(x.r[1].written);
	ck_assert_uint_eq(x.r[1].written_end, 13);
	ck_assert(!x.r[0].written);
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, UINT64_MAX - 63, 13), 0);
	ck_assert_int_eq(b[0], 0);
	ck_assert_int_eq(b[3], 0x22);
	ck_assert_int_eq(ks_copy_to_user(&x.u, UINT64_MAX - 60, b, 61),
			 -EFAULT);
	ck_assert_int_eq(ks_copy_to_user(&x.u, 0x1000, b, 32), 0);
	ck_assert(x.r[0].written);
	ck_assert_int_eq(s[0], 0);
	ck_assert_int_eq(x.u.caller.tgid, 5);
	ck_assert_uint_eq(x.u.out_cap, SIZE_MAX);

	/* two regions at one address: declarations take them in turn */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	memset(s, 0, sizeof(s));
	ks_uctx_remote_init(&x, &c);
	ck_assert_int_eq(ks_uctx_remote_add(&x, 0x2000, sizeof(s), s, -1), 0);
	ck_assert_int_eq(ks_uctx_remote_add(&x, 0x2000, 4096, NULL, fd), 0);
	ck_assert_int_eq(ks_want_to_user(&x.u, 0x2000, sizeof(s)), 0);
	ck_assert_int_eq(ks_want_to_user(&x.u, 0x2000, 8), 0);
	memset(b, 0x33, sizeof(b));
	ck_assert_int_eq(ks_copy_to_user(&x.u, 0x2000, b, sizeof(s)), 0);
	memset(b, 0x44, sizeof(b));
	ck_assert_int_eq(ks_copy_to_user(&x.u, 0x2000, b, 8), 0);
	ck_assert_int_eq(s[0], 0x33);
	ck_assert_int_eq(s[31], 0x33);
	ck_assert_uint_eq(x.r[1].written_end, 8);
	ck_assert_int_eq(pread(fd, b, sizeof(b), 0), 8);
	ck_assert_int_eq(b[0], 0x44);
	/* undeclared reads and writes: the first region that holds them */
	ck_assert_int_eq(ks_copy_from_user(&x.u, b, 0x2000, 4), 0);
	ck_assert_int_eq(b[0], 0x33);
	close(fd);
}
END_TEST

static void ctl_prepare(struct ctl_call *c, struct kvmshim_ctl_request *req,
			struct ks_engine *eng, uint32_t op)
{
	memset(c, 0, sizeof(*c));
	memset(req, 0, sizeof(*req));
	req->op = op;
	c->req = req;
	c->eng = eng;
	c->fd = -1;
	c->data.max = CTL_MAX_REPLY;
	c->peer.pid = SUPERVISOR;
	c->peer.uid = 0;
}

START_TEST(test_control_ops)
{
	struct cm_vm v = big_vm();
	struct kvmshim_ctl_request req;
	struct kvmshim_ctl_cmma in = { .cmd = KS_S390_GET_CMMA_BITS };
	struct kvmshim_ctl_cmma_out out;
	struct kvmshim_run_info info;
	struct ks_s390_cmma_log *log = (struct ks_s390_cmma_log *)in.log;
	struct ctl_call c;
	uint64_t proof;

	ck_assert_int_eq(control_run_register(), 0);
	ck_assert_str_eq(ctl_op_name(KVMSHIM_CTL_RUN_INFO), "run-info");
	ctl_prepare(&c, &req, v.eng, KVMSHIM_CTL_RUN_INFO);
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, 0);
	ck_assert_uint_eq(c.reply.len, sizeof(info));
	memcpy(&info, c.data.p, sizeof(info));
	ck_assert_uint_eq(info.n_traps, 3);
	ck_assert_uint_eq(info.vms, 1);
	sb_free(&c.data);

	/* the launcher is the client's ancestor: our parent acts for us */
	ck_assert_int_eq(proof_as(v.h, getppid(), &proof), 0);
	log->count = 1;
	log->flags = PEEK;
	log->values = 0x7f0000000000;
	ctl_prepare(&c, &req, v.eng, KVMSHIM_CTL_CMMA);
	c.peer.pid = getppid();
	req.token = proof;
	req.owner_tgid = getpid();
	c.payload = &in;
	c.payload_len = sizeof(in) - 1;
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, -EINVAL);
	c.payload_len = sizeof(in);
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, -EBADF);
	c.in_fds[0] = memfd();
	c.n_in_fds = 1;
	/* a client that is gone, another user's client */
	req.owner_tgid = 0x3fffffff;
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, -ESRCH);
	req.owner_tgid = getpid();
	c.peer.uid = getuid() + 1;
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, -EPERM);
	/* a process of the same user that does not run the client */
	c.peer.uid = getuid();
	c.peer.pid = SUPERVISOR;
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, -EPERM);
	c.peer.pid = getppid();
	/* the proof is still good: it was not used */
	ctl_dispatch(&c);
	ck_assert_int_eq(c.reply.error, 0);
	ck_assert_uint_eq(c.reply.len, sizeof(out));
	memcpy(&out, c.data.p, sizeof(out));
	/* the client is not the VM's creator */
	ck_assert_int_eq(out.result, getpid() == CLIENT ? -ENXIO : -EIO);
	sb_free(&c.data);
	close(c.in_fds[0]);
	cm_free(&v);
}
END_TEST

Suite *suite_run(void);
Suite *suite_run(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("run");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_traps_per_profile);
	tcase_add_test(tc, test_traps_native_encoding);
	tcase_add_test(tc, test_proof);
	tcase_add_test(tc, test_cmma_exact_sizes);
	tcase_add_test(tc, test_cmma_rows);
	tcase_add_test(tc, test_cmma_values_in_struct);
	tcase_add_test(tc, test_cmma_error_writes_nothing);
	tcase_add_test(tc, test_remote_uctx);
	tcase_add_test(tc, test_control_ops);
	suite_add_tcase(s, tc);
	return s;
}
