// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Coverage-guided fuzzing of the engine (libFuzzer).  The input is a
 * program: its first byte picks a profile, the rest is a list of
 * operations on handles (ioctls with structs taken from the input, reads
 * and writes of HTAB streams in CUSE-sized chunks, opens, closes, tokens
 * bound to handles, state-building calls).  The caller's memory is one
 * area the harness owns; every other address faults.
 *
 * A run fails on any memory error (ASan, UBSan), on a result no client
 * may see (ENOSYS, the internal restart code, a read or write longer than
 * asked), and when, after every handle is closed, the engine still holds
 * a VM, a token, a pool entry or model memory.
 *
 *   make fuzz && build/fuzz/engine_fuzz -max_total_time=600 corpus/
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/status.h"
#include "core/token.h"
#include "core/rma.h"
#include "core/uaccess.h"
#include "kvmshim/kvm.h"
#include "kvmshim/kvmshim.h"

#define MEM_VALID (2U << 20)
#define MEM_FAULT (64U << 10)
#define STRUCT_OFF 0U /* where an ioctl's struct goes */
#define STRUCT_MAX 256U
#define DATA_OFF (64U << 10) /* pointer fields and streams point here */
#define MAX_HANDLES 8
#define MAX_OPS 64
#define TGID 4242

struct input {
	const uint8_t *p;
	size_t left;
};

struct run {
	struct ks_engine *eng;
	struct ks_handle *h[MAX_HANDLES];
	unsigned int n;
	uint8_t *mem;
	bool ppc;
};

static const struct profile_cfg {
	const char *name;
	bool ppc;
	bool native;
	unsigned int rma;
} profiles[] = {
	{ "ppc970", true, false, 2 }, { "power7", true, false, 2 },
	{ "power8", true, false, 0 }, { "power8", true, true, 0 },
	{ "s390x", false, false, 0 },
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* the served numbers in both encodings (abi.md), and the private ones */
static const uint32_t cmds[] = {
	0x0000AE00,
	0x0000AE01,
	0x0000AE03,
	0x0000AE04,
	0x0000AE06,
	0x4020AE46,
	0x8020AE46,
	0xC004AEA7,
	0x8008AEA9,
	0x4008AEA9,
	0x4020AEAA,
	0x8020AEAA,
	0x8010AEAD,
	0x4010AEAD,
	0x8010AEAE,
	0x4010AEAE,
	0xC020AEB8,
	0x4020AEB9,
	0x4018AEE1,
	0x4018AEE2,
	0x4018AEE3,
	0x8018AEE1,
	0x2000AE03,
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
	KVMSHIM_WHOAMI,
	KVMSHIM_SET_VCPUS,
	KVMSHIM_GET_VCPUS,
	KVMSHIM_FD_REQUEST,
	KVMSHIM_BIND,
	KVMSHIM_VM_PROOF,
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static uint8_t take8(struct input *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)take8(in) << (8 * i);
	return v;
}

static uint64_t addr_of(struct run *r, size_t off)
{
	return (uint64_t)(uintptr_t)(r->mem + off);
}

/* A pointer field: owned memory, the fault zone, or never mappable. */
static uint64_t pick_pointer(struct run *r, struct input *in)
{
	switch (take8(in) % 8) {
	case 0:
		return take(in, 2);
	case 1:
		return addr_of(r, MEM_VALID + take(in, 2) % MEM_FAULT);
	case 2:
		return ~0ULL - take8(in);
	case 3:
		return (1ULL << 47) + take(in, 4);
	case 4:
		return addr_of(r, MEM_VALID - 8 * (1 + take8(in) % 16));
	}
	return addr_of(r, DATA_OFF + 8 * (take(in, 2) % 8192));
}

static void check_result(long ret)
{
	if (ret == -ENOSYS || ret == -KS_ERESTART)
		abort();
}

/*
 * The caller's memory is exactly the harness's valid area: any other
 * address faults, so a number the engine takes for a pointer is safe.
 */
struct fuzz_uctx {
	struct ks_uctx u;
	uint8_t *lo;
};

static bool fuzz_owned(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	uint64_t lo = (uint64_t)(uintptr_t)((struct fuzz_uctx *)u)->lo;

	return uaddr >= lo && uaddr - lo <= MEM_VALID &&
	       len <= MEM_VALID - (uaddr - lo);
}

static int fuzz_read(struct ks_uctx *u, void *dst, uint64_t uaddr, size_t len)
{
	if (!fuzz_owned(u, uaddr, len))
		return -EFAULT;
	memcpy(dst, (const void *)(uintptr_t)uaddr, len);
	return 0;
}

static int fuzz_want(struct ks_uctx *u, uint64_t uaddr, size_t len)
{
	(void)u;
	(void)uaddr;
	(void)len;
	return 0;
}

static int fuzz_ready(struct ks_uctx *u)
{
	(void)u;
	return 0;
}

static int fuzz_write(struct ks_uctx *u, uint64_t uaddr, const void *src,
		      size_t len)
{
	if (!fuzz_owned(u, uaddr, len))
		return -EFAULT;
	memcpy((void *)(uintptr_t)uaddr, src, len);
	return 0;
}

static const struct ks_uctx_ops fuzz_ops = {
	.read = fuzz_read,
	.want = fuzz_want,
	.ready = fuzz_ready,
	.write = fuzz_write,
};

static void fuzz_uctx_init(struct fuzz_uctx *f, struct run *r, pid_t tgid)
{
	memset(f, 0, sizeof(*f));
	f->u.ops = &fuzz_ops;
	f->u.in_cap = SIZE_MAX;
	f->u.out_cap = SIZE_MAX;
	f->u.caller.tid = tgid;
	f->u.caller.tgid = tgid;
	f->lo = r->mem;
}

static void op_ioctl(struct run *r, struct input *in)
{
	struct ks_handle *h = r->h[take8(in) % r->n];
	uint8_t sel = take8(in), who = take8(in) % 4;
	struct fuzz_uctx d;
	uint32_t cmd;
	uint64_t arg, v;
	size_t len, i;

	if (sel < 4 * N_CMDS)
		cmd = cmds[sel % N_CMDS];
	else
		cmd = (uint32_t)take(in, 4);
	if (!(take8(in) & 3)) {
		arg = take(in, 8);
	} else {
		len = take8(in) % (STRUCT_MAX - 32);
		memset(r->mem + STRUCT_OFF, 0, STRUCT_MAX);
		for (i = 0; i < len && in->left; i++)
			r->mem[STRUCT_OFF + i] = take8(in);
		/* the only fields a handler follows: offsets 16 and 24 */
		for (i = 16; i <= 24; i += 8) {
			v = pick_pointer(r, in);
			memcpy(r->mem + STRUCT_OFF + i, &v, 8);
		}
		arg = addr_of(r, STRUCT_OFF);
	}
	/* us, another process, an invisible one */
	fuzz_uctx_init(&d, r, who == 1 ? TGID + 1 : who == 2 ? 0 : TGID);
	check_result(ks_ioctl(h, cmd, arg, &d.u));
}

static void op_read_write(struct run *r, struct input *in, bool wr)
{
	struct ks_handle *h = r->h[take8(in) % r->n];
	struct ks_caller caller = { .tid = TGID, .tgid = TGID };
	static const size_t caps[] = { 0, 4096, 128 << 10, 1 << 20 };
	struct ks_chunk chunk = { .page_size = 4096 };
	size_t size = (size_t)take(in, 3) % (MEM_VALID - DATA_OFF);
	uint8_t *buf = r->mem + DATA_OFF;
	ssize_t ret;
	size_t i;

	chunk.cap = caps[take8(in) % 4];
	chunk.offset = take8(in) % 2 ? chunk.cap * (take8(in) % 4) : 0;
	if (wr)
		for (i = 0; i < size && in->left; i++)
			buf[i] = take8(in);
	ret = wr ? ks_write(h, buf, size, &chunk, &caller) :
		   ks_read(h, buf, size, &chunk, &caller);
	if (ret > (ssize_t)size)
		abort();
	check_result(ret);
}

static void op_open(struct run *r, struct input *in)
{
	struct ks_caller caller = { .tid = TGID, .tgid = TGID };
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	uint8_t sel = take8(in);

	if (r->n >= MAX_HANDLES)
		return;
	if (!ks_open(r->eng, sel & 1 ? KS_NODE_VM : KS_NODE_SYSTEM,
		     modes[(sel >> 1) % 3], &caller, &r->h[r->n]))
		r->n++;
}

static void op_close(struct run *r, struct input *in)
{
	unsigned int i = take8(in) % r->n;

	ks_release(r->h[i]);
	r->h[i] = r->h[--r->n];
}

static long call(struct ks_handle *h, uint32_t cmd, void *arg)
{
	struct ks_uctx_direct d;

	ks_uctx_direct_init(&d, TGID);
	return ks_ioctl(h, cmd, (uintptr_t)arg, &d.u);
}

/* A token from a VM (HTAB stream) or system handle (VM), bound anew. */
static void op_bind(struct run *r, struct input *in)
{
	struct ks_caller caller = { .tid = TGID, .tgid = TGID };
	struct kvmshim_fd_request req = { 0 };
	struct ks_get_htab_fd ghf = { 0 };
	struct ks_handle *src = r->h[take8(in) % r->n], *h;
	uint8_t sel = take8(in);
	int mode = O_RDWR;

	if (r->n >= MAX_HANDLES)
		return;
	if (ks_handle_kind(src) == KS_HANDLE_VM) {
		ghf.flags = sel & 1 ? KS_GET_HTAB_WRITE : 0;
		ghf.start_index = take(in, 2);
		req.cmd = 0x4020AEAA;
		memcpy(req.data, &ghf, sizeof(ghf));
		mode = sel & 1 ? O_WRONLY : O_RDONLY;
	} else {
		req.cmd = 0x0000AE01;
		req.arg = (sel >> 1) & 1;
	}
	if (call(src, KVMSHIM_FD_REQUEST, &req))
		return;
	if (ks_open(r->eng, KS_NODE_SYSTEM, mode, &caller, &h))
		return;
	r->h[r->n++] = h;
	check_result(call(h, KVMSHIM_BIND, &req.token));
}

/* Valid calls that build state faster than random bytes do. */
static void op_build(struct run *r, struct input *in)
{
	struct ks_handle *h = r->h[take8(in) % r->n];
	uint8_t sel = take8(in);
	struct ks_userspace_memory_region m = { 0 };
	struct kvmshim_vcpus v = { 0 };
	struct ks_device_attr a = { 0 };
	struct kvmshim_s390_essa e = { 0 };
	uint32_t order;

	switch (sel % 5) {
	case 0:
		order = 18 + take8(in) % 4;
		call(h, KS_PPC_ALLOCATE_HTAB, &order);
		break;
	case 1:
		m.slot = take8(in) % 4;
		m.flags = take8(in) % 2;
		m.guest_phys_addr = (take8(in) % 4) << 24;
		m.memory_size = (take8(in) % 3) << 24;
		m.userspace_addr = 0x7f0000000000ULL;
		call(h, KS_SET_USER_MEMORY_REGION, &m);
		break;
	case 2:
		v.created = 1 + take8(in) % 2;
		v.running = take8(in) % 2;
		call(h, KVMSHIM_SET_VCPUS, &v);
		break;
	case 3:
		a.group = take8(in) % 2 ? KS_S390_VM_MIGRATION :
					  KS_S390_VM_MEM_CTRL;
		a.attr = take8(in) % 3;
		a.addr = addr_of(r, DATA_OFF);
		call(h, KS_SET_DEVICE_ATTR, &a);
		break;
	default:
		e.gfn = take(in, 2);
		e.count = 1 + take8(in) % 64;
		e.usage = take8(in) % 4;
		call(h, KVMSHIM_S390_ESSA, &e);
		break;
	}
}

static void run_ops(struct run *r, struct input *in)
{
	unsigned int ops;

	for (ops = 0; ops < MAX_OPS && in->left; ops++) {
		uint8_t op = take8(in) % 10;

		if (!r->n && op != 7) {
			op_open(r, in);
			continue;
		}
		switch (op) {
		case 0:
		case 1:
		case 2:
			op_ioctl(r, in);
			break;
		case 3:
			op_read_write(r, in, false);
			break;
		case 4:
			op_read_write(r, in, true);
			break;
		case 5:
			op_bind(r, in);
			break;
		case 6:
			op_build(r, in);
			break;
		case 7:
			op_open(r, in);
			break;
		case 8:
			op_close(r, in);
			break;
		default:
			op_build(r, in);
			break;
		}
	}
}

/* After the last close the engine must hold nothing of the run. */
static void check_released(struct run *r, uint64_t baseline)
{
	struct ks_engine_status st;
	unsigned int tries, vms = 0;

	ks_tokens_reap(ks_engine_tokens(r->eng), INT64_MAX);
	if (ks_tokens_pending(r->eng))
		abort();
	/* a resize worker may still be letting go of its table */
	for (tries = 0; tries < 500; tries++) {
		vms = ks_engine_status(r->eng, &st, NULL, NULL);
		if (!vms && ks_mem_used(r->eng) == baseline)
			break;
		usleep(1000);
	}
	if (vms || st.rma_free != st.rma_total ||
	    ks_mem_used(r->eng) != baseline) {
		fprintf(stderr,
			"engine_fuzz: %u VMs, %u/%u RMAs, memory %llu "
			"(baseline %llu) after the last close\n",
			vms, st.rma_free, st.rma_total,
			(unsigned long long)ks_mem_used(r->eng),
			(unsigned long long)baseline);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct input in = { data, size };
	const struct profile_cfg *pc;
	struct ks_engine_config cfg;
	struct run r = { 0 };
	uint64_t baseline;

	if (!mem)
		mem = calloc(1, MEM_VALID + MEM_FAULT);
	if (!mem)
		abort();
	pc = &profiles[take8(&in) % N_PROFILES];
	if (ks_engine_config_init(&cfg, pc->name))
		abort();
	cfg.profile.native_encoding_only = pc->native;
	cfg.memory_limit = 64ULL << 20;
	cfg.rma_count = pc->rma;
	if (ks_engine_new(&cfg, &r.eng))
		abort();
	ks_tokens_set_ttl_ms(r.eng, 50);
	r.mem = mem;
	r.ppc = pc->ppc;
	baseline = ks_mem_used(r.eng);
	run_ops(&r, &in);
	while (r.n)
		ks_release(r.h[--r.n]);
	check_released(&r, baseline);
	ks_engine_free(r.eng);
	return 0;
}
