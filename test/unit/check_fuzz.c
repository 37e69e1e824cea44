// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Random ioctls on every kind of handle of every profile, in the manner of
 * syzkaller and trinity (spec: clients.md §6): KVM numbers in both
 * encodings and slightly wrong ones, kvmshim's private numbers, garbage;
 * random structs, bad pointers, foreign and invisible callers; mixed with
 * valid sequences that build state (VMs bound from tokens, HTAB streams,
 * tables, memslots, CMMA).  Each run goes through the direct user context
 * and through the kernel-less CUSE harness.
 *
 * Every result is checked against an oracle written from the spec tables
 * (generic.md §2, §4, §6; abi.md §1.1), independent of core/profile.c:
 * unknown numbers give exactly EINVAL on the system fd and ENOTTY on VM
 * and HTAB handles, a foreign caller gets exactly EIO for every KVM ioctl
 * on a VM fd, served ioctls never answer ENOTTY, and nothing ever answers
 * ENOSYS or an errno outside the spec's.  At the end every handle is
 * closed and the engine must be back where it started: no VM, no token,
 * no pool entry out, model memory at its baseline, no unfinished CUSE
 * round, no stray reply.  Run it under "make SANITIZE=address,undefined"
 * for memory errors and leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ioctl.h>

#include "core/rma.h"
#include "core/status.h"
#include "core/token.h"
#include "core/uaccess.h"
#include "fakekernel.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

/* caller memory: a valid area, then a zone that always faults */
#define FZ_VALID (2U << 20)
#define FZ_FAULT (64U << 10)
/* the struct area re-randomised before every call */
#define FZ_STRUCTS 8192U
/* where pointers inside structs may point: room for 1 MiB after it */
#define FZ_PTR_LO (16U << 10)
#define FZ_PTR_HI (512U << 10)
/* structs of the valid sequences: beyond what a pointer field reaches */
#define FZ_FIXED (1792U << 10)
#define FZ_HIGH (1ULL << 47)
#define FZ_MAX_HANDLES 10

enum fz_where {
	W_SYS = 1 << 0,
	W_VM_ALL = 1 << 1, /* a VM ioctl of every profile */
	W_VM_PPC = 1 << 2,
	W_VM_RMA = 1 << 3, /* ppc970 and power7 */
	W_VM_S390 = 1 << 4,
};

/* abi.md §1.1, written out; 0: no such encoding */
static const struct fz_kvm {
	const char *name;
	uint32_t generic;
	uint32_t ppc;
	unsigned int where;
} kvm_table[] = {
	{ "GET_API_VERSION", 0x0000AE00, 0x2000AE00, W_SYS },
	{ "CREATE_VM", 0x0000AE01, 0x2000AE01, W_SYS },
	{ "CHECK_EXTENSION", 0x0000AE03, 0x2000AE03, W_SYS | W_VM_ALL },
	{ "GET_VCPU_MMAP_SIZE", 0x0000AE04, 0x2000AE04, W_SYS },
	{ "S390_ENABLE_SIE", 0x0000AE06, 0, W_SYS },
	{ "CREATE_VCPU", 0x0000AE41, 0x2000AE41, 0 },
	{ "SET_USER_MEMORY_REGION", 0x4020AE46, 0x8020AE46, W_VM_ALL },
	{ "PPC_ALLOCATE_HTAB", 0xC004AEA7, 0xC004AEA7, W_VM_PPC },
	{ "ALLOCATE_RMA", 0x8008AEA9, 0x4008AEA9, W_VM_RMA },
	{ "PPC_GET_HTAB_FD", 0x4020AEAA, 0x8020AEAA, W_VM_PPC },
	{ "PPC_RESIZE_HPT_PREPARE", 0x8010AEAD, 0x4010AEAD, W_VM_PPC },
	{ "PPC_RESIZE_HPT_COMMIT", 0x8010AEAE, 0x4010AEAE, W_VM_PPC },
	{ "S390_GET_CMMA_BITS", 0xC020AEB8, 0, W_VM_S390 },
	{ "S390_SET_CMMA_BITS", 0x4020AEB9, 0, W_VM_S390 },
	{ "SET_DEVICE_ATTR", 0x4018AEE1, 0x8018AEE1, W_VM_S390 },
	{ "GET_DEVICE_ATTR", 0x4018AEE2, 0x8018AEE2, W_VM_S390 },
	{ "HAS_DEVICE_ATTR", 0x4018AEE3, 0x8018AEE3, W_VM_S390 },
};

#define N_KVM (sizeof(kvm_table) / sizeof(kvm_table[0]))

enum {
	K_API = 0,
	K_CREATE_VM = 1,
	K_CHECK = 2,
	K_MMAP = 3,
	K_SIE = 4,
	K_RMA = 8,
	K_HTAB_FD = 9,
	K_COMMIT = 11,
};

static const uint32_t priv_ppc[] = {
	KVMSHIM_PPC_H_ENTER,	   KVMSHIM_PPC_H_REMOVE,
	KVMSHIM_PPC_H_PROTECT,	   KVMSHIM_PPC_SET_RC,
	KVMSHIM_PPC_READ_ENTRY,	   KVMSHIM_PPC_INSERT_RAW,
	KVMSHIM_PPC_RUN,	   KVMSHIM_PPC_SET_MMU_READY,
	KVMSHIM_PPC_RESIZE_WORKER, KVMSHIM_PPC_RESIZE_RELEASE,
	KVMSHIM_PPC_FAIL_ALLOC,	   KVMSHIM_PPC_INFO,
};

static const uint32_t priv_s390[] = { KVMSHIM_S390_ESSA,
				      KVMSHIM_S390_CMMA_INFO };

static const uint32_t priv_other[] = {
	KVMSHIM_WHOAMI,	    KVMSHIM_SET_VCPUS, KVMSHIM_GET_VCPUS,
	KVMSHIM_FD_REQUEST, KVMSHIM_BIND,      KVMSHIM_VM_PROOF,
};

static bool in_list(const uint32_t *l, size_t n, uint32_t cmd)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i] == cmd)
			return true;
	return false;
}

#define IN_LIST(l, cmd) in_list(l, sizeof(l) / sizeof(l[0]), cmd)

/* One configuration of a run. */
struct fz_cfg {
	const char *profile;
	bool ppc;
	bool rma;
	bool native; /* ioctl_encodings = native */
};

static const struct fz_cfg cfgs[] = {
	{ "ppc970", true, true, false },  { "power7", true, true, false },
	{ "power8", true, false, false }, { "s390x", false, false, false },
	{ "ppc970", true, true, true },	  { "power8", true, false, true },
};

#define N_CFGS (sizeof(cfgs) / sizeof(cfgs[0]))

/* Which KVM ioctl cmd is for this profile, or -1. */
static int kvm_decode(const struct fz_cfg *c, uint32_t cmd)
{
	size_t i;

	for (i = 0; i < N_KVM; i++) {
		if (c->ppc && kvm_table[i].ppc && cmd == kvm_table[i].ppc)
			return (int)i;
		if ((!c->ppc || !c->native) && cmd == kvm_table[i].generic)
			return (int)i;
	}
	return -1;
}

static bool served_on_vm(const struct fz_cfg *c, int id)
{
	unsigned int w = kvm_table[id].where;

	return (w & W_VM_ALL) || ((w & W_VM_PPC) && c->ppc) ||
	       ((w & W_VM_RMA) && c->rma) || ((w & W_VM_S390) && !c->ppc);
}

/* The errnos the spec gives the ioctls a VM fd serves (not ENOTTY). */
static bool vm_errno(int e)
{
	switch (e) {
	case EINVAL:
	case EFAULT:
	case ENOMEM:
	case EEXIST:
	case EBUSY:
	case ENXIO:
	case ENOSPC:
	case EPERM:
	case ENOENT:
	case ESRCH:
	case EOPNOTSUPP:
	case EMFILE:
	case ENFILE:
	case E2BIG:
		return true;
	}
	return false;
}

/* A call as the oracle sees it. */
struct fz_call {
	const struct fz_cfg *cfg;
	enum ks_handle_kind kind;
	bool foreign; /* a visible process that is not the VM's creator */
	uint32_t cmd;
	uint64_t arg;
	long ret;
	const char *via;
};

#define FZ_FAIL(c, why)                                                        \
	ck_abort_msg("%s %s %s: cmd 0x%08x arg 0x%llx%s = %ld: %s", (c)->via,  \
		     (c)->cfg->profile,                                        \
		     (c)->kind == KS_HANDLE_SYSTEM ? "system" :                \
		     (c)->kind == KS_HANDLE_VM	   ? "vm" :                    \
						     "htab",                       \
		     (c)->cmd, (unsigned long long)(c)->arg,                   \
		     (c)->foreign ? " (foreign)" : "", (c)->ret, why)

static void expect_eq(const struct fz_call *c, long want)
{
	char why[64];

	if (c->ret != want) {
		snprintf(why, sizeof(why), "expected %ld", want);
		FZ_FAIL(c, why);
	}
}

static void expect_ok_or(const struct fz_call *c, const int *errs, size_t n)
{
	size_t i;

	if (c->ret >= 0)
		return;
	for (i = 0; i < n; i++)
		if (c->ret == -errs[i])
			return;
	FZ_FAIL(c, "errno not allowed here");
}

#define EXPECT_OK_OR(c, ...)                                                   \
	do {                                                                   \
		static const int errs_[] = { __VA_ARGS__ };                    \
		expect_ok_or(c, errs_, sizeof(errs_) / sizeof(errs_[0]));      \
	} while (0)

static void check_private(const struct fz_call *c)
{
	uint32_t cmd = c->cmd;

	if (cmd == KVMSHIM_WHOAMI) {
		EXPECT_OK_OR(c, EFAULT);
		return;
	}
	if (c->kind == KS_HANDLE_HTAB) {
		expect_eq(c, -ENOTTY);
		return;
	}
	if (c->kind == KS_HANDLE_SYSTEM) {
		if (cmd == KVMSHIM_FD_REQUEST)
			EXPECT_OK_OR(c, EFAULT, EINVAL, EMFILE, ENFILE, ENOMEM);
		else if (cmd == KVMSHIM_BIND)
			EXPECT_OK_OR(c, EFAULT, ENOTTY, EINVAL, EBADF);
		else if (IN_LIST(priv_other, cmd) || IN_LIST(priv_ppc, cmd) ||
			 IN_LIST(priv_s390, cmd))
			expect_eq(c, -ENOTTY);
		else
			expect_eq(c, -EINVAL);
		return;
	}
	if (cmd == KVMSHIM_FD_REQUEST) {
		if (c->ret != -ENOTTY && c->ret != -EIO && c->ret < 0 &&
		    !vm_errno((int)-c->ret))
			FZ_FAIL(c, "FD_REQUEST errno");
	} else if (cmd == KVMSHIM_BIND) {
		expect_eq(c, -ENOTTY);
	} else if (cmd == KVMSHIM_VM_PROOF) {
		EXPECT_OK_OR(c, EFAULT, EMFILE, ENFILE);
	} else if (cmd == KVMSHIM_SET_VCPUS || cmd == KVMSHIM_GET_VCPUS) {
		EXPECT_OK_OR(c, EFAULT, EINVAL);
	} else if ((c->cfg->ppc && IN_LIST(priv_ppc, cmd)) ||
		   (!c->cfg->ppc && IN_LIST(priv_s390, cmd))) {
		if (c->ret < 0 && !vm_errno((int)-c->ret))
			FZ_FAIL(c, "guest simulation errno");
	} else if (c->foreign && !IN_LIST(priv_other, cmd) &&
		   !IN_LIST(priv_ppc, cmd) && !IN_LIST(priv_s390, cmd)) {
		/* an unknown number: the caller check comes first */
		expect_eq(c, -EIO);
	} else {
		expect_eq(c, -ENOTTY);
	}
}

static bool valid_vm_type(const struct fz_cfg *c, uint64_t type)
{
	return type == 0 || (c->ppc && type == KS_VM_PPC_HV);
}

static void check_system(const struct fz_call *c, int id)
{
	switch (id) {
	case K_API:
		expect_eq(c, c->arg ? -EINVAL : 12);
		return;
	case K_CREATE_VM:
		/* D6: every check passed, but no launcher */
		expect_eq(c, valid_vm_type(c->cfg, c->arg) ? -EOPNOTSUPP :
							     -EINVAL);
		return;
	case K_CHECK:
		if (c->ret < 0 || c->ret > 32767 || (c->arg > 255 && c->ret))
			FZ_FAIL(c, "capability value");
		return;
	case K_MMAP:
		expect_eq(c, c->arg ? -EINVAL : c->cfg->ppc ? 131072 : 4096);
		return;
	case K_SIE:
		expect_eq(c, c->cfg->ppc ? -EINVAL : 0);
		return;
	}
	/* Q18 */
	expect_eq(c, -EINVAL);
}

static void check_vm(const struct fz_call *c, int id)
{
	if (c->foreign) {
		/* generic.md §4.1: before anything else, known or not */
		expect_eq(c, -EIO);
		return;
	}
	if (id < 0 || !served_on_vm(c->cfg, id)) {
		expect_eq(c, -ENOTTY);
		return;
	}
	if (id == K_CHECK) {
		if (c->ret < 0 || c->ret > 32767 || (c->arg > 255 && c->ret))
			FZ_FAIL(c, "capability value");
		return;
	}
	if (id == K_RMA) {
		/* rma.md §3 rows 2 and 5 (D6) */
		EXPECT_OK_OR(c, ENOMEM, EOPNOTSUPP);
		if (c->ret >= 0)
			FZ_FAIL(c, "an RMA fd without the launcher");
		return;
	}
	if (id == K_HTAB_FD && c->ret >= 0)
		FZ_FAIL(c, "an HTAB fd without the launcher");
	/* hpt.md: COMMIT fails with EIO while the MMU is not ready (Q8) */
	if (id == K_COMMIT && c->ret == -EIO)
		return;
	if (c->ret < 0 && !vm_errno((int)-c->ret))
		FZ_FAIL(c, "errno not allowed for this ioctl");
}

static void fz_check(const struct fz_call *c)
{
	int id;

	if (c->ret == -ENOSYS || c->ret == -KS_ERESTART || c->ret > INT_MAX)
		FZ_FAIL(c, "never");
	if (_IOC_TYPE(c->cmd) == KVMSHIM_IO) {
		check_private(c);
		return;
	}
	id = kvm_decode(c->cfg, c->cmd);
	if (c->kind == KS_HANDLE_SYSTEM)
		check_system(c, id);
	else if (c->kind == KS_HANDLE_VM)
		check_vm(c, id);
	else
		/* generic.md §6: the kvm-htab file has no ioctls */
		expect_eq(c, -ENOTTY);
}

/* ---- the transports ---- */

struct fz_handle {
	/* direct */
	struct ks_handle *h;
	/* CUSE */
	struct fk *k;
	uint64_t fh;
	enum ks_handle_kind kind;
	pid_t creator; /* of its VM; 0: none, or not visible */
};

struct fz {
	const struct fz_cfg *cfg;
	struct ks_engine *eng;
	bool cuse;
	struct fk *sysk, *vmk;
	uint8_t *mem; /* FZ_VALID + FZ_FAULT */
	uint64_t seed;
	struct fz_handle hs[FZ_MAX_HANDLES];
	unsigned int n;
	unsigned int calls;
	/* CUSE: the caller may change memory between rounds, or give up */
	bool chaos;
	uint64_t chaos_arg;
	unsigned int abandoned;
};

static uint64_t rnd(struct fz *f)
{
	/* xorshift64*: reproducible from the seed in the failure message */
	f->seed ^= f->seed >> 12;
	f->seed ^= f->seed << 25;
	f->seed ^= f->seed >> 27;
	return f->seed * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(struct fz *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

static uint64_t mem_addr(struct fz *f, size_t off)
{
	return (uint64_t)(uintptr_t)(f->mem + off);
}

/* The caller's memory for the struct of a valid call (one at a time). */
static void *fz_tmp(struct fz *f, size_t size)
{
	ck_assert_uint_le(size, 4096);
	memset(f->mem + FZ_FIXED, 0, size);
	return f->mem + FZ_FIXED;
}

#define FZ_TMP(f, type) ((type *)fz_tmp(f, sizeof(type)))

/* An address that is never in [4096, FZ_HIGH) unless it is f->mem's. */
static uint64_t rnd_ptr(struct fz *f)
{
	switch (rnd_below(f, 10)) {
	case 0:
		return rnd_below(f, 4096);
	case 1:
		return mem_addr(f, FZ_VALID + rnd_below(f, FZ_FAULT));
	case 2:
		return FZ_HIGH + rnd_below(f, 1ULL << 62);
	case 3:
		/* the end wraps past 2^64 */
		return ~0ULL - rnd_below(f, 64);
	case 4:
		/* close to the fault zone: the tail of a copy faults */
		return mem_addr(f, FZ_VALID - 8 * (1 + rnd_below(f, 8)));
	case 5:
		return mem_addr(f, rnd_below(f, FZ_STRUCTS - 128));
	}
	return mem_addr(f, 8 * rnd_below(f, FZ_STRUCTS / 8 - 16));
}

/* A scalar argument: caps, types, orders, never a plausible pointer. */
static uint64_t rnd_scalar(struct fz *f)
{
	switch (rnd_below(f, 6)) {
	case 0:
		return rnd_below(f, 4);
	case 1:
		return rnd_below(f, 300);
	case 2:
		return (1ULL << 32) | rnd_below(f, 300);
	case 3:
		return FZ_HIGH | rnd(f);
	case 4:
		return ~0ULL - rnd_below(f, 4);
	}
	return rnd_below(f, 4096);
}

/* A value for a pointer field inside a struct. */
static uint64_t rnd_field_ptr(struct fz *f)
{
	if (rnd_below(f, 3))
		return mem_addr(f, FZ_PTR_LO + 8 * rnd_below(f, (FZ_PTR_HI -
								 FZ_PTR_LO) /
									8));
	return rnd_ptr(f);
}

/*
 * Random bytes where structs are read from, except that no 8-byte field a
 * handler may follow as a pointer (offsets 16 and 24 of a struct: the
 * device attribute's addr, the CMMA values) points to memory this process
 * does not own.  A struct outside the random area (near the fault zone)
 * holds what earlier replies left there, so its pointer fields are set
 * too.
 */
static void scramble(struct fz *f, uint64_t arg)
{
	size_t i, off;
	uint64_t v;

	for (i = 0; i < FZ_STRUCTS; i += 8) {
		v = rnd(f);
		/* plenty of zeros and small numbers, as real structs have */
		switch (rnd_below(f, 4)) {
		case 0:
			v = 0;
			break;
		case 1:
			v &= 0xff;
			break;
		case 2:
			v &= 0xffffffff000000ffULL;
			break;
		}
		memcpy(f->mem + i, &v, 8);
	}
	if (arg < mem_addr(f, 0) || arg >= mem_addr(f, FZ_VALID))
		return;
	off = (size_t)(arg - mem_addr(f, 0));
	for (i = 16; i <= 24; i += 8) {
		if (off + i + 8 > FZ_VALID)
			break;
		v = rnd_field_ptr(f);
		memcpy(f->mem + off + i, &v, 8);
	}
}

/* The process a caller "who" is: 0 us, 1 another one, 2 invisible. */
static pid_t who_tgid(const struct fz *f, int who)
{
	if (who == 2)
		return 0;
	if (f->cuse)
		return who == 0 ? getpid() : 1;
	return who == 0 ? UNIT_TGID : UNIT_TGID + 1;
}

/*
 * Between two rounds a caller's other threads may rewrite the struct, and
 * a signal may end the syscall (then the kernel never sends the rest).
 */
static bool fz_between_rounds(void *opaque, unsigned int round)
{
	struct fz *f = opaque;

	(void)round;
	if (!rnd_below(f, 6)) {
		f->abandoned++;
		return false;
	}
	if (!rnd_below(f, 4))
		scramble(f, f->chaos_arg);
	return true;
}

static long fz_ioctl_raw(struct fz *f, struct fz_handle *h, int who,
			 uint32_t cmd, uint64_t arg)
{
	struct ks_uctx_direct d;
	struct fk_ioctl io;
	pid_t tgid;
	long ret;

	if (!f->cuse) {
		tgid = who == 0 ? UNIT_TGID : who == 1 ? UNIT_TGID + 1 : 0;
		ks_uctx_direct_init(&d, tgid);
		/* everything from the fault zone on faults */
		d.fault_lo = mem_addr(f, FZ_VALID);
		d.fault_hi = UINT64_MAX;
		return ks_ioctl(h->h, cmd, arg, &d.u);
	}
	memset(&io, 0, sizeof(io));
	io.fh = h->fh;
	/* pid 1 is visible and never our creator; pid 0 is invisible */
	io.pid = who == 0 ? fk_gettid() : who == 1 ? 1 : 0;
	io.cmd = cmd;
	io.arg = arg;
	if (f->chaos) {
		f->chaos_arg = arg;
		io.before_round = fz_between_rounds;
		io.opaque = f;
	}
	ret = fk_ioctl_ex(h->k, &io);
	ck_assert_msg(!io.kernel_check_failed,
		      "cmd 0x%08x: a RETRY the kernel would refuse", cmd);
	return ret;
}

/* What a handle is now, as WHOAMI tells. */
static void fz_refresh(struct fz *f, struct fz_handle *h)
{
	struct kvmshim_whoami *w = FZ_TMP(f, struct kvmshim_whoami);

	ck_assert_int_eq(fz_ioctl_raw(f, h, 0, KVMSHIM_WHOAMI, (uintptr_t)w),
			 0);
	h->kind = w->kind == KVMSHIM_KIND_VM   ? KS_HANDLE_VM :
		  w->kind == KVMSHIM_KIND_HTAB ? KS_HANDLE_HTAB :
						 KS_HANDLE_SYSTEM;
	h->creator = w->creator_tgid;
	if (!f->cuse)
		ck_assert_int_eq(ks_handle_kind(h->h), h->kind);
}

/* A checked call. */
static long fz_ioctl(struct fz *f, struct fz_handle *h, int who, uint32_t cmd,
		     uint64_t arg)
{
	struct fz_call c = {
		.cfg = f->cfg,
		.kind = h->kind,
		.foreign = h->kind == KS_HANDLE_VM && h->creator &&
			   who_tgid(f, who) && who_tgid(f, who) != h->creator,
		.cmd = cmd,
		.arg = arg,
		.via = f->cuse ? "cuse" : "direct",
	};

	c.ret = fz_ioctl_raw(f, h, who, cmd, arg);
	f->calls++;
	/* a syscall abandoned between rounds has no result to check */
	if (f->chaos && c.ret == -EINTR)
		return c.ret;
	fz_check(&c);
	/* a random BIND may have found a token a random FD_REQUEST left */
	if (cmd == KVMSHIM_BIND && !c.ret)
		fz_refresh(f, h);
	return c.ret;
}

static struct fz_handle *fz_add(struct fz *f, enum ks_node node, int oflags)
{
	struct fz_handle *h;
	struct ks_caller caller = { .tid = UNIT_TGID, .tgid = UNIT_TGID };

	ck_assert_uint_lt(f->n, FZ_MAX_HANDLES);
	h = &f->hs[f->n];
	memset(h, 0, sizeof(*h));
	if (f->cuse) {
		h->k = node == KS_NODE_VM ? f->vmk : f->sysk;
		ck_assert_int_eq(fk_open(h->k, fk_gettid(), oflags, &h->fh), 0);
	} else {
		ck_assert_int_eq(ks_open(f->eng, node, oflags, &caller, &h->h),
				 0);
	}
	f->n++;
	fz_refresh(f, h);
	ck_assert_int_eq(h->kind,
			 node == KS_NODE_VM ? KS_HANDLE_VM : KS_HANDLE_SYSTEM);
	return h;
}

static void fz_close(struct fz *f, unsigned int i)
{
	struct fz_handle *h = &f->hs[i];

	if (f->cuse)
		ck_assert_int_eq(fk_release(h->k, h->fh), 0);
	else
		ks_release(h->h);
	f->hs[i] = f->hs[--f->n];
}

static struct fz_handle *fz_pick(struct fz *f, enum ks_handle_kind kind)
{
	unsigned int i, start = (unsigned int)rnd_below(f, f->n);

	for (i = 0; i < f->n; i++)
		if (f->hs[(start + i) % f->n].kind == kind)
			return &f->hs[(start + i) % f->n];
	return NULL;
}

/* ---- valid sequences that build state ---- */

static uint64_t fd_request(struct fz *f, struct fz_handle *h, uint32_t cmd,
			   uint64_t arg, uint64_t flags)
{
	struct kvmshim_fd_request *req = FZ_TMP(f, struct kvmshim_fd_request);

	req->cmd = cmd;
	req->arg = arg;
	memcpy(req->data, &flags, sizeof(flags));
	if (fz_ioctl(f, h, 0, KVMSHIM_FD_REQUEST, (uintptr_t)req))
		return 0;
	return req->token;
}

static void fz_bind_new(struct fz *f)
{
	struct fz_handle *src, *h;
	uint64_t tok, flags = 0, *arg;
	int oflags = O_RDWR;

	if (f->n >= FZ_MAX_HANDLES) {
		fz_close(f, (unsigned int)rnd_below(f, f->n));
		return;
	}
	if (f->cfg->ppc && rnd_below(f, 2) &&
	    (src = fz_pick(f, KS_HANDLE_VM))) {
		flags = rnd_below(f, 2) ? KS_GET_HTAB_WRITE : 0;
		oflags = flags ? O_WRONLY : O_RDONLY;
		tok = fd_request(f, src, 0x4020AEAA, 0, flags);
	} else {
		src = fz_pick(f, KS_HANDLE_SYSTEM);
		if (!src)
			src = fz_add(f, KS_NODE_SYSTEM, O_RDWR);
		tok = fd_request(f, src, 0x0000AE01, rnd_below(f, 2), 0);
	}
	if (!tok || f->n >= FZ_MAX_HANDLES)
		return;
	h = fz_add(f, KS_NODE_SYSTEM, oflags);
	arg = FZ_TMP(f, uint64_t);
	*arg = tok;
	if (fz_ioctl(f, h, 0, KVMSHIM_BIND, (uintptr_t)arg) == 0)
		ck_assert_int_ne(h->kind, KS_HANDLE_SYSTEM);
}

static void fz_memslot(struct fz *f, struct fz_handle *vm)
{
	struct ks_userspace_memory_region *m =
		FZ_TMP(f, struct ks_userspace_memory_region);

	m->slot = (uint32_t)rnd_below(f, 4);
	m->flags = (uint32_t)rnd_below(f, 2);
	m->guest_phys_addr = rnd_below(f, 4) << 24;
	m->memory_size = rnd_below(f, 3) << 24;
	m->userspace_addr = 0x7f0000000000ULL;
	fz_ioctl(f, vm, 0, KS_SET_USER_MEMORY_REGION, (uintptr_t)m);
}

static void fz_build_ppc(struct fz *f, struct fz_handle *vm)
{
	struct kvmshim_ppc_hpte *e;
	struct ks_ppc_resize_hpt *rz;
	struct kvmshim_vcpus *v;
	uint32_t *order;

	switch (rnd_below(f, 6)) {
	case 0:
		order = FZ_TMP(f, uint32_t);
		*order = 18 + (uint32_t)rnd_below(f, 3);
		fz_ioctl(f, vm, 0, KS_PPC_ALLOCATE_HTAB, (uintptr_t)order);
		return;
	case 1:
		e = FZ_TMP(f, struct kvmshim_ppc_hpte);
		e->index = rnd_below(f, 4096);
		e->v = (rnd(f) & ~0x7fULL) | 1;
		e->r = rnd(f) & 0x3fffff;
		fz_ioctl(f, vm, 0, KVMSHIM_PPC_H_ENTER, (uintptr_t)e);
		return;
	case 2:
		rz = FZ_TMP(f, struct ks_ppc_resize_hpt);
		rz->shift = rnd_below(f, 4) ? 18 + (uint32_t)rnd_below(f, 3) :
					      0;
		fz_ioctl(f, vm, 0,
			 rnd_below(f, 2) ? KS_PPC_RESIZE_HPT_PREPARE :
					   KS_PPC_RESIZE_HPT_COMMIT,
			 (uintptr_t)rz);
		return;
	case 3:
		fz_memslot(f, vm);
		return;
	case 4:
		fz_ioctl(f, vm, 0, KVMSHIM_PPC_RUN, 0);
		return;
	}
	v = FZ_TMP(f, struct kvmshim_vcpus);
	v->created = 1 + (uint32_t)rnd_below(f, 2);
	v->running = (uint32_t)rnd_below(f, 2);
	fz_ioctl(f, vm, 0, KVMSHIM_SET_VCPUS, (uintptr_t)v);
}

static void fz_build_s390(struct fz *f, struct fz_handle *vm)
{
	struct ks_device_attr *a;
	struct ks_s390_cmma_log *l;
	struct kvmshim_s390_essa *e;
	uint64_t values = mem_addr(f, FZ_PTR_LO);

	switch (rnd_below(f, 5)) {
	case 0:
		a = FZ_TMP(f, struct ks_device_attr);
		a->group = rnd_below(f, 2) ? KS_S390_VM_MIGRATION :
					     KS_S390_VM_MEM_CTRL;
		a->attr = rnd_below(f, 3);
		a->addr = values;
		fz_ioctl(f, vm, 0, KS_SET_DEVICE_ATTR, (uintptr_t)a);
		return;
	case 1:
		fz_memslot(f, vm);
		return;
	case 2:
		e = FZ_TMP(f, struct kvmshim_s390_essa);
		e->gfn = rnd_below(f, 1 << 14);
		e->count = 1 + (uint32_t)rnd_below(f, 64);
		e->usage = (uint8_t)rnd_below(f, 4);
		fz_ioctl(f, vm, 0, KVMSHIM_S390_ESSA, (uintptr_t)e);
		return;
	case 3:
		l = FZ_TMP(f, struct ks_s390_cmma_log);
		l->start_gfn = rnd_below(f, 1 << 14);
		l->count = (uint32_t)rnd_below(f, 1 << 20);
		l->flags = (uint32_t)rnd_below(f, 2);
		l->values = values;
		fz_ioctl(f, vm, 0, KS_S390_GET_CMMA_BITS, (uintptr_t)l);
		return;
	}
	l = FZ_TMP(f, struct ks_s390_cmma_log);
	l->start_gfn = rnd_below(f, 1 << 14);
	l->count = (uint32_t)rnd_below(f, 1 << 12);
	l->mask = ~0ULL;
	l->values = values;
	fz_ioctl(f, vm, 0, KS_S390_SET_CMMA_BITS, (uintptr_t)l);
}

/* ---- random calls ---- */

static uint32_t rnd_cmd(struct fz *f)
{
	const struct fz_kvm *k;
	uint32_t cmd;

	switch (rnd_below(f, 8)) {
	case 0:
	case 1:
		k = &kvm_table[rnd_below(f, N_KVM)];
		cmd = rnd_below(f, 2) && k->ppc ? k->ppc : k->generic;
		return cmd;
	case 2:
		/* one bit away from a KVM number */
		k = &kvm_table[rnd_below(f, N_KVM)];
		cmd = rnd_below(f, 2) && k->ppc ? k->ppc : k->generic;
		return cmd ^ (1U << rnd_below(f, 32));
	case 3:
		if (rnd_below(f, 2))
			return priv_other[rnd_below(f, sizeof(priv_other) / 4)];
		return rnd_below(f, 2) ?
			       priv_ppc[rnd_below(f, sizeof(priv_ppc) / 4)] :
			       priv_s390[rnd_below(f, sizeof(priv_s390) / 4)];
	case 4:
		return _IOC((uint32_t)rnd_below(f, 4), KVMSHIM_IO,
			    (uint32_t)rnd_below(f, 0x50),
			    (uint32_t)rnd_below(f, 80));
	case 5:
		return (uint32_t)rnd(f) | (KS_KVMIO << 8);
	case 6:
		return (uint32_t)(rnd(f) & 0xffff00ffU) | (KS_KVMIO << 8);
	}
	return (uint32_t)rnd(f);
}

/* read(2) and write(2): only an HTAB stream has them (generic.md §1). */
static void fz_read_write(struct fz *f, struct fz_handle *h)
{
	struct ks_caller caller = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_chunk chunk = { .page_size = 4096 };
	bool wr = rnd_below(f, 2);
	size_t size = (size_t)rnd_below(f, rnd_below(f, 4) ? 4096 : 300000);
	uint8_t *buf = f->mem + FZ_PTR_LO;
	ssize_t ret;

	if (wr)
		scramble(f, 0);
	if (wr)
		memcpy(buf, f->mem, size < FZ_STRUCTS ? size : FZ_STRUCTS);
	if (f->cuse)
		ret = wr ? fk_write(h->k, h->fh, fk_gettid(), buf, size) :
			   fk_read(h->k, h->fh, fk_gettid(), buf, size);
	else
		ret = wr ? ks_write(h->h, buf, size, &chunk, &caller) :
			   ks_read(h->h, buf, size, &chunk, &caller);
	f->calls++;
	if (h->kind != KS_HANDLE_HTAB) {
		/* CUSE sends nothing for 0 bytes: the syscall returns 0 */
		ck_assert_int_eq(ret, f->cuse && !size ? 0 : -EINVAL);
		return;
	}
	ck_assert_msg(ret <= (ssize_t)size && ret != -ENOSYS && ret != -ENOTTY,
		      "%s of %zu bytes on an HTAB stream: %zd",
		      wr ? "write" : "read", size, ret);
}

static void fz_random_call(struct fz *f)
{
	struct fz_handle *h = &f->hs[rnd_below(f, f->n)];
	uint32_t cmd = rnd_cmd(f);
	uint64_t arg;
	int who;

	if (!rnd_below(f, 12)) {
		fz_read_write(f, h);
		return;
	}

	/* scalar ioctls take the argument as a number */
	arg = _IOC_DIR(cmd) == _IOC_NONE && rnd_below(f, 4) ? rnd_scalar(f) :
							      rnd_ptr(f);
	scramble(f, arg);
	who = rnd_below(f, 8) == 0 ? 1 : rnd_below(f, 8) == 0 ? 2 : 0;
	f->chaos = f->cuse;
	fz_ioctl(f, h, who, cmd, arg);
	f->chaos = false;
}

static void fz_step(struct fz *f)
{
	struct fz_handle *vm;
	uint64_t r = rnd_below(f, 100);

	if (r < 70 || !f->n) {
		if (!f->n)
			fz_add(f, KS_NODE_SYSTEM, O_RDWR);
		fz_random_call(f);
	} else if (r < 90) {
		vm = fz_pick(f, KS_HANDLE_VM);
		if (!vm)
			return;
		if (f->cfg->ppc)
			fz_build_ppc(f, vm);
		else
			fz_build_s390(f, vm);
	} else if (r < 96) {
		fz_bind_new(f);
	} else if (f->n < FZ_MAX_HANDLES && rnd_below(f, 2)) {
		fz_add(f, rnd_below(f, 2) ? KS_NODE_VM : KS_NODE_SYSTEM,
		       rnd_below(f, 4) ? O_RDWR : O_RDONLY);
	} else if (f->n) {
		fz_close(f, (unsigned int)rnd_below(f, f->n));
	}
}

static unsigned int live_vms(struct ks_engine *eng, struct ks_engine_status *st)
{
	return ks_engine_status(eng, st, NULL, NULL);
}

/* An engine of the configuration, its nodes, and caller memory for f. */
static void fz_setup(struct fz *f, unsigned int cfg_index, bool cuse)
{
	const struct fz_cfg *cfg = &cfgs[cfg_index];
	struct ks_engine_config ec;

	memset(f, 0, sizeof(*f));
	f->cfg = cfg;
	f->cuse = cuse;
	f->seed = 0x9E3779B97F4A7C15ULL * (cfg_index + 1) + (cuse ? 77 : 0);
	if (getenv("KS_FUZZ_SEED"))
		f->seed ^= strtoull(getenv("KS_FUZZ_SEED"), NULL, 0);
	f->mem = calloc(1, FZ_VALID + FZ_FAULT);
	ck_assert_ptr_nonnull(f->mem);
	ck_assert_int_eq(ks_engine_config_init(&ec, cfg->profile), 0);
	ec.profile.native_encoding_only = cfg->native;
	/* enough for small tables; big requests meet ENOMEM */
	ec.memory_limit = 64ULL << 20;
	if (cfg->rma)
		ec.rma_count = 2;
	ck_assert_int_eq(ks_engine_new(&ec, &f->eng), 0);
	/* unused tokens from random requests go away quickly */
	ks_tokens_set_ttl_ms(f->eng, 50);
	if (cuse) {
		f->sysk = fk_new(f->eng, KS_NODE_SYSTEM, NULL);
		f->vmk = fk_new(f->eng, KS_NODE_VM, NULL);
		fk_fault(f->sysk, f->mem + FZ_VALID, FZ_FAULT);
		fk_fault(f->vmk, f->mem + FZ_VALID, FZ_FAULT);
	}
}

/* Closes everything; the engine must be back at baseline. */
static void fz_teardown(struct fz *f, uint64_t baseline)
{
	struct ks_engine_status st;
	struct node_stats ns;
	unsigned int tries;

	while (f->n)
		fz_close(f, f->n - 1);
	/* what tokens still hold goes back now */
	ks_tokens_reap(ks_engine_tokens(f->eng), INT64_MAX);
	ck_assert_uint_eq(ks_tokens_pending(f->eng), 0);
	/* a resize worker may still be letting go of its table */
	for (tries = 0; tries < 200; tries++) {
		if (!live_vms(f->eng, &st) && ks_mem_used(f->eng) == baseline)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(live_vms(f->eng, &st), 0);
	ck_assert_uint_eq(st.rma_free, st.rma_total);
	ck_assert_msg(ks_mem_used(f->eng) == baseline,
		      "model memory %llu, baseline %llu",
		      (unsigned long long)ks_mem_used(f->eng),
		      (unsigned long long)baseline);
	if (f->cuse) {
		node_get_stats(fk_node(f->sysk), &ns);
		ck_assert_uint_eq(ns.opens + ns.pending_xfers, 0);
		node_get_stats(fk_node(f->vmk), &ns);
		ck_assert_uint_eq(ns.opens + ns.pending_xfers, 0);
		/* exactly one reply per request, all along */
		ck_assert_uint_eq(fk_free(f->sysk), 0);
		ck_assert_uint_eq(fk_free(f->vmk), 0);
	}
	ks_engine_free(f->eng);
	free(f->mem);
}

static void fz_run(unsigned int cfg_index, bool cuse, unsigned int steps)
{
	uint64_t baseline;
	unsigned int i;
	struct fz f;

	fz_setup(&f, cfg_index, cuse);
	baseline = ks_mem_used(f.eng);
	fz_add(&f, KS_NODE_SYSTEM, O_RDWR);
	fz_add(&f, KS_NODE_VM, O_RDWR);
	for (i = 0; i < steps; i++)
		fz_step(&f);
	ck_assert_uint_gt(f.calls, steps / 2);
	fz_teardown(&f, baseline);
}

START_TEST(test_fuzz_direct)
{
	fz_run((unsigned int)_i, false, 6000);
}
END_TEST

START_TEST(test_fuzz_cuse)
{
	fz_run((unsigned int)_i, true, 1500);
}
END_TEST

#define FZ_THREADS 4

struct fz_worker {
	struct fz f;
	pthread_t thread;
	unsigned int steps;
};

/* Calls and valid sequences on handles others use at the same time. */
static void *fz_worker_main(void *arg)
{
	struct fz_worker *w = arg;
	struct fz *f = &w->f;
	struct fz_handle *vm;
	unsigned int i;

	for (i = 0; i < w->steps; i++) {
		if (rnd_below(f, 4)) {
			fz_random_call(f);
			continue;
		}
		vm = fz_pick(f, KS_HANDLE_VM);
		if (vm && f->cfg->ppc)
			fz_build_ppc(f, vm);
		else if (vm)
			fz_build_s390(f, vm);
	}
	return NULL;
}

/*
 * Several threads on the same handles: the system handle, two VMs, and
 * for ppc an HTAB stream of each.  Handles live for the whole run (a
 * transport never releases a handle while a request on it is served).
 */
static void fz_run_threads(unsigned int cfg_index, bool cuse,
			   unsigned int steps)
{
	struct fz_worker *w = calloc(FZ_THREADS, sizeof(*w));
	uint64_t baseline;
	unsigned int i, t;
	struct fz f;

	ck_assert_ptr_nonnull(w);
	fz_setup(&f, cfg_index, cuse);
	baseline = ks_mem_used(f.eng);
	fz_add(&f, KS_NODE_SYSTEM, O_RDWR);
	fz_add(&f, KS_NODE_VM, O_RDWR);
	fz_add(&f, KS_NODE_VM, O_RDWR);
	for (i = 0; i < 8 && f.n < 5; i++)
		fz_bind_new(&f);
	for (t = 0; t < FZ_THREADS; t++) {
		w[t].f = f;
		w[t].f.seed ^= 0x1234567ULL * (t + 1);
		w[t].f.mem = calloc(1, FZ_VALID + FZ_FAULT);
		ck_assert_ptr_nonnull(w[t].f.mem);
		if (cuse) {
			fk_fault(f.sysk, w[t].f.mem + FZ_VALID, FZ_FAULT);
			fk_fault(f.vmk, w[t].f.mem + FZ_VALID, FZ_FAULT);
		}
		w[t].steps = steps;
	}
	for (t = 0; t < FZ_THREADS; t++)
		ck_assert_int_eq(pthread_create(&w[t].thread, NULL,
						fz_worker_main, &w[t]),
				 0);
	for (t = 0; t < FZ_THREADS; t++)
		pthread_join(w[t].thread, NULL);
	for (t = 0; t < FZ_THREADS; t++)
		free(w[t].f.mem);
	free(w);
	fz_teardown(&f, baseline);
}

START_TEST(test_fuzz_threads_direct)
{
	fz_run_threads((unsigned int)_i, false, 2000);
}
END_TEST

START_TEST(test_fuzz_threads_cuse)
{
	fz_run_threads((unsigned int)_i, true, 500);
}
END_TEST

Suite *suite_fuzz(void);
Suite *suite_fuzz(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("random ioctls");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_fuzz_direct, 0, (int)N_CFGS);
	tcase_add_loop_test(tc, test_fuzz_cuse, 0, (int)N_CFGS);
	tcase_add_loop_test(tc, test_fuzz_threads_direct, 0, 4);
	tcase_add_loop_test(tc, test_fuzz_threads_cuse, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
