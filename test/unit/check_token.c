// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fd tokens: KVMSHIM_FD_REQUEST and KVMSHIM_BIND for KVM_CREATE_VM, their
 * check order and errnos, who may use a token, expiry and cancellation.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/rma.h"
#include "core/status.h"
#include "core/token.h"
#include "kvmshim/kvmshim.h"
#include "unit.h"

#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

static long fd_request(struct ks_handle *h, pid_t tgid, uint32_t cmd,
		       uint64_t arg, uint32_t flags, pid_t owner,
		       struct kvmshim_fd_request *req)
{
	memset(req, 0, sizeof(*req));
	req->cmd = cmd;
	req->flags = flags;
	req->arg = arg;
	req->owner_tgid = owner;
	req->token = SENTINEL;
	req->rma_size = SENTINEL;
	return unit_ioctl_as(h, tgid, KVMSHIM_FD_REQUEST, (uintptr_t)req);
}

/* A VM token from the system handle, as tgid. */
static uint64_t create_vm_token(struct ks_handle *sys, pid_t tgid,
				uint64_t type)
{
	struct kvmshim_fd_request req;

	ck_assert_int_eq(fd_request(sys, tgid, KS_CREATE_VM, type, 0, 0, &req),
			 0);
	ck_assert(req.token != 0 && req.token != SENTINEL);
	ck_assert_int_eq(req.rma_size, 0);
	return req.token;
}

static long bind_as(struct ks_handle *h, pid_t tgid, uint64_t token)
{
	return unit_ioctl_as(h, tgid, KVMSHIM_BIND, (uintptr_t)&token);
}

static struct ks_handle *open_sys(struct ks_engine *eng, int oflags)
{
	struct ks_caller c = { .tid = UNIT_TGID, .tgid = UNIT_TGID };
	struct ks_handle *h = NULL;

	ck_assert_int_eq(ks_open(eng, KS_NODE_SYSTEM, oflags, &c, &h), 0);
	return h;
}

static unsigned int live_vms(struct ks_engine *eng)
{
	struct ks_engine_status st;

	return ks_engine_status(eng, &st, NULL, NULL);
}

START_TEST(test_create_vm_and_bind)
{
	static const char *const profiles[] = { "ppc970", "power7", "power8",
						"s390x" };
	struct ks_engine *eng = unit_engine(profiles[_i]);
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct kvmshim_whoami w;
	uint64_t tok;

	tok = create_vm_token(sys, UNIT_TGID, 0);
	/* the VM exists from the request on */
	ck_assert_int_eq(live_vms(eng), 1);
	ck_assert_int_eq(ks_tokens_pending(eng), 1);
	ck_assert_int_eq(bind_as(nh, UNIT_TGID, tok), 0);
	ck_assert_int_eq(ks_tokens_pending(eng), 0);
	ck_assert_int_eq(ks_handle_kind(nh), KS_HANDLE_VM);
	ck_assert_int_eq(unit_ioctl(nh, KVMSHIM_WHOAMI, (uintptr_t)&w), 0);
	ck_assert_int_eq(w.kind, KVMSHIM_KIND_VM);
	ck_assert_int_eq(w.creator_tgid, UNIT_TGID);
	ck_assert(w.vm_id != 0);
	/* it works as a VM handle: VM ioctls, the creator check */
	ck_assert_int_eq(unit_ioctl(nh, KS_CHECK_EXTENSION, 105), 1);
	ck_assert_errno(unit_ioctl(nh, KS_GET_API_VERSION, 0), ENOTTY);
	ck_assert_errno(
		unit_ioctl_as(nh, UNIT_TGID + 1, KS_CHECK_EXTENSION, 105), EIO);
	/* a used token is gone */
	ck_assert_errno(bind_as(sys, UNIT_TGID, tok), ENOTTY);
	/* releasing the bound handle destroys the VM */
	ks_release(nh);
	ck_assert_int_eq(live_vms(eng), 0);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_vm_type_is_kept)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct ks_handle *node_vm = unit_open(eng, 1, UNIT_TGID);

	ck_assert_int_eq(bind_as(nh, UNIT_TGID,
				 create_vm_token(sys, UNIT_TGID, KS_VM_PPC_HV)),
			 0);
	ck_assert_int_eq(nh->vm->type, KS_VM_PPC_HV);
	/* indistinguishable from a VM of the VM node but for the type */
	ck_assert_int_eq(node_vm->vm->type, 0);
	ck_assert_int_eq(nh->vm->creator_tgid, node_vm->vm->creator_tgid);
	ck_assert_int_eq(nh->vm->vcpus_created, 0);
	ck_assert_int_eq(nh->vm->slots.n, 0);
	ks_release(node_vm);
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_create_vm_type_errors)
{
	struct ks_engine *eng = unit_engine(_i ? "s390x" : "ppc970");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct kvmshim_fd_request req;

	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 2, 0, 0, &req),
			EINVAL);
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 1ULL << 32, 0,
				   0, &req),
			EINVAL);
	if (_i)
		ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 1, 0,
					   0, &req),
				EINVAL);
	else
		ck_assert_int_eq(fd_request(sys, UNIT_TGID, 0x2000AE01, 1, 0, 0,
					    &req),
				 0);
	/* nothing written on failure, and no VM left behind */
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 7, 0, 0, &req),
			EINVAL);
	ck_assert(req.token == SENTINEL && req.rma_size == SENTINEL);
	ck_assert_int_eq(live_vms(eng), _i ? 0 : 1);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_request_check_order)
{
	struct ks_engine *eng = unit_engine("ppc970");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct kvmshim_fd_request req;

	/* malformed requests: EINVAL before the ioctl's own checks */
	ck_assert_errno(fd_request(vm, UNIT_TGID + 1, KS_ALLOCATE_RMA, 0, 2, 0,
				   &req),
			EINVAL);
	ck_assert_errno(fd_request(vm, UNIT_TGID + 1, KS_ALLOCATE_RMA, 0, 0,
				   UNIT_TGID, &req),
			EINVAL);
	ck_assert_errno(fd_request(vm, UNIT_TGID, KS_ALLOCATE_RMA, 0,
				   KVMSHIM_FD_SUPERVISED, 0, &req),
			EINVAL);
	ck_assert_errno(fd_request(vm, UNIT_TGID, KS_ALLOCATE_RMA, 0,
				   KVMSHIM_FD_SUPERVISED, -5, &req),
			EINVAL);
	memset(&req, 0, sizeof(req));
	req.cmd = KS_CREATE_VM;
	req.reserved = 1;
	ck_assert_errno(unit_ioctl(sys, KVMSHIM_FD_REQUEST, (uintptr_t)&req),
			EINVAL);
	/* not an fd-returning ioctl, or not an encoding of this profile */
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CHECK_EXTENSION, 0, 0, 0,
				   &req),
			EINVAL);
	ck_assert_errno(fd_request(vm, UNIT_TGID + 1, 0x1234, 0, 0, 0, &req),
			EINVAL);
	/* the system fd: the other fd-returning ioctls are unknown there */
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_ALLOCATE_RMA, 0, 0, 0,
				   &req),
			EINVAL);
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_PPC_GET_HTAB_FD, 0, 0, 0,
				   &req),
			EINVAL);
	/* a VM fd: the creator check first, then CREATE_VM is unknown */
	ck_assert_errno(fd_request(vm, UNIT_TGID + 1, KS_CREATE_VM, 0, 0, 0,
				   &req),
			EIO);
	ck_assert_errno(fd_request(vm, UNIT_TGID, KS_CREATE_VM, 0, 0, 0, &req),
			ENOTTY);
	/* supervised: the named client is checked, not the requester */
	ck_assert_errno(fd_request(vm, UNIT_TGID, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED, UNIT_TGID + 1, &req),
			EIO);
	ck_assert_errno(fd_request(vm, UNIT_TGID + 1, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED, UNIT_TGID, &req),
			ENOTTY);
	/* an unreadable request */
	ck_assert_errno(unit_ioctl(sys, KVMSHIM_FD_REQUEST, 16), EFAULT);
	ck_assert_int_eq(ks_tokens_pending(eng), 0);
	ck_assert_int_eq(live_vms(eng), 1);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_request_profile_ioctls)
{
	struct ks_engine *eng = unit_engine(_i ? "s390x" : "power8");
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct kvmshim_fd_request req;

	/* what the profile's Linux does not implement is an unknown ioctl */
	ck_assert_errno(fd_request(vm, UNIT_TGID, 0x8008AEA9, 0, 0, 0, &req),
			ENOTTY);
	if (_i) {
		ck_assert_errno(fd_request(vm, UNIT_TGID, 0x4020AEAA, 0, 0, 0,
					   &req),
				ENOTTY);
		/* the powerpc encoding is no s390x ioctl at all */
		ck_assert_errno(fd_request(vm, UNIT_TGID, 0x4008AEA9, 0, 0, 0,
					   &req),
				EINVAL);
	} else {
		ck_assert_errno(fd_request(vm, UNIT_TGID, 0x4008AEA9, 0, 0, 0,
					   &req),
				ENOTTY);
	}
	ck_assert_errno(
		fd_request(vm, UNIT_TGID + 3, 0x8008AEA9, 0, 0, 0, &req), EIO);
	ks_release(vm);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_bind_errors)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_handle *ro = open_sys(eng, O_RDONLY);
	struct ks_handle *wo = open_sys(eng, O_WRONLY);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	uint64_t tok = create_vm_token(sys, UNIT_TGID, 0);

	/* not an unbound system handle */
	ck_assert_errno(bind_as(vm, UNIT_TGID, tok), ENOTTY);
	/* unknown tokens, and another process's token, look the same */
	ck_assert_errno(bind_as(nh, UNIT_TGID, 0), ENOTTY);
	ck_assert_errno(bind_as(nh, UNIT_TGID, tok ^ 1), ENOTTY);
	ck_assert_errno(bind_as(nh, UNIT_TGID + 1, tok), ENOTTY);
	/* an unreadable token */
	ck_assert_errno(unit_ioctl(nh, KVMSHIM_BIND, 8), EFAULT);
	/* a VM needs a read-write open */
	ck_assert_errno(bind_as(ro, UNIT_TGID, tok), EBADF);
	ck_assert_errno(bind_as(wo, UNIT_TGID, tok), EBADF);
	ck_assert_int_eq(ks_handle_kind(ro), KS_HANDLE_SYSTEM);
	/* none of that used the token up */
	ck_assert_int_eq(bind_as(nh, UNIT_TGID, tok), 0);
	/* a bound handle cannot be bound again */
	tok = create_vm_token(sys, UNIT_TGID, 0);
	ck_assert_errno(bind_as(nh, UNIT_TGID, tok), ENOTTY);
	/* numbers of the range kvmshim does not define: Q18 */
	ck_assert_errno(unit_ioctl(sys, _IO(KVMSHIM_IO, 0x42), 0), EINVAL);
	ck_assert_errno(unit_ioctl(sys, _IOW(KVMSHIM_IO, 0x41, __u32),
				   (uintptr_t)&tok),
			EINVAL);
	ck_assert_errno(unit_ioctl(vm, _IOW(KVMSHIM_IO, 0x41, __u32),
				   (uintptr_t)&tok),
			ENOTTY);
	ck_assert_int_eq(bind_as(sys, UNIT_TGID, tok), 0);
	ck_assert_int_eq(ks_handle_kind(sys), KS_HANDLE_VM);
	ks_release(nh);
	ks_release(wo);
	ks_release(ro);
	ks_release(vm);
	ks_release(sys);
	ck_assert_int_eq(live_vms(eng), 0);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_supervised_create_vm)
{
	struct ks_engine *eng = unit_engine("power7");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct kvmshim_fd_request req;

	/* the launcher (UNIT_TGID) creates a VM for its client 777 */
	ck_assert_int_eq(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 0,
				    KVMSHIM_FD_SUPERVISED, 777, &req),
			 0);
	/* only the requester binds */
	ck_assert_errno(bind_as(nh, 777, req.token), ENOTTY);
	ck_assert_int_eq(bind_as(nh, UNIT_TGID, req.token), 0);
	ck_assert_int_eq(nh->vm->creator_tgid, 777);
	ck_assert_int_eq(unit_ioctl_as(nh, 777, KS_CHECK_EXTENSION, 65), 1);
	ck_assert_errno(unit_ioctl_as(nh, UNIT_TGID, KS_CHECK_EXTENSION, 65),
			EIO);
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_invisible_requester)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct kvmshim_fd_request req;

	/* M4: a caller the daemon cannot see is not checked */
	ck_assert_int_eq(fd_request(sys, 0, KS_CREATE_VM, 0, 0, 0, &req), 0);
	ck_assert_int_eq(bind_as(nh, 999, req.token), 0);
	ck_assert_int_eq(nh->vm->creator_tgid, 0);
	ck_assert_int_eq(unit_ioctl_as(nh, 999, KS_CHECK_EXTENSION, 3), 1);
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* The launcher UNIT_TGID runs the client 777, and nothing else. */
static bool unit_launcher_of(pid_t caller, pid_t client)
{
	return caller == UNIT_TGID && client == 777;
}

START_TEST(test_supervised_only_by_the_launcher)
{
	struct ks_engine_config cfg;
	struct ks_engine *eng;
	struct ks_handle *sys, *vm;
	struct kvmshim_fd_request req;

	ck_assert_int_eq(ks_engine_config_init(&cfg, "ppc970"), 0);
	cfg.may_supervise = unit_launcher_of;
	ck_assert_int_eq(ks_engine_new(&cfg, &eng), 0);
	sys = unit_open(eng, 0, UNIT_TGID);
	vm = unit_open(eng, 1, 777);
	/* malformed requests are EINVAL first */
	ck_assert_errno(fd_request(sys, 555, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED | 2, 777, &req),
			EINVAL);
	ck_assert_errno(fd_request(sys, 555, KS_CHECK_EXTENSION, 0,
				   KVMSHIM_FD_SUPERVISED, 777, &req),
			EINVAL);
	/* another process may not act for 777, nor the launcher for 778 */
	ck_assert_errno(fd_request(sys, 555, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED, 777, &req),
			EPERM);
	ck_assert_uint_eq(req.token, SENTINEL);
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED, 778, &req),
			EPERM);
	/* EPERM comes before the creator check (EIO) of a VM fd */
	ck_assert_errno(fd_request(vm, 555, KS_ALLOCATE_RMA, 0,
				   KVMSHIM_FD_SUPERVISED, 778, &req),
			EPERM);
	ck_assert_errno(fd_request(vm, 555, KS_ALLOCATE_RMA, 0,
				   KVMSHIM_FD_SUPERVISED, 777, &req),
			EPERM);
	ck_assert_int_eq(ks_tokens_pending(eng), 0);
	ck_assert_int_eq(live_vms(eng), 1);
	/* the launcher; and M4, a caller the daemon cannot see */
	ck_assert_int_eq(fd_request(vm, UNIT_TGID, KS_ALLOCATE_RMA, 0,
				    KVMSHIM_FD_SUPERVISED, 777, &req),
			 0);
	ck_assert_int_eq(fd_request(sys, 0, KS_CREATE_VM, 0,
				    KVMSHIM_FD_SUPERVISED, 778, &req),
			 0);
	/* unsupervised requests act for the caller itself */
	ck_assert_int_eq(fd_request(sys, 555, KS_CREATE_VM, 0, 0, 0, &req), 0);
	ck_assert_int_eq(ks_tokens_pending(eng), 3);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_tokens_are_distinct)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	uint64_t toks[64];
	int i, j;

	for (i = 0; i < 64; i++) {
		toks[i] = create_vm_token(sys, UNIT_TGID, 0);
		for (j = 0; j < i; j++)
			ck_assert(toks[i] != toks[j]);
	}
	ck_assert_int_eq(ks_tokens_pending(eng), 64);
	ck_assert_int_eq(live_vms(eng), 64);
	/* the engine cancels them: their VMs go (ASan checks the rest) */
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/* Requester of the i-th token when every process asks for its maximum. */
static pid_t nth_requester(unsigned int i)
{
	return (pid_t)(1000 + i / KVMSHIM_TOKENS_PER_PROCESS);
}

START_TEST(test_token_limit)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct kvmshim_fd_request req;
	pid_t last = nth_requester(KVMSHIM_TOKENS_MAX - 1);
	uint64_t first = 0;
	unsigned int i;

	for (i = 0; i < KVMSHIM_TOKENS_MAX; i++) {
		uint64_t t = create_vm_token(sys, nth_requester(i), 0);

		if (!first)
			first = t;
	}
	ck_assert_errno(fd_request(sys, 4000, KS_CREATE_VM, 0, 0, 0, &req),
			ENFILE);
	ck_assert_uint_eq(req.token, SENTINEL);
	/* a process at its own limit hears about that first */
	ck_assert_errno(fd_request(sys, last, KS_CREATE_VM, 0, 0, 0, &req),
			EMFILE);
	/* the refused VMs did not stay */
	ck_assert_int_eq(live_vms(eng), KVMSHIM_TOKENS_MAX);
	ck_assert_int_eq(bind_as(nh, nth_requester(0), first), 0);
	create_vm_token(sys, 4000, 0);
	ck_assert_errno(fd_request(sys, 4001, KS_CREATE_VM, 0, 0, 0, &req),
			ENFILE);
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_token_limit_per_process)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *vm = unit_open(eng, 1, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	struct kvmshim_fd_request req;
	uint64_t first = 0, proof = SENTINEL;
	unsigned int i;

	for (i = 0; i < KVMSHIM_TOKENS_PER_PROCESS; i++) {
		uint64_t t = create_vm_token(sys, UNIT_TGID, 0);

		if (!first)
			first = t;
	}
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 0, 0, 0, &req),
			EMFILE);
	ck_assert_uint_eq(req.token, SENTINEL);
	/* every kind of token counts, and a refused one leaves nothing */
	ck_assert_errno(unit_ioctl_as(vm, UNIT_TGID, KVMSHIM_VM_PROOF,
				      (uintptr_t)&proof),
			EMFILE);
	ck_assert_uint_eq(proof, SENTINEL);
	ck_assert_uint_eq(ks_tokens_pending(eng), KVMSHIM_TOKENS_PER_PROCESS);
	/* 1 for the VM handle itself */
	ck_assert_int_eq(live_vms(eng), KVMSHIM_TOKENS_PER_PROCESS + 1);
	/* supervised, the requester is still the one counted */
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 0,
				   KVMSHIM_FD_SUPERVISED, 4242, &req),
			EMFILE);
	/* other processes are not held back, nor are unseen callers */
	create_vm_token(sys, UNIT_TGID + 1, 0);
	for (i = 0; i <= KVMSHIM_TOKENS_PER_PROCESS; i++)
		create_vm_token(sys, 0, 0);
	/* a token used is a token no longer pending */
	ck_assert_int_eq(bind_as(nh, UNIT_TGID, first), 0);
	create_vm_token(sys, UNIT_TGID, 0);
	ck_assert_errno(fd_request(sys, UNIT_TGID, KS_CREATE_VM, 0, 0, 0, &req),
			EMFILE);
	ks_release(nh);
	ks_release(vm);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_expired_tokens_do_not_count)
{
	struct ks_engine *eng = unit_engine("s390x");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	unsigned int i;

	/* expired tokens, reaped or not yet, hold no place */
	ks_tokens_set_ttl_ms(eng, 1);
	for (i = 0; i < KVMSHIM_TOKENS_PER_PROCESS; i++)
		create_vm_token(sys, UNIT_TGID, 0);
	usleep(5000);
	ks_tokens_set_ttl_ms(eng, 60000);
	create_vm_token(sys, UNIT_TGID, 0);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

static bool wait_vms(struct ks_engine *eng, unsigned int n, int ms)
{
	int64_t end = ks_now_ms() + ms;

	while (live_vms(eng) != n) {
		if (ks_now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

START_TEST(test_expiry_releases_the_vm)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	uint64_t tok, keep;

	ks_tokens_set_ttl_ms(eng, 100);
	tok = create_vm_token(sys, UNIT_TGID, 0);
	ks_tokens_set_ttl_ms(eng, 60000);
	keep = create_vm_token(sys, UNIT_TGID, 0);
	ck_assert_int_eq(live_vms(eng), 2);
	/* the monitor reaps it without anyone touching the tokens */
	ck_assert(wait_vms(eng, 1, 3000));
	ck_assert_int_eq(ks_tokens_pending(eng), 1);
	ck_assert_errno(bind_as(nh, UNIT_TGID, tok), ENOTTY);
	ck_assert_int_eq(bind_as(nh, UNIT_TGID, keep), 0);
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_expired_token_is_unusable_before_reaping)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_handle *nh = open_sys(eng, O_RDWR);
	uint64_t tok;

	ks_tokens_set_ttl_ms(eng, 0);
	tok = create_vm_token(sys, UNIT_TGID, 0);
	ck_assert_errno(bind_as(nh, UNIT_TGID, tok), ENOTTY);
	ck_assert_int_eq(ks_handle_kind(nh), KS_HANDLE_SYSTEM);
	ck_assert(wait_vms(eng, 0, 3000));
	ks_release(nh);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_reap_reports_next_deadline)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct ks_tokens *t = ks_engine_tokens(eng);
	int64_t now = ks_now_ms();
	int next;

	ck_assert_int_eq(ks_tokens_reap(t, now), -1);
	ks_tokens_set_ttl_ms(eng, 30000);
	create_vm_token(sys, UNIT_TGID, 0);
	ks_tokens_set_ttl_ms(eng, 20000);
	create_vm_token(sys, UNIT_TGID, 0);
	/* the nearest deadline, nothing reaped yet */
	next = ks_tokens_reap(t, now);
	ck_assert_int_gt(next, 19000);
	ck_assert_int_le(next, 20000 + (int)(ks_now_ms() - now));
	ck_assert_int_eq(ks_tokens_pending(eng), 2);
	/* 25 s later one has expired, and its VM with it */
	next = ks_tokens_reap(t, now + 25000);
	ck_assert_int_gt(next, 4000);
	ck_assert_int_le(next, 5000 + (int)(ks_now_ms() - now));
	ck_assert_int_eq(ks_tokens_pending(eng), 1);
	ck_assert_int_eq(live_vms(eng), 1);
	ck_assert_int_eq(ks_tokens_reap(t, now + 31000), -1);
	ck_assert_int_eq(live_vms(eng), 0);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

struct race {
	struct ks_handle *h;
	uint64_t token;
	long ret;
};

static void *race_bind(void *arg)
{
	struct race *r = arg;

	r->ret = bind_as(r->h, UNIT_TGID, r->token);
	return NULL;
}

START_TEST(test_concurrent_binds)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	int round;

	for (round = 0; round < 50; round++) {
		struct ks_handle *nh = open_sys(eng, O_RDWR);
		struct race r[2] = { { nh, 0, 0 }, { nh, 0, 0 } };
		pthread_t th[2];
		int i;

		r[0].token = create_vm_token(sys, UNIT_TGID, 0);
		r[1].token = create_vm_token(sys, UNIT_TGID, 0);
		for (i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, race_bind, &r[i]);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		/* one open, one VM: exactly one BIND wins */
		ck_assert_int_eq((r[0].ret == 0) + (r[1].ret == 0), 1);
		ck_assert_int_eq(r[0].ret + r[1].ret, -ENOTTY);
		ks_release(nh);
	}
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

/*
 * A bind that stops half way, as a preempted thread can: the handle's
 * kind is set, its VM not yet.  An ioctl on the same open at that moment
 * must see the handle either unbound or bound, never half of each.
 */
struct slow_bind {
	struct ks_handle *h;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage; /* 1: half bound, 2: the other ioctl is done */
	long other;
};

static struct slow_bind *slow;

static void *slow_other(void *arg)
{
	struct slow_bind *sb = arg;

	pthread_mutex_lock(&sb->lock);
	while (sb->stage < 1)
		pthread_cond_wait(&sb->cond, &sb->lock);
	pthread_mutex_unlock(&sb->lock);
	sb->other = unit_ioctl(sb->h, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD);
	pthread_mutex_lock(&sb->lock);
	sb->stage = 2;
	pthread_cond_broadcast(&sb->cond);
	pthread_mutex_unlock(&sb->lock);
	return NULL;
}

static void slow_bind_fn(void *obj, struct ks_handle *h)
{
	h->kind = KS_HANDLE_VM;
	pthread_mutex_lock(&slow->lock);
	slow->stage = 1;
	pthread_cond_broadcast(&slow->cond);
	/* the other ioctl gets a second to run before the bind goes on */
	if (slow->stage < 2) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&slow->cond, &slow->lock, &ts);
	}
	pthread_mutex_unlock(&slow->lock);
	h->vm = obj;
}

static void slow_cancel(void *obj)
{
	ks_vm_put(obj);
}

static const struct ks_token_kind slow_kind = {
	.name = "slow",
	.fd_kind = KVMSHIM_FD_KIND_VM,
	.bind = slow_bind_fn,
	.cancel = slow_cancel,
};

START_TEST(test_bind_is_published_whole)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct slow_bind sb = { .stage = 0 };
	struct ks_fd_req r = { .eng = eng, .requester = UNIT_TGID };
	struct ks_vm *vm;
	pthread_t th;

	pthread_mutex_init(&sb.lock, NULL);
	pthread_cond_init(&sb.cond, NULL);
	slow = &sb;
	sb.h = open_sys(eng, O_RDWR);
	r.h = sys;
	ck_assert_int_eq(ks_vm_create(eng, 0, UNIT_TGID, &vm), 0);
	ck_assert_int_eq(ks_token_issue(&r, &slow_kind, vm, O_RDWR), 0);
	pthread_create(&th, NULL, slow_other, &sb);
	ck_assert_int_eq(bind_as(sb.h, UNIT_TGID, r.token), 0);
	pthread_join(th, NULL);
	/* the unbound system handle's answer, or the VM handle's */
	ck_assert_int_eq(sb.other, 1);
	ck_assert_int_eq(ks_handle_kind(sb.h), KS_HANDLE_VM);
	ck_assert_int_eq(
		unit_ioctl(sb.h, KS_CHECK_EXTENSION, KS_CAP_PPC_HTAB_FD), 1);
	ck_assert_errno(unit_ioctl(sb.h, KS_GET_API_VERSION, 0), ENOTTY);
	ks_release(sb.h);
	ks_release(sys);
	ck_assert_int_eq(live_vms(eng), 0);
	ks_engine_free(eng);
	pthread_cond_destroy(&sb.cond);
	pthread_mutex_destroy(&sb.lock);
}
END_TEST

START_TEST(test_claim_of_a_vm_token)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *sys = unit_open(eng, 0, UNIT_TGID);
	struct kvmshim_fd_info info;
	uint64_t tok = create_vm_token(sys, UNIT_TGID, 0);
	int fd;

	/* a VM is bound to a node, not claimed */
	ck_assert_errno(ks_token_claim_fd(eng, tok, UNIT_TGID, &fd, &info),
			EINVAL);
	ck_assert_int_eq(fd, -1);
	ck_assert_errno(ks_token_claim_fd(eng, tok, UNIT_TGID + 1, &fd, &info),
			ENOENT);
	ck_assert_errno(ks_token_claim_fd(eng, 12345, UNIT_TGID, &fd, &info),
			ENOENT);
	ck_assert_errno(ks_token_claim_fd(eng, tok, 0, &fd, &info), EINVAL);
	ck_assert_int_eq(ks_tokens_pending(eng), 1);
	ks_release(sys);
	ks_engine_free(eng);
}
END_TEST

START_TEST(test_htab_handle_has_no_private_binding)
{
	struct ks_engine *eng = unit_engine("power8");
	struct ks_handle *h = open_sys(eng, O_RDONLY);
	struct kvmshim_fd_request req;
	uint64_t tok = 1;

	/* what an HTAB stream handle looks like to the router */
	h->kind = KS_HANDLE_HTAB;
	ck_assert_errno(fd_request(h, UNIT_TGID, KS_CREATE_VM, 0, 0, 0, &req),
			ENOTTY);
	ck_assert_errno(unit_ioctl(h, KVMSHIM_BIND, (uintptr_t)&tok), ENOTTY);
	h->kind = KS_HANDLE_SYSTEM;
	ks_release(h);
	ks_engine_free(eng);
}
END_TEST

Suite *suite_token(void);
Suite *suite_token(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("tokens");

	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_create_vm_and_bind, 0, 4);
	tcase_add_test(tc, test_vm_type_is_kept);
	tcase_add_loop_test(tc, test_create_vm_type_errors, 0, 2);
	tcase_add_test(tc, test_request_check_order);
	tcase_add_loop_test(tc, test_request_profile_ioctls, 0, 2);
	tcase_add_test(tc, test_bind_errors);
	tcase_add_test(tc, test_supervised_create_vm);
	tcase_add_test(tc, test_invisible_requester);
	tcase_add_test(tc, test_supervised_only_by_the_launcher);
	tcase_add_test(tc, test_tokens_are_distinct);
	tcase_add_test(tc, test_token_limit);
	tcase_add_test(tc, test_token_limit_per_process);
	tcase_add_test(tc, test_expired_tokens_do_not_count);
	tcase_add_test(tc, test_expiry_releases_the_vm);
	tcase_add_test(tc, test_expired_token_is_unusable_before_reaping);
	tcase_add_test(tc, test_reap_reports_next_deadline);
	tcase_add_test(tc, test_concurrent_binds);
	tcase_add_test(tc, test_bind_is_published_whole);
	tcase_add_test(tc, test_claim_of_a_vm_token);
	tcase_add_test(tc, test_htab_handle_has_no_private_binding);
	suite_add_tcase(s, tc);
	return s;
}
